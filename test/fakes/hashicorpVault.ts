/**
 * TEST DOUBLE: a loopback stand-in for HashiCorp Vault's HTTP API (also OpenBao's), used because a real Vault cannot
 * run here. Where Zavhoz depends on it, it answers as Vault does: a KV v2 mount (`/v1/<mount>/data|metadata|delete/…`
 * with versions, `?version=`, `options.cas`, LIST), tokens with TTLs (`X-Vault-Token`; an unknown or expired one is
 * 403 `permission denied`; `auth/token/lookup-self`, `auth/token/renew-self`), AppRole login
 * (`auth/approle/login`), `sys/seal-status`. On cue it seals itself (every request 503 `Vault is sealed`),
 * rate-limits (429 with Retry-After), fails the next requests with a status, or limits a token to a path prefix.
 */
import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** One version of one KV secret as the double holds it. */
export interface FakeKvVersion {
  data: Record<string, string> | null;
  createdTime: string;
  deletionTime: string;
  destroyed: boolean;
}

/** A token the double accepts. */
export interface FakeToken {
  /** ms since epoch; undefined: never expires. */
  expiresAt: number | undefined;
  ttlSeconds: number;
  renewable: boolean;
  /** Paths (after `/v1/<mount>/data|metadata/`) the token may touch; undefined: all. */
  allowedPrefix?: string;
  /** The token may not be renewed past this (its max TTL); undefined: no cap. */
  maxExpiresAt?: number;
}

/** One request the double answered (never with a token or a body). */
export interface FakeVaultCall {
  readonly method: string;
  readonly path: string;
  readonly status: number;
  readonly namespace: string | undefined;
}

/** A running fake Vault. */
export interface FakeHashicorpVault {
  readonly url: string;
  readonly mount: string;
  /** path inside the mount → versions (index 0 is version 1). */
  readonly secrets: Map<string, FakeKvVersion[]>;
  readonly tokens: Map<string, FakeToken>;
  readonly calls: FakeVaultCall[];
  /** Makes a token with this TTL (0: never expires). */
  issueToken(options?: { ttlSeconds?: number; renewable?: boolean; allowedPrefix?: string; maxTtlSeconds?: number }): string;
  /** Registers an AppRole; its logins get tokens with this TTL. */
  addAppRole(options?: { ttlSeconds?: number; maxTtlSeconds?: number }): { roleId: string; secretId: string };
  revoke(token: string): void;
  seal(): void;
  unseal(): void;
  /** The next `count` requests get 429 with Retry-After `seconds`. */
  rateLimitNext(count: number, seconds?: number): void;
  /** The next `count` requests get `status`. */
  failNext(count: number, status: number): void;
  /** Every request's raw text as it arrived (for canary scans: a value must appear only in KV writes). */
  readonly rawRequests: string[];
  stop(): Promise<void>;
}

/** Starts the double on 127.0.0.1 with one KV v2 mount. */
export async function startFakeHashicorpVault(options: { mount?: string; now?: () => number } = {}): Promise<FakeHashicorpVault> {
  const mount = options.mount ?? 'secret';
  const now = options.now ?? Date.now;
  const secrets = new Map<string, FakeKvVersion[]>();
  const tokens = new Map<string, FakeToken>();
  const roles = new Map<string, { secretId: string; ttlSeconds: number; maxTtlSeconds: number | undefined }>();
  const calls: FakeVaultCall[] = [];
  const rawRequests: string[] = [];
  let sealed = false;
  let limited = 0;
  let limitSeconds = 0;
  let failing = 0;
  let failStatus = 500;

  const newToken = (ttlSeconds: number, renewable: boolean, allowedPrefix?: string, maxTtlSeconds?: number): string => {
    const token = `hvs.${crypto.randomBytes(18).toString('base64url')}`;
    const entry: FakeToken = { expiresAt: ttlSeconds > 0 ? now() + ttlSeconds * 1000 : undefined, ttlSeconds, renewable };
    if (allowedPrefix !== undefined) entry.allowedPrefix = allowedPrefix;
    if (maxTtlSeconds !== undefined) entry.maxExpiresAt = now() + maxTtlSeconds * 1000;
    tokens.set(token, entry);
    return token;
  };

  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      rawRequests.push(`${request.method ?? ''} ${request.url ?? ''}\n${JSON.stringify(request.headers)}\n${text}`);
      const url = new URL(request.url ?? '/', 'http://127.0.0.1');
      const namespaceHeader = request.headers['x-vault-namespace'];
      const namespace = typeof namespaceHeader === 'string' ? namespaceHeader : undefined;
      const reply = (status: number, body?: unknown, headers: Record<string, string> = {}): void => {
        calls.push({ method: request.method ?? '', path: url.pathname, status, namespace });
        response.writeHead(status, { 'Content-Type': 'application/json', ...headers });
        response.end(body === undefined ? '' : JSON.stringify(body));
      };
      const errors = (status: number, ...messages: string[]): void => reply(status, { errors: messages });

      if (failing > 0) {
        failing--;
        errors(failStatus, 'internal error');
        return;
      }
      if (limited > 0) {
        limited--;
        calls.push({ method: request.method ?? '', path: url.pathname, status: 429, namespace });
        response.writeHead(429, { 'Content-Type': 'application/json', 'Retry-After': String(limitSeconds) });
        response.end(JSON.stringify({ errors: ['rate limit quota exceeded'] }));
        return;
      }
      if (url.pathname === '/v1/sys/seal-status') { reply(200, { type: 'shamir', sealed, t: 1, n: 1, progress: 0, version: '1.15.0' }); return; }
      if (sealed) { errors(503, 'Vault is sealed'); return; }

      let body: Record<string, unknown> = {};
      try {
        body = text === '' ? {} : (JSON.parse(text) as Record<string, unknown>);
      } catch {
        errors(400, 'failed to parse JSON input');
        return;
      }
      const path = url.pathname.replace(/^\/v1\//, '');

      const approle = /^auth\/approle\/login$/.exec(path);
      if (approle && request.method === 'POST') {
        const role = typeof body.role_id === 'string' ? roles.get(body.role_id) : undefined;
        if (!role || role.secretId !== body.secret_id) { errors(400, 'invalid role or secret ID'); return; }
        const token = newToken(role.ttlSeconds, true, undefined, role.maxTtlSeconds);
        reply(200, { auth: { client_token: token, lease_duration: role.ttlSeconds, renewable: true, policies: ['default', 'zavhoz'] } });
        return;
      }

      const tokenHeader = request.headers['x-vault-token'];
      const token = typeof tokenHeader === 'string' ? tokenHeader : '';
      const held = tokens.get(token);
      if (!held || (held.expiresAt !== undefined && held.expiresAt <= now())) { errors(403, 'permission denied'); return; }

      if (path === 'auth/token/lookup-self' && request.method === 'GET') {
        const ttl = held.expiresAt === undefined ? 0 : Math.max(0, Math.round((held.expiresAt - now()) / 1000));
        reply(200, { data: { ttl, renewable: held.renewable, policies: ['default'] } });
        return;
      }
      if (path === 'auth/token/renew-self' && request.method === 'POST') {
        if (!held.renewable) { errors(400, 'lease is not renewable'); return; }
        let expiresAt = now() + held.ttlSeconds * 1000;
        if (held.maxExpiresAt !== undefined) expiresAt = Math.min(expiresAt, held.maxExpiresAt);
        if (expiresAt <= now()) { errors(403, 'permission denied'); return; }
        held.expiresAt = expiresAt;
        reply(200, { auth: { client_token: token, lease_duration: Math.round((expiresAt - now()) / 1000), renewable: true } });
        return;
      }

      const kv = new RegExp(`^${mount}/(data|metadata|delete)/(.+)$`).exec(path) ?? new RegExp(`^${mount}/(metadata)/?()$`).exec(path);
      if (!kv) { errors(404, `no handler for route "${path}"`); return; }
      const kind = kv[1] ?? '';
      const inner = decodeURIComponent(kv[2] ?? '').replace(/\/$/, '');
      if (held.allowedPrefix !== undefined && !inner.startsWith(held.allowedPrefix)) { errors(403, '1 error occurred:\n\t* permission denied'); return; }
      const method = request.method === 'GET' && url.searchParams.get('list') === 'true' ? 'LIST' : request.method;
      const versions = secrets.get(inner);
      const stamp = new Date(now()).toISOString();

      if (kind === 'data' && method === 'GET') {
        if (!versions || versions.length === 0) { errors(404); return; }
        const wanted = url.searchParams.has('version') ? Number(url.searchParams.get('version')) : versions.length;
        const version = versions[wanted - 1];
        if (!version) { errors(404); return; }
        const metadata = { version: wanted, created_time: version.createdTime, deletion_time: version.deletionTime, destroyed: version.destroyed };
        if (version.data === null || version.deletionTime !== '') { reply(404, { data: { data: null, metadata } }); return; }
        reply(200, { data: { data: version.data, metadata } });
        return;
      }
      if (kind === 'data' && (method === 'POST' || method === 'PUT')) {
        const data = body.data;
        if (typeof data !== 'object' || data === null) { errors(400, 'no data provided'); return; }
        const list = versions ?? [];
        const cas = (body.options as { cas?: unknown } | undefined)?.cas;
        if (typeof cas === 'number' && cas !== list.length) { errors(400, `check-and-set parameter did not match the current version`); return; }
        list.push({ data: data as Record<string, string>, createdTime: stamp, deletionTime: '', destroyed: false });
        secrets.set(inner, list);
        reply(200, { data: { version: list.length, created_time: stamp, deletion_time: '', destroyed: false } });
        return;
      }
      if (kind === 'data' && method === 'DELETE') {
        const latest = versions?.[versions.length - 1];
        if (latest) latest.deletionTime = stamp;
        reply(204);
        return;
      }
      if (kind === 'delete' && method === 'POST') {
        const numbers = Array.isArray(body.versions) ? (body.versions as unknown[]) : [];
        for (const number of numbers) {
          const version = versions?.[Number(number) - 1];
          if (version) version.deletionTime = stamp;
        }
        reply(204);
        return;
      }
      if (kind === 'metadata' && method === 'GET') {
        if (!versions) { errors(404); return; }
        const described: Record<string, unknown> = {};
        versions.forEach((version, index) => {
          described[String(index + 1)] = { created_time: version.createdTime, deletion_time: version.deletionTime, destroyed: version.destroyed };
        });
        reply(200, { data: { current_version: versions.length, versions: described, max_versions: 0 } });
        return;
      }
      if (kind === 'metadata' && method === 'DELETE') {
        secrets.delete(inner);
        reply(204);
        return;
      }
      if (kind === 'metadata' && method === 'LIST') {
        const folder = inner === '' ? '' : `${inner}/`;
        const keys = new Set<string>();
        for (const key of secrets.keys()) {
          if (!key.startsWith(folder)) continue;
          const rest = key.slice(folder.length);
          const slash = rest.indexOf('/');
          keys.add(slash === -1 ? rest : rest.slice(0, slash + 1));
        }
        if (keys.size === 0) { errors(404); return; }
        reply(200, { data: { keys: [...keys].sort() } });
        return;
      }
      errors(405, 'unsupported operation');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    mount,
    secrets,
    tokens,
    calls,
    rawRequests,
    issueToken: (tokenOptions = {}) => newToken(tokenOptions.ttlSeconds ?? 0, tokenOptions.renewable ?? true, tokenOptions.allowedPrefix, tokenOptions.maxTtlSeconds),
    addAppRole: (roleOptions = {}) => {
      const roleId = crypto.randomUUID();
      const secretId = crypto.randomUUID();
      roles.set(roleId, { secretId, ttlSeconds: roleOptions.ttlSeconds ?? 3600, maxTtlSeconds: roleOptions.maxTtlSeconds });
      return { roleId, secretId };
    },
    revoke: (token) => void tokens.delete(token),
    seal: () => {
      sealed = true;
    },
    unseal: () => {
      sealed = false;
    },
    rateLimitNext: (count, seconds = 0) => {
      limited = count;
      limitSeconds = seconds;
    },
    failNext: (count, status) => {
      failing = count;
      failStatus = status;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
