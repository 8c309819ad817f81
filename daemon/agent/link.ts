import type { CancellationToken } from 'vscode-jsonrpc';
import type { DaemonClient } from '../client/client.js';
import type { NotificationDefinition, RequestDefinition } from '../protocol/define.js';
import type { AgentDaemon } from './tool.js';

/**
 * The agent front ends' own daemon connection, opened on first use and again after the daemon went away (a
 * restart, an upgrade). It is separate from the CLI's or the extension's connection so the daemon records its
 * requests under the client name `agent`.
 */
export class AgentDaemonLink implements AgentDaemon {
  private client: Promise<DaemonClient> | undefined;
  private closed = false;
  private readonly listeners: { readonly definition: NotificationDefinition<unknown>; readonly handler: (params: unknown) => void }[] = [];

  constructor(private readonly open: () => Promise<DaemonClient>) {}

  /** Sends a request on the link, connecting first if needed. */
  async request<P, R>(definition: RequestDefinition<P, R>, params: P, options: { token?: CancellationToken; requestId?: string } = {}): Promise<R> {
    const client = await this.connected();
    return client.request(definition, params, options);
  }

  /**
   * Listens for a daemon notification on this connection and every later one. The link connects on its first request,
   * so nothing is heard before one.
   */
  onNotification<P>(definition: NotificationDefinition<P>, handler: (params: P) => void): void {
    const entry = { definition: definition as unknown as NotificationDefinition<unknown>, handler: handler as (params: unknown) => void };
    this.listeners.push(entry);
    void this.client?.then((client) => client.onNotification(entry.definition, entry.handler), () => undefined);
  }

  /** Ends the connection; later requests fail. */
  close(): void {
    this.closed = true;
    void this.client?.then((client) => client.close(), () => undefined);
    this.client = undefined;
  }

  private connected(): Promise<DaemonClient> {
    if (this.closed) return Promise.reject(new Error('The Zavhoz agent tools were shut down.'));
    if (!this.client) {
      const pending = this.open().then((client) => {
        client.onClose(() => {
          if (this.client === pending) this.client = undefined;
        });
        for (const entry of this.listeners) client.onNotification(entry.definition, entry.handler);
        return client;
      });
      // A failed connect is not cached: the next call tries again (the daemon may be starting).
      pending.catch(() => {
        if (this.client === pending) this.client = undefined;
      });
      this.client = pending;
    }
    return this.client;
  }
}
