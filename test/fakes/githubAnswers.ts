/**
 * TEST DOUBLE support: the answers of the fake GitHub API (test/fakes/github.ts) — its error bodies and scripted
 * faults as GitHub documents them, the App JWT check, and the secret store operations behind the endpoints.
 */
import crypto from 'node:crypto';
import sodium from 'libsodium-wrappers';

/** A scripted answer: the next `times` requests matching `method` and `path` get it instead of the real one. */
export interface Fault {
  readonly method?: string;
  readonly path: RegExp;
  times: number;
  readonly status: number;
  readonly headers?: Record<string, string>;
  readonly body?: unknown;
}

/** What the fake answers. */
export interface Answer {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body?: unknown;
}

/** A repository's (or environment's) sealing key pair and the id GitHub gives it. */
export interface KeyPair {
  readonly keyId: string;
  readonly publicKey: Uint8Array;
  readonly privateKey: Uint8Array;
}

/** A secret as the fake holds it: opened, with GitHub's times. */
export interface StoredSecret {
  readonly plaintext: string;
  readonly createdAt: string;
  readonly updatedAt: string;
}

/** The secrets of one repository or environment, with its current key. */
export interface SecretStore {
  key: KeyPair;
  readonly secrets: Map<string, StoredSecret>;
}

/** A repository and its environments. */
export interface Repository {
  readonly owner: string;
  readonly name: string;
  readonly store: SecretStore;
  readonly environments: Map<string, SecretStore>;
}

/** What a token may reach: some repositories or all, and the installation that issued it. */
export interface Grant {
  readonly repositories: readonly string[] | '*';
  readonly installation?: number;
}

/** A registered GitHub App: its id, public key and installations. */
export interface AppRecord {
  readonly appId: number;
  readonly publicKey: crypto.KeyObject;
  /** Lowercased owner → installation id. */
  readonly installations: Map<string, number>;
}

/** The documentation link GitHub puts in error bodies. */
export const docs = 'https://docs.github.com/rest';

/** GitHub's documented secondary rate limit answer (403 with retry-after). */
export function secondaryRateLimit(retryAfterSeconds: number, status: 403 | 429 = 403): Omit<Fault, 'path' | 'times'> {
  return {
    status,
    headers: { 'retry-after': String(retryAfterSeconds) },
    body: {
      message:
        'You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID 0000:FAKE.',
      documentation_url: 'https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits',
    },
  };
}

/** GitHub's primary rate limit answer: remaining 0, reset at an epoch second `resetInSeconds` from now. */
export function primaryRateLimit(resetInSeconds: number, status: 403 | 429 = 429): Omit<Fault, 'path' | 'times'> {
  return {
    status,
    headers: {
      'x-ratelimit-limit': '5000',
      'x-ratelimit-remaining': '0',
      'x-ratelimit-used': '5000',
      'x-ratelimit-resource': 'core',
      'x-ratelimit-reset': String(Math.ceil(Date.now() / 1000) + resetInSeconds),
    },
    body: { message: 'API rate limit exceeded for user ID 1.', documentation_url: 'https://docs.github.com/rest/overview/rate-limits-for-the-rest-api' },
  };
}

/** Checks a GitHub App JWT as GitHub does: RS256 signature by a known App's key, `iss` = App id, not expired. */
export function verifyJwt(authorization: string | undefined, apps: ReadonlyMap<number, AppRecord>): AppRecord | Answer {
  const refuse = (message: string): Answer => ({ status: 401, headers: {}, body: { message, documentation_url: docs, status: '401' } });
  const jwt = /^bearer (.+)$/i.exec(authorization ?? '')?.[1];
  const [header, payload, signature] = jwt?.split('.') ?? [];
  if (header === undefined || payload === undefined || signature === undefined) return refuse('A JSON web token could not be decoded');
  let claims: { iss?: unknown; exp?: unknown; iat?: unknown };
  try {
    if ((JSON.parse(Buffer.from(header, 'base64url').toString()) as { alg?: unknown }).alg !== 'RS256') return refuse("'alg' must be RS256");
    claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as typeof claims;
  } catch {
    return refuse('A JSON web token could not be decoded');
  }
  const app = apps.get(Number(claims.iss));
  if (!app) return refuse(`Integration not found`);
  const valid = crypto.verify('sha256', Buffer.from(`${header}.${payload}`), app.publicKey, Buffer.from(signature, 'base64url'));
  if (!valid) return refuse('A JSON web token could not be decoded');
  const now = Date.now() / 1000;
  if (typeof claims.exp !== 'number' || claims.exp < now || claims.exp - now > 600 + 60) {
    return refuse("'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires");
  }
  if (typeof claims.iat !== 'number' || claims.iat > now + 60) return refuse("'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued");
  return app;
}

/** GitHub's 404, which it also gives for repositories a credential may not see. */
export function notFoundAnswer(): Answer {
  return { status: 404, headers: {}, body: { message: 'Not Found', documentation_url: docs, status: '404' } };
}

/** GET …/secrets: names and times, paginated with a Link header like GitHub. */
export function listSecrets(store: SecretStore, url: URL): Answer {
  const perPage = Math.min(100, Number(url.searchParams.get('per_page') ?? 30) || 30);
  const page = Math.max(1, Number(url.searchParams.get('page') ?? 1) || 1);
  const all = [...store.secrets.entries()].sort(([left], [right]) => left.localeCompare(right));
  const slice = all.slice((page - 1) * perPage, page * perPage);
  const headers: Record<string, string> = {};
  if (page * perPage < all.length) {
    const next = new URL(url);
    next.searchParams.set('page', String(page + 1));
    headers.link = `<${next.toString()}>; rel="next"`;
  }
  return {
    status: 200,
    headers,
    body: { total_count: all.length, secrets: slice.map(([name, secret]) => ({ name, created_at: secret.createdAt, updated_at: secret.updatedAt })) },
  };
}

/** PUT …/secrets/NAME: refuses a stale key id (422), opens the sealed box, records the plaintext; 201 new, 204 updated. */
export function putSecret(store: SecretStore, rawName: string, body: string): Answer {
  const name = decodeURIComponent(rawName).toUpperCase();
  const payload = JSON.parse(body || '{}') as { encrypted_value?: unknown; key_id?: unknown };
  if (typeof payload.encrypted_value !== 'string' || typeof payload.key_id !== 'string') {
    return { status: 422, headers: {}, body: { message: 'Invalid request.\n\n"encrypted_value" and "key_id" are required.', documentation_url: docs, status: '422' } };
  }
  if (payload.key_id !== store.key.keyId) {
    return { status: 422, headers: {}, body: { message: 'Invalid request.\n\nThe key_id does not match the current public key.', documentation_url: docs, status: '422' } };
  }
  let plaintext: string;
  try {
    const sealed = sodium.from_base64(payload.encrypted_value, sodium.base64_variants.ORIGINAL);
    plaintext = sodium.crypto_box_seal_open(sealed, store.key.publicKey, store.key.privateKey, 'text');
  } catch {
    return { status: 422, headers: {}, body: { message: 'Invalid request.\n\nThe value could not be decrypted.', documentation_url: docs, status: '422' } };
  }
  const existing = store.secrets.get(name);
  const now = githubTime(new Date());
  store.secrets.set(name, { plaintext, createdAt: existing?.createdAt ?? now, updatedAt: now });
  return existing ? { status: 204, headers: {} } : { status: 201, headers: {}, body: {} };
}

/** A fresh libsodium key pair with a GitHub-like numeric key id. */
export function newKeyPair(): KeyPair {
  const pair = sodium.crypto_box_keypair();
  return { keyId: String(crypto.randomInt(1e12, 2e14)), publicKey: pair.publicKey, privateKey: pair.privateKey };
}

/** An empty secret store with its own key pair. */
export function newStore(): SecretStore {
  return { key: newKeyPair(), secrets: new Map() };
}

/** GitHub's timestamp format: ISO 8601 with second precision. */
export function githubTime(date: Date): string {
  return `${date.toISOString().slice(0, 19)}Z`;
}

