import { ZavhozError } from '../core/errors.js';
import type { ScopedLogger } from '../core/logger.js';
import { ErrorCodes } from '../protocol/errors.js';
import type { SecretReader, SecretUse } from '../vault/api.js';
import type { GithubApi, RateLimitGate } from './client.js';
import { type GithubCallContext, githubRequestIdOf, isFatalForBatch, isUnprocessable, toGithubError } from './errors.js';
import { describeTarget, fetchPublicKey, PublicKeyCache, type SecretTarget } from './publicKeys.js';
import { fingerprintValue, type PublicKey, type SealedValue, sealValue } from './seal.js';

/** Where a secret's value comes from: a vault handle, or a value Zavhoz computed (a host name, a port, a path). */
export type SecretSource =
  | { readonly kind: 'vault'; readonly handle: string }
  | { readonly kind: 'computed'; readonly value: string };

/** One secret to push. */
export interface PlannedSecret {
  readonly name: string;
  readonly source: SecretSource;
}

/** A secret GitHub accepted. */
export interface PushedSecret {
  readonly name: string;
  /** The vault handle, or `computed`. */
  readonly source: string;
  readonly fingerprint: string;
  readonly status: 'created' | 'updated';
  readonly keyId: string;
  readonly githubRequestId: string;
  /** GitHub's clock when it answered (its `Date` header), comparable with the `updated_at` it lists later. */
  readonly githubTime: string;
  readonly pushedAt: string;
}

/** A secret that did not get there, and why. */
export interface FailedSecret {
  readonly name: string;
  readonly error: ZavhozError;
  /** False when the batch stopped before trying this one. */
  readonly attempted: boolean;
}

/** What one batch did. */
export interface BatchOutcome {
  readonly pushed: PushedSecret[];
  readonly failed: FailedSecret[];
  readonly keyFetches: number;
}

/** Everything a batch needs. */
export interface BatchOptions {
  readonly api: GithubApi;
  readonly credentials: string;
  readonly baseUrl: string;
  readonly target: SecretTarget;
  readonly secrets: readonly PlannedSecret[];
  readonly vault: SecretReader;
  readonly use: SecretUse;
  readonly log: ScopedLogger;
  readonly gate: RateLimitGate;
  readonly concurrency: number;
  readonly signal?: AbortSignal;
}

/** Source label stored and shown for a secret: its handle, never a value. */
export function sourceLabel(source: SecretSource): string {
  return source.kind === 'vault' ? source.handle : 'computed';
}

/**
 * Lends a secret's value to `work`: from the vault (audited there), or the computed value. The value must not
 * outlive the callback.
 */
export function withSourceValue<T>(vault: SecretReader, source: SecretSource, use: SecretUse, work: (value: string) => Promise<T>): Promise<T> {
  return source.kind === 'vault' ? vault.withValue(source.handle, use, work) : work(source.value);
}

/**
 * Pushes secrets to one target with bounded concurrency: the public key is fetched once, each value is lent by the
 * vault just long enough to be sealed, and a 401/403/404 or an exhausted rate limit stops the batch at once
 * instead of repeating the same failure for every remaining secret.
 */
export async function pushBatch(options: BatchOptions): Promise<BatchOutcome> {
  const { target, log } = options;
  const keys = new PublicKeyCache(() => fetchPublicKey(options.api, target));
  const pushed: PushedSecret[] = [];
  const failed: FailedSecret[] = [];
  let stopped: ZavhozError | undefined;
  let next = 0;

  const worker = async (): Promise<void> => {
    for (let index = next++; index < options.secrets.length; index = next++) {
      const secret = options.secrets[index];
      if (secret === undefined) continue;
      if (stopped || options.signal?.aborted) {
        failed.push({ name: secret.name, error: stopped ?? toGithubError(options.signal?.reason, context(options, secret.name)), attempted: false });
        continue;
      }
      try {
        await options.gate.wait(options.signal);
        pushed.push(await pushOne(options, keys, secret));
      } catch (error) {
        const mapped = toGithubError(error, context(options, secret.name));
        log.warn('GitHub secret push failed', { name: secret.name, code: mapped.code, githubRequestId: githubRequestIdOf(error) ?? '' });
        failed.push({ name: secret.name, error: mapped, attempted: true });
        if (stopsBatch(error, mapped)) stopped ??= mapped;
      }
    }
  };
  const workers = Math.max(1, Math.min(options.concurrency, options.secrets.length));
  const all = Promise.all(Array.from({ length: workers }, worker));
  // A rate-limit wait inside Octokit cannot be interrupted; on cancel stop waiting for it (its request, if it is
  // ever retried, fails at once because every fetch carries the same signal).
  const cancelled = await untilDoneOrAborted(all, options.signal);
  if (cancelled) {
    const settled = new Set([...pushed, ...failed].map((secret) => secret.name));
    const error = new ZavhozError(ErrorCodes.RequestCancelled, `Cancelled while pushing secrets to ${describeTarget(target)}.`);
    for (const secret of options.secrets) if (!settled.has(secret.name)) failed.push({ name: secret.name, error, attempted: false });
  }
  log.info('GitHub secrets pushed', {
    target: describeTarget(target),
    pushed: pushed.map((secret) => secret.name),
    failed: failed.map((secret) => secret.name),
    keyFetches: keys.fetches,
  });
  return { pushed: [...pushed], failed: [...failed], keyFetches: keys.fetches };
}

/** Waits for `work`; true if `signal` fired first. */
async function untilDoneOrAborted(work: Promise<unknown>, signal: AbortSignal | undefined): Promise<boolean> {
  if (!signal) {
    await work;
    return false;
  }
  if (signal.aborted) return true;
  let onAbort: () => void = () => undefined;
  const aborted = new Promise<true>((resolve) => {
    onAbort = () => resolve(true);
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([work.then(() => false), aborted]);
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

/** Failures every other secret of the batch would repeat: credentials, rate limits, no key, no GitHub, cancel. */
function stopsBatch(error: unknown, mapped: ZavhozError): boolean {
  if (isFatalForBatch(error) || mapped.data?.stage === 'public-key') return true;
  return mapped.code === ErrorCodes.RequestCancelled || mapped.code === ErrorCodes.Unreachable;
}

function context(options: BatchOptions, name: string): GithubCallContext {
  return {
    target: describeTarget(options.target),
    action: `write secret ${name} to`,
    credentials: options.credentials,
    baseUrl: options.baseUrl,
    gate: options.gate,
  };
}

async function pushOne(options: BatchOptions, keys: PublicKeyCache, secret: PlannedSecret): Promise<PushedSecret> {
  const use: SecretUse = {
    ...options.use,
    action: 'github-push',
    detail: { ...options.use.detail, repo: options.target.repository.fullName, name: secret.name },
  };
  const seal = async (key: PublicKey): Promise<{ sealed: SealedValue; fingerprint: string }> =>
    withSourceValue(options.vault, secret.source, use, async (value) => ({
      sealed: await sealValue(value, key),
      fingerprint: await fingerprintValue(value, options.vault),
    }));

  let key = await loadKey(options, () => keys.get());
  let { sealed, fingerprint } = await seal(key);
  let response;
  try {
    response = await put(options, secret.name, sealed);
  } catch (error) {
    if (!isUnprocessable(error)) throw error;
    // GitHub rotated the key since we fetched it: fetch it again (once for the whole batch) and re-seal once.
    options.log.info('GitHub refused a sealed value, refreshing the public key', { name: secret.name, staleKeyId: sealed.keyId });
    key = await loadKey(options, () => keys.refresh(sealed.keyId));
    ({ sealed, fingerprint } = await seal(key));
    response = await put(options, secret.name, sealed);
  }
  const date = Date.parse(String(response.headers.date ?? ''));
  return {
    name: secret.name,
    source: sourceLabel(secret.source),
    fingerprint,
    status: response.status === 201 ? 'created' : 'updated',
    keyId: sealed.keyId,
    githubRequestId: String(response.headers['x-github-request-id'] ?? ''),
    githubTime: new Date(Number.isNaN(date) ? Date.now() : date).toISOString(),
    pushedAt: new Date().toISOString(),
  };
}

async function loadKey(options: BatchOptions, load: () => Promise<PublicKey>): Promise<PublicKey> {
  try {
    return await load();
  } catch (error) {
    const mapped = toGithubError(error, { ...context(options, ''), action: 'read the Actions public key of' });
    throw new ZavhozError(mapped.code, mapped.message, { ...mapped.data, stage: 'public-key' });
  }
}

/** The parts of GitHub's answer to a secret PUT that are kept. */
interface PutAnswer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | number | undefined>>;
}

function put(options: BatchOptions, name: string, sealed: SealedValue): Promise<PutAnswer> {
  const { owner, name: repo } = options.target.repository;
  const body = { owner, repo, secret_name: name, encrypted_value: sealed.encryptedValue, key_id: sealed.keyId };
  const environment = options.target.environment;
  return environment === undefined
    ? options.api.rest.actions.createOrUpdateRepoSecret(body)
    : options.api.rest.actions.createOrUpdateEnvironmentSecret({ ...body, environment_name: environment });
}
