/**
 * TEST DOUBLE: a loopback stand-in for Cloudflare's API v4 (https://api.cloudflare.com/client/v4), used because the
 * real one cannot be reached from tests. Where Zavhoz depends on it, it answers as Cloudflare does: bearer tokens
 * (a wrong one is 403 with error 9109), `GET /zones?name=`, and `GET|POST /zones/{id}/dns_records` (with `type` and
 * `name` filters), `PUT|DELETE /zones/{id}/dns_records/{id}`, every answer in the `{success, errors, result}`
 * envelope. On cue it rate-limits (429 with Retry-After) or fails the next request with a status and message.
 */
import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** A DNS record as the double holds it. */
export interface FakeDnsRecord {
  id: string;
  zoneId: string;
  type: string;
  name: string;
  content: string;
  ttl: number;
  proxied: boolean;
}

/** One request the double answered, for assertions (never with the token). */
export interface FakeCloudflareCall {
  readonly method: string;
  readonly path: string;
  readonly status: number;
}

/** A running fake Cloudflare API. */
export interface FakeCloudflare {
  /** Base URL for the `cloudflareApiBase` setting (`http://127.0.0.1:PORT/client/v4`). */
  readonly url: string;
  /** The token it accepts. */
  readonly token: string;
  /** Zone name → id. */
  readonly zones: Map<string, string>;
  readonly records: FakeDnsRecord[];
  readonly calls: FakeCloudflareCall[];
  /** The next `count` requests are answered 429 with `Retry-After: seconds`. */
  rateLimitNext(count: number, seconds: number): void;
  /** The next request is answered with `status` and an error `message`. */
  failNext(status: number, message: string): void;
  stop(): Promise<void>;
}

/** Starts the double with the given zones (names), accepting `token`. */
export async function startFakeCloudflare(options: { zones: readonly string[]; token?: string }): Promise<FakeCloudflare> {
  const token = options.token ?? `cf-${crypto.randomBytes(16).toString('hex')}`;
  const zones = new Map(options.zones.map((name) => [name, crypto.randomBytes(16).toString('hex')]));
  const records: FakeDnsRecord[] = [];
  const calls: FakeCloudflareCall[] = [];
  let limited = { count: 0, seconds: 0 };
  let failure: { status: number; message: string } | undefined;

  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const url = new URL(request.url ?? '/', 'http://localhost');
      const method = request.method ?? 'GET';
      const answer = (status: number, result: unknown, errors: { code: number; message: string }[] = [], headers: Record<string, string> = {}): void => {
        calls.push({ method, path: url.pathname + url.search, status });
        response.writeHead(status, { 'content-type': 'application/json', ...headers });
        response.end(JSON.stringify({ success: status < 400, errors, messages: [], result }));
      };
      if (limited.count > 0) {
        limited = { ...limited, count: limited.count - 1 };
        answer(429, null, [{ code: 971, message: 'Please wait and consider throttling your request speed' }], { 'retry-after': String(limited.seconds) });
        return;
      }
      if (request.headers.authorization !== `Bearer ${token}`) {
        answer(403, null, [{ code: 9109, message: 'Invalid access token' }]);
        return;
      }
      if (failure) {
        const { status, message } = failure;
        failure = undefined;
        answer(status, null, [{ code: 1000 + status, message }]);
        return;
      }
      const path = url.pathname.replace(/^\/client\/v4/, '');
      if (method === 'GET' && path === '/zones') {
        const name = url.searchParams.get('name');
        answer(200, [...zones].filter(([zone]) => name === null || zone === name).map(([zone, id]) => ({ id, name: zone, status: 'active' })));
        return;
      }
      const match = /^\/zones\/([0-9a-f]+)\/dns_records(?:\/([0-9a-f]+))?$/.exec(path);
      const zoneId = match?.[1];
      if (!match || zoneId === undefined || ![...zones.values()].includes(zoneId)) {
        answer(404, null, [{ code: 7003, message: 'Could not route to the requested path' }]);
        return;
      }
      const recordId = match[2];
      const body = chunks.length > 0 ? (JSON.parse(Buffer.concat(chunks).toString('utf8')) as Partial<FakeDnsRecord>) : {};
      if (recordId === undefined && method === 'GET') {
        const type = url.searchParams.get('type');
        const name = url.searchParams.get('name');
        answer(200, records.filter((record) => record.zoneId === zoneId && (type === null || record.type === type) && (name === null || record.name === name)));
      } else if (recordId === undefined && method === 'POST') {
        const record: FakeDnsRecord = {
          id: crypto.randomBytes(16).toString('hex'),
          zoneId,
          type: String(body.type),
          name: String(body.name),
          content: String(body.content),
          ttl: body.ttl ?? 1,
          proxied: body.proxied === true,
        };
        records.push(record);
        answer(200, record);
      } else {
        const index = records.findIndex((record) => record.id === recordId && record.zoneId === zoneId);
        const existing = records[index];
        if (!existing) {
          answer(404, null, [{ code: 81044, message: 'Record does not exist.' }]);
        } else if (method === 'PUT') {
          Object.assign(existing, { type: String(body.type), name: String(body.name), content: String(body.content) });
          answer(200, existing);
        } else if (method === 'DELETE') {
          records.splice(index, 1);
          answer(200, { id: existing.id });
        } else {
          answer(405, null, [{ code: 10000, message: 'Method not allowed' }]);
        }
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/client/v4`,
    token,
    zones,
    records,
    calls,
    rateLimitNext(count, seconds) {
      limited = { count, seconds };
    },
    failNext(status, message) {
      failure = { status, message };
    },
    stop: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
