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
  /** `host:port` the proxy dials: the module's published port on the server. */
  readonly upstream: string;
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
 * How long a request waits for an upstream that refuses connections before it fails: during a switchover the
 * proxy is reloaded onto the new upstream, and a request that met the old one closing retries rather than fails.
 */
const TRY_DURATION = '10s';

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
          upstreams: [{ dial: route.upstream }],
          load_balancing: { try_duration: TRY_DURATION, try_interval: '100ms' },
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
