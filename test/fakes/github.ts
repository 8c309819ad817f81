/**
 * TEST DOUBLE: a stand-in for GitHub's REST API on 127.0.0.1, for the endpoints Zavhoz uses for Actions secrets.
 * It behaves like the real API where it matters to the tests: each repository (and environment) holds a real
 * libsodium key pair, a PUT opens the sealed box with the private key and records the plaintext for the test to
 * compare, secret lists carry `updated_at` and paginate with Link headers, credentials are checked (tokens per
 * repository; GitHub App JWTs verified with RS256 against the App's public key; installation tokens issued and
 * required), and faults can be scripted: secondary and primary rate limits, 5xx, 401/403/404, a rotated key.
 */
import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import sodium from 'libsodium-wrappers';
import {
  type Answer,
  type AppRecord,
  docs,
  type Fault,
  type Grant,
  githubTime,
  listSecrets,
  newKeyPair,
  newStore,
  notFoundAnswer,
  putSecret,
  type Repository,
  type SecretStore,
  verifyJwt,
} from './githubAnswers.js';

export { type Fault, primaryRateLimit, secondaryRateLimit } from './githubAnswers.js';

/** One request as the fake saw it. */
export interface SeenRequest {
  readonly method: string;
  readonly path: string;
  /** `token`, `bearer` (with the credential's kind), or `none`. */
  readonly auth: string;
  readonly zavhozRequestId: string | undefined;
  readonly status: number;
  /** `Date.now()` when the request arrived. */
  readonly receivedAt: number;
  /** `Date.now()` when the answer was sent. */
  readonly answeredAt: number;
}

/** The fake GitHub API. */
export class FakeGithub {
  /** Added before every answer, to model a real network. */
  latencyMs = 0;
  readonly requests: SeenRequest[] = [];
  private readonly repositories = new Map<string, Repository>();
  private readonly grants = new Map<string, Grant>();
  private readonly apps = new Map<number, AppRecord>();
  private readonly faults: Fault[] = [];
  private readonly keyFetchCounts = new Map<string, number>();
  private readonly rotateAfterFetch = new Set<string>();
  private inFlight = 0;
  /** Every installation token issued, so tests can check none of them reached a log. */
  readonly installationTokens: string[] = [];
  /** The most requests the fake was answering at once. */
  maxInFlight = 0;

  private constructor(
    private readonly server: http.Server,
    readonly url: string,
  ) {}

  /** Starts the fake on a free loopback port. */
  static async start(options: { latencyMs?: number } = {}): Promise<FakeGithub> {
    await sodium.ready;
    const server = http.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const fake = new FakeGithub(server, `http://127.0.0.1:${port}`);
    fake.latencyMs = options.latencyMs ?? 0;
    server.on('request', (request, response) => void fake.serve(request, response));
    return fake;
  }

  /** Creates a repository (and its environments), each with its own sealing key pair. */
  createRepository(fullName: string, options: { environments?: readonly string[] } = {}): void {
    const [owner = '', name = ''] = fullName.split('/');
    const environments = new Map((options.environments ?? []).map((environment) => [environment, newStore()]));
    this.repositories.set(fullName.toLowerCase(), { owner, name, store: newStore(), environments });
  }

  /** Makes `token` a personal access token that can write secrets of the given repositories. */
  addToken(token: string, repositories: readonly string[] | '*'): void {
    this.grants.set(token, { repositories: repositories === '*' ? '*' : repositories.map((repository) => repository.toLowerCase()) });
  }

  /** Registers a GitHub App installed on `owners` (owner → installation id); returns its private key (PKCS#1 PEM). */
  createApp(appId: number, installations: Record<string, number>): string {
    const { privateKey, publicKey } = crypto.generateKeyPairSync('rsa', {
      modulusLength: 2048,
      privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
      publicKeyEncoding: { type: 'spki', format: 'pem' },
    });
    const byOwner = new Map(Object.entries(installations).map(([owner, id]) => [owner.toLowerCase(), id]));
    this.apps.set(appId, { appId, publicKey: crypto.createPublicKey(publicKey), installations: byOwner });
    return privateKey;
  }

  /** Scripts a fault for the next `times` matching requests. */
  fail(fault: Fault): void {
    this.faults.push(fault);
  }

  /** Drops scripted faults that were not used up. */
  clearFaults(): void {
    this.faults.length = 0;
  }

  /** Replaces a repository's (or environment's) key pair: values sealed with the old key id are refused with 422. */
  rotateKey(fullName: string, environment?: string): void {
    this.storeOf(fullName, environment).key = newKeyPair();
  }

  /** Rotates the key right after the next time it is served: a batch then seals with a key that is already stale. */
  rotateKeyAfterNextFetch(fullName: string, environment?: string): void {
    this.rotateAfterFetch.add(storeId(fullName, environment));
  }

  /** What GitHub holds for a secret, opened with the private key: what a workflow would see. */
  plaintext(fullName: string, name: string, environment?: string): string | undefined {
    return this.storeOf(fullName, environment).secrets.get(name.toUpperCase())?.plaintext;
  }

  /** Secret names of a repository (or environment). */
  secretNames(fullName: string, environment?: string): string[] {
    return [...this.storeOf(fullName, environment).secrets.keys()].sort();
  }

  /** Changes a secret behind Zavhoz's back, as a person in GitHub's web UI would, at `at` (default now). */
  writeOutside(fullName: string, name: string, value: string, at: Date = new Date(), environment?: string): void {
    const secrets = this.storeOf(fullName, environment).secrets;
    const stamp = githubTime(at);
    secrets.set(name.toUpperCase(), { plaintext: value, createdAt: secrets.get(name.toUpperCase())?.createdAt ?? stamp, updatedAt: stamp });
  }

  /** Deletes a secret, as a person in GitHub's web UI would. */
  deleteSecret(fullName: string, name: string, environment?: string): void {
    this.storeOf(fullName, environment).secrets.delete(name.toUpperCase());
  }

  /** How many times the public key of a repository (or environment) was fetched. */
  keyFetches(fullName: string, environment?: string): number {
    return this.keyFetchCounts.get(storeId(fullName, environment)) ?? 0;
  }

  /** Requests whose method and path match. */
  seen(method: string, path: RegExp): SeenRequest[] {
    return this.requests.filter((request) => request.method === method && path.test(request.path));
  }

  /** Forgets the request log and key fetch counts (between test steps). */
  resetCounters(): void {
    this.requests.length = 0;
    this.keyFetchCounts.clear();
    this.maxInFlight = 0;
  }

  /** Stops listening. */
  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private storeOf(fullName: string, environment?: string): SecretStore {
    const repository = this.repositories.get(fullName.toLowerCase());
    if (!repository) throw new Error(`fake GitHub: no repository ${fullName}`);
    if (environment === undefined) return repository.store;
    const store = repository.environments.get(environment);
    if (!store) throw new Error(`fake GitHub: no environment ${environment} in ${fullName}`);
    return store;
  }

  private async serve(request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
    const receivedAt = Date.now();
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    response.once('close', () => this.inFlight--);
    const url = new URL(request.url ?? '/', this.url);
    const method = request.method ?? 'GET';
    const body = await readBody(request);
    if (this.latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, this.latencyMs));
    const answer = this.answer(method, url, request.headers, body);
    const requestId = `FAKE:${crypto.randomBytes(4).toString('hex').toUpperCase()}`;
    this.requests.push({
      method,
      path: url.pathname,
      auth: describeAuth(request.headers.authorization),
      zavhozRequestId: headerValue(request.headers['x-zavhoz-request-id']),
      status: answer.status,
      receivedAt,
      answeredAt: Date.now(),
    });
    const headers: Record<string, string> = { 'x-github-request-id': requestId, ...answer.headers };
    if (answer.body === undefined) {
      response.writeHead(answer.status, headers).end();
      return;
    }
    response.writeHead(answer.status, { ...headers, 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify(answer.body));
  }

  private answer(method: string, url: URL, headers: http.IncomingHttpHeaders, body: string): Answer {
    const fault = this.faults.find((candidate) => candidate.times > 0 && (candidate.method ?? method) === method && candidate.path.test(url.pathname));
    if (fault) {
      fault.times--;
      return { status: fault.status, headers: fault.headers ?? {}, body: fault.body ?? { message: http.STATUS_CODES[fault.status] ?? 'Error', documentation_url: docs } };
    }
    const path = url.pathname;
    const authorization = headers.authorization;

    let match = /^\/repos\/([^/]+)\/([^/]+)\/installation$/.exec(path);
    if (match && method === 'GET') return this.findInstallation(authorization, `${match[1]}/${match[2]}`);
    match = /^\/app\/installations\/(\d+)\/access_tokens$/.exec(path);
    if (match && method === 'POST') return this.issueInstallationToken(authorization, Number(match[1]), body);

    match = /^\/repos\/([^/]+)\/([^/]+)\/(?:actions|environments\/([^/]+))\/secrets(?:\/([^/]+))?$/.exec(path);
    if (!match) return notFoundAnswer();
    const fullName = `${match[1]}/${match[2]}`;
    const environment = match[3] === undefined ? undefined : decodeURIComponent(match[3]);
    const rest = match[4];
    const denied = this.checkToken(authorization, fullName);
    if (denied) return denied;
    const repository = this.repositories.get(fullName.toLowerCase());
    if (!repository) return notFoundAnswer();
    const store = environment === undefined ? repository.store : repository.environments.get(environment);
    if (!store) return notFoundAnswer();

    if (rest === 'public-key' && method === 'GET') {
      const id = storeId(fullName, environment);
      this.keyFetchCounts.set(id, (this.keyFetchCounts.get(id) ?? 0) + 1);
      const served = { key_id: store.key.keyId, key: sodium.to_base64(store.key.publicKey, sodium.base64_variants.ORIGINAL) };
      if (this.rotateAfterFetch.delete(id)) store.key = newKeyPair();
      return { status: 200, headers: {}, body: served };
    }
    if (rest === undefined && method === 'GET') return listSecrets(store, url);
    if (rest !== undefined && method === 'PUT') return putSecret(store, rest, body);
    if (rest !== undefined && method === 'DELETE') {
      // GitHub answers 204 No Content, or 404 for a secret that does not exist.
      return store.secrets.delete(decodeURIComponent(rest).toUpperCase()) ? { status: 204, headers: {} } : notFoundAnswer();
    }
    return notFoundAnswer();
  }

  /** 401 for an unknown credential, 404 for a repository it cannot see (GitHub hides those). */
  private checkToken(authorization: string | undefined, fullName: string): Answer | undefined {
    const token = /^(?:token|bearer) (.+)$/i.exec(authorization ?? '')?.[1];
    if (token === undefined) return { status: 401, headers: {}, body: { message: 'Requires authentication', documentation_url: docs, status: '401' } };
    const grant = this.grants.get(token);
    if (!grant) return { status: 401, headers: {}, body: { message: 'Bad credentials', documentation_url: docs, status: '401' } };
    if (grant.repositories !== '*' && !grant.repositories.includes(fullName.toLowerCase())) return notFoundAnswer();
    return undefined;
  }

  private findInstallation(authorization: string | undefined, fullName: string): Answer {
    const app = verifyJwt(authorization, this.apps);
    if ('status' in app) return app;
    const [owner = ''] = fullName.split('/');
    const id = app.installations.get(owner.toLowerCase());
    if (id === undefined || !this.repositories.has(fullName.toLowerCase())) return notFoundAnswer();
    return { status: 200, headers: {}, body: { id, app_id: app.appId, account: { login: owner, type: 'Organization' }, repository_selection: 'all', target_type: 'Organization' } };
  }

  private issueInstallationToken(authorization: string | undefined, installationId: number, body: string): Answer {
    const app = verifyJwt(authorization, this.apps);
    if ('status' in app) return app;
    const owner = [...app.installations.entries()].find(([, id]) => id === installationId)?.[0];
    if (owner === undefined) return notFoundAnswer();
    const requested = (JSON.parse(body || '{}') as { repositories?: string[] }).repositories;
    const repositories = requested ? requested.map((name) => `${owner}/${name}`.toLowerCase()) : [...this.repositories.keys()].filter((key) => key.startsWith(`${owner}/`));
    const token = `ghs_${crypto.randomBytes(18).toString('base64url')}`;
    this.grants.set(token, { repositories, installation: installationId });
    this.installationTokens.push(token);
    const expires = githubTime(new Date(Date.now() + 3600_000));
    return { status: 201, headers: {}, body: { token, expires_at: expires, permissions: { secrets: 'write', metadata: 'read' }, repository_selection: 'selected' } };
  }
}

function storeId(fullName: string, environment?: string): string {
  return `${fullName.toLowerCase()}|${environment ?? ''}`;
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function describeAuth(authorization: string | undefined): string {
  if (authorization === undefined) return 'none';
  const [scheme = '', credential = ''] = authorization.split(' ');
  if (credential.startsWith('ghs_')) return `${scheme.toLowerCase()} installation`;
  if (credential.split('.').length === 3) return `${scheme.toLowerCase()} jwt`;
  return `${scheme.toLowerCase()} token`;
}

async function readBody(request: http.IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > 1024 * 1024) break;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}
