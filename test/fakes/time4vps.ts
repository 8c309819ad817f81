/**
 * TEST DOUBLE: a loopback stand-in for the Time4VPS API (https://billing.time4vps.com/api), used because the real
 * provider cannot be reached from tests. It behaves as the real one does where Zavhoz depends on it: HTTP Basic auth,
 * `GET /server` (one list, no pagination, thousands of entries), `GET /server/{id}` with details, throttling answered
 * as 401 `{"error":[["wait_x_between_action",N],"unauthorized"]}` (on demand, or by an optional rate limit of N
 * requests per window), and 401 `{"error":["ipnotallowed","unauthorized"]}` for a client IP that is not on the
 * allow-list. It can also answer with a redirect, to test that the client never follows one with its login.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** A server as the fake provider holds it (the detail view; the list shows a subset). */
export interface FakeServer {
  id: number;
  name: string;
  domain: string;
  ip: string;
  status: string;
  product_name: string;
  ram_mb: number;
  disk_gb: number;
  cpu_cores: number;
  os: string;
}

/** At most `requests` answered per window of `windowSeconds`; the rest are throttled until the window ends. */
export interface FakeRateLimit {
  readonly requests: number;
  readonly windowSeconds: number;
}

/** A running fake Time4VPS API. */
export interface FakeTime4vps {
  /** Base URL to put in the `time4vpsApiBase` setting. */
  readonly url: string;
  readonly servers: Map<number, FakeServer>;
  /** Requests answered so far, by kind. */
  readonly counts: { list: number; detail: number; throttled: number; unauthorized: number };
  /** Makes the next request start a throttle window of `seconds` (requests inside it are refused with the remaining wait). */
  throttleNext(seconds: number): void;
  /** Turns the rate limit on (or off with undefined); a new limit starts a fresh window. */
  setRateLimit(limit: FakeRateLimit | undefined): void;
  /** Answers every request with a 302 to `location` (or stops with undefined). */
  redirectTo(location: string | undefined): void;
  /** Refuses every request as coming from an IP not on the allow-list, until set back to false. */
  setIpAllowed(allowed: boolean): void;
  /** Resets the counters. */
  resetCounts(): void;
  stop(): Promise<void>;
}

/** Makes `count` plausible servers with ids from `firstId` up. */
export function makeServers(count: number, firstId = 1000): FakeServer[] {
  return Array.from({ length: count }, (_, index) => {
    const id = firstId + index;
    return {
      id,
      name: `vps-${id}`,
      domain: `vps-${id}.example.test`,
      ip: `127.0.${Math.floor(index / 250) % 250}.${(index % 250) + 1}`,
      status: 'Active',
      product_name: index % 2 === 0 ? 'Linux 4' : 'Linux 8',
      ram_mb: index % 2 === 0 ? 4096 : 8192,
      disk_gb: index % 2 === 0 ? 80 : 160,
      cpu_cores: index % 2 === 0 ? 2 : 4,
      os: 'debian-12',
    };
  });
}

/** Starts the fake on 127.0.0.1 with the given account credentials and servers. */
export async function startFakeTime4vps(options: {
  login: string;
  password: string;
  servers?: FakeServer[];
  rateLimit?: FakeRateLimit;
}): Promise<FakeTime4vps> {
  const servers = new Map<number, FakeServer>((options.servers ?? []).map((server) => [server.id, server]));
  const counts = { list: 0, detail: 0, throttled: 0, unauthorized: 0 };
  const expected = `Basic ${Buffer.from(`${options.login}:${options.password}`).toString('base64')}`;
  let throttleArmed = 0;
  let blockedUntil = 0;
  let ipAllowed = true;
  let redirect: string | undefined;
  let rateLimit = options.rateLimit;
  let windowEnds = 0;
  let windowUsed = 0;

  /** The seconds to wait if the rate limit refuses a request now, or 0 if it lets it through (and counts it). */
  const rateLimitWait = (now: number): number => {
    if (!rateLimit) return 0;
    if (now >= windowEnds) {
      windowEnds = now + rateLimit.windowSeconds * 1000;
      windowUsed = 0;
    }
    if (windowUsed < rateLimit.requests) {
      windowUsed++;
      return 0;
    }
    return Math.max(1, Math.ceil((windowEnds - now) / 1000));
  };

  const send = (response: http.ServerResponse, status: number, body: unknown): void => {
    const text = JSON.stringify(body);
    response.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    response.end(text);
  };

  const server = http.createServer((request, response) => {
    if (redirect !== undefined) {
      response.writeHead(302, { location: redirect, 'content-length': 0 });
      response.end();
      return;
    }
    if (!ipAllowed) {
      counts.unauthorized++;
      send(response, 401, { error: ['ipnotallowed', 'unauthorized'] });
      return;
    }
    if (request.headers.authorization !== expected) {
      counts.unauthorized++;
      send(response, 401, { error: ['unauthorized'] });
      return;
    }
    const now = Date.now();
    if (throttleArmed > 0) {
      blockedUntil = now + throttleArmed * 1000;
      throttleArmed = 0;
    }
    const wait = now < blockedUntil ? Math.max(1, Math.ceil((blockedUntil - now) / 1000)) : rateLimitWait(now);
    if (wait > 0) {
      counts.throttled++;
      send(response, 401, { error: [['wait_x_between_action', wait], 'unauthorized'] });
      return;
    }
    const path = new URL(request.url ?? '/', 'http://fake').pathname.replace(/\/+$/, '');
    if (request.method === 'GET' && path === '/api/server') {
      counts.list++;
      send(
        response,
        200,
        [...servers.values()].map(({ id, name, domain, ip, status, product_name }) => ({ id, name, domain, ip, status, product_name })),
      );
      return;
    }
    const detail = /^\/api\/server\/(\d+)$/.exec(path);
    if (request.method === 'GET' && detail) {
      counts.detail++;
      const found = servers.get(Number(detail[1]));
      if (found) send(response, 200, found);
      else send(response, 404, { error: ['not_found'] });
      return;
    }
    send(response, 404, { error: ['unknown_endpoint'] });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/api`,
    servers,
    counts,
    throttleNext(seconds) {
      throttleArmed = seconds;
    },
    setRateLimit(limit) {
      rateLimit = limit;
      windowEnds = 0;
    },
    redirectTo(location) {
      redirect = location;
    },
    setIpAllowed(allowed) {
      ipAllowed = allowed;
    },
    resetCounts() {
      counts.list = counts.detail = counts.throttled = counts.unauthorized = 0;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
