import type { ProxyOutcome } from './service.js';

/** A restart of a server's proxy as the notifications tell it. */
export interface ProxyRestart {
  readonly title: string;
  readonly text: string;
  readonly detail: { readonly server: string; readonly container: string; readonly action: string; readonly cause: string };
}

/**
 * The restart in an apply's or a check's outcome, or undefined when there was none: a check that found the proxy
 * down and brought it back (started again, created again, or replaced for running another image), or an apply that
 * found it stopped or on another image. A first install and a reload (each domain change) are not restarts: the
 * user asked for them, and a reload keeps the process and its open connections.
 */
export function proxyRestartOf(outcome: ProxyOutcome, mode: 'apply' | 'check'): ProxyRestart | undefined {
  const { server, container, action } = outcome;
  if (action === 'running' || action === 'reloaded' || (mode === 'apply' && action === 'started')) return undefined;
  const what = {
    restarted: 'was stopped; it was started again',
    started: 'was gone; it was created again',
    replaced: 'ran another image than the setting proxyImage; it was replaced',
  }[action];
  const cause = mode === 'check' ? 'health check' : 'domain change';
  return {
    title: `Proxy restarted on ${server}`,
    text: `The proxy on server ${server} (container ${container}) ${what} by a ${cause}, with the routes it had${outcome.version ? ` (Caddy ${outcome.version})` : ''}. Requests to its domains failed while it was down. Why it stopped: docker logs ${container} on the server.`,
    detail: { server, container, action, cause },
  };
}
