/**
 * The proxy's configuration as Zavhoz models it (routes from domains to upstreams) and the Caddy JSON config made
 * from it. Pure: no SSH, no store; `remote.ts` puts the result on a server.
 */

/** How the proxy gets its certificates: ACME (Let's Encrypt / ZeroSSL) in production, Caddy's own CA in tests. */
export type ProxyTls = 'acme' | 'internal';

/** One domain routed to one module. */
export interface ProxyRoute {
  /** A host name or a wildcard (`*.example.com`). */
  readonly domain: string;
  /**
   * `host:port`s the proxy dials, in order: the module's published port, then its switchover slot. The first one that
   * answers takes every request; the slot answers only while a deploy replaces the module's own container.
   */
  readonly upstreams: readonly string[];
}

/** Everything one server's proxy serves. */
export interface ProxyModel {
  readonly httpPort: number;
  readonly httpsPort: number;
  readonly tls: ProxyTls;
  readonly routes: readonly ProxyRoute[];
}

/** Where the proxy's admin socket is, inside its container: a folder only root reads on the server. */
export const ADMIN_SOCKET = '/etc/zavhoz-caddy/admin.sock';
/** Where the config file is, inside the container. */
export const CONFIG_FILE = '/etc/zavhoz-caddy/caddy.json';

/**
 * How long a request waits for an upstream that refuses connections before it fails: while `compose up` replaces a
 * module's container, a request that meets the closed port is retried on the slot (or waits for the port) instead.
 */
const TRY_DURATION = '10s';
/**
 * How long an upstream that refused a connection is passed over: the slot serves meanwhile. A deploy waits longer
 * than this after the module's own container is healthy before it stops the slot.
 */
export const FAIL_DURATION_SECONDS = 2;

/**
 * The Caddy JSON config for a model. The admin API listens on a unix socket in the config folder (never a TCP
 * port: with host networking, `localhost:2019` would let every local user reconfigure the proxy). Automatic HTTPS
 * covers every route's host, with HTTP redirected to HTTPS; Caddy's local CA is never installed into a trust store.
 */
export function caddyConfig(model: ProxyModel): Record<string, unknown> {
  const routes = [...model.routes]
    .sort((a, b) => specificity(b.domain) - specificity(a.domain) || a.domain.localeCompare(b.domain))
    .map((route) => ({
      match: [{ host: [route.domain] }],
      handle: [
        {
          handler: 'reverse_proxy',
          upstreams: route.upstreams.map((dial) => ({ dial })),
          // `first`: the module's own port while it answers; a switchover is a stop of it, never a config reload,
          // so no request meets a reload's TLS restart and a release that failed its check beside the old one is
          // never dialled while the old one runs.
          load_balancing: { selection_policy: { policy: 'first' }, try_duration: TRY_DURATION, try_interval: '100ms' },
          health_checks: { passive: { fail_duration: `${FAIL_DURATION_SECONDS}s`, max_fails: 1 } },
        },
      ],
      terminal: true,
    }));
  const subjects = model.routes.map((route) => route.domain).sort();
  const tls: Record<string, unknown> =
    model.tls === 'internal' && subjects.length > 0 ? { automation: { policies: [{ subjects, issuers: [{ module: 'internal' }] }] } } : {};
  return {
    admin: { listen: `unix/${ADMIN_SOCKET}` },
    apps: {
      http: {
        http_port: model.httpPort,
        https_port: model.httpsPort,
        // With no route yet, the server still listens, so the proxy's health is the same whatever it serves.
        servers: { zavhoz: { listen: [`:${model.httpsPort}`], routes } },
      },
      tls,
      pki: { certificate_authorities: { local: { install_trust: false } } },
    },
  };
}

/** Exact names before wildcards, so `api.example.com` wins over `*.example.com`. */
function specificity(domain: string): number {
  return domain.startsWith('*.') ? 0 : 1;
}
