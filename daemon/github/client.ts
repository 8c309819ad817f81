import { retry } from '@octokit/plugin-retry';
import { throttling, type ThrottlingOptions } from '@octokit/plugin-throttling';
import { Octokit } from '@octokit/rest';
import { describeError } from '../core/errors.js';
import type { ScopedLogger } from '../core/logger.js';
import { ZAVHOZ_VERSION } from '../core/version.js';

/**
 * Octokit with GitHub's documented retry behaviour: rate limits via plugin-throttling, 5xx via plugin-retry. Made on
 * first use: the daemon's bundle loads Octokit then (scripts/build.mjs), not in every start before its first answer.
 */
let githubOctokit: typeof Octokit | undefined;

/** The GitHub REST client one batch talks through. */
export type GithubApi = Octokit;

/** Retries of one request after a rate limit; more than this and the batch stops with a clear error. */
export const MAX_RATE_LIMIT_RETRIES = 2;
/** The longest GitHub may ask us to wait before we give up and tell the user when to try again. */
export const MAX_RATE_LIMIT_WAIT_SECONDS = 90;
/** Retries of a 5xx or network failure (waits 1, 4, 9 × the base). */
export const SERVER_ERROR_RETRIES = 3;
/** One request may take this long before it counts as failed (and is retried like a 5xx). */
export const REQUEST_TIMEOUT_MS = 30_000;

/**
 * Shared by every request of one batch: when GitHub says "slow down" for one request, the whole batch waits, so a
 * bounded pool does not keep sending the other secrets into the same limit.
 */
export class RateLimitGate {
  private resumeAt = 0;
  /** The last wait GitHub asked for, in seconds, for error messages. */
  lastRetryAfterSeconds: number | undefined;

  /** Holds every new request for `seconds`. */
  pauseFor(seconds: number): void {
    this.lastRetryAfterSeconds = seconds;
    this.resumeAt = Math.max(this.resumeAt, Date.now() + seconds * 1000);
  }

  /** Resolves once the batch may send again (at once when nothing asked for a pause). */
  async wait(signal?: AbortSignal): Promise<void> {
    for (let remaining = this.resumeAt - Date.now(); remaining > 0; remaining = this.resumeAt - Date.now()) {
      signal?.throwIfAborted();
      await new Promise((resolve) => setTimeout(resolve, Math.min(remaining, 1000)));
    }
  }
}

/** What a client needs besides its credentials. */
export interface ClientOptions {
  readonly baseUrl: string;
  /** A token (PAT or installation token), or an Octokit auth strategy with its options (GitHub App). */
  readonly auth?: string | { readonly strategy: unknown; readonly options: unknown };
  /** The Zavhoz request id, sent as a header so a proxy or GitHub Enterprise log can be tied to our log. */
  readonly requestId: string;
  readonly log: ScopedLogger;
  readonly gate: RateLimitGate;
  /** Cancels every request of the batch. */
  readonly signal?: AbortSignal;
  /** Base of the 5xx backoff in ms (1000 as GitHub's clients use; tests shorten it). */
  readonly serverRetryBaseMs?: number;
}

/**
 * Makes the Octokit for one batch. Rate-limit waits honour `retry-after` (secondary) and `x-ratelimit-reset`
 * (primary) exactly, are bounded in count and length, and pause the whole batch; 5xx and network failures are
 * retried with backoff. Octokit's default pacing of writes (one at a time, a second apart) is replaced by the
 * batch's own bounded pool plus that shared pause, so a batch of secrets is not serialised behind a fixed delay.
 */
export function createGithubClient(options: ClientOptions): GithubApi {
  const { log, gate } = options;
  const onLimit =
    (kind: string) =>
    (retryAfter: number, request: { method: string; url: string }, _octokit: unknown, retryCount: number): boolean => {
      gate.pauseFor(retryAfter);
      const willRetry = !options.signal?.aborted && retryCount < MAX_RATE_LIMIT_RETRIES && retryAfter <= MAX_RATE_LIMIT_WAIT_SECONDS;
      log.warn(`GitHub ${kind} rate limit`, { method: request.method, url: request.url, retryAfterSeconds: retryAfter, retryCount, willRetry });
      return willRetry;
    };
  const throttle: ThrottlingOptions = {
    id: 'zavhoz',
    onRateLimit: onLimit('primary'),
    onSecondaryRateLimit: onLimit('secondary'),
    // Our pool bounds concurrency; this pass-through replaces the one-write-per-second queue (see above).
    write: unpacedGroup(),
  };
  const timeoutFetch = (url: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const signals = [AbortSignal.timeout(REQUEST_TIMEOUT_MS)];
    if (options.signal) signals.push(options.signal);
    if (init?.signal) signals.push(init.signal);
    return fetch(url, { ...init, signal: AbortSignal.any(signals) });
  };
  const auth = options.auth;
  const octokit = new (githubOctokit ??= Octokit.plugin(retry, throttling))({
    baseUrl: options.baseUrl.replace(/\/+$/, ''),
    userAgent: `zavhoz/${ZAVHOZ_VERSION}`,
    ...(typeof auth === 'string' ? { auth } : auth ? { authStrategy: auth.strategy, auth: auth.options } : {}),
    request: { fetch: timeoutFetch },
    throttle,
    retry: {
      retries: SERVER_ERROR_RETRIES,
      // 403/429 belong to the throttling plugin (it reads retry-after); 422 is a stale key, handled by the caller.
      doNotRetry: [400, 401, 403, 404, 410, 422, 429, 451],
      retryAfterBaseValue: options.serverRetryBaseMs ?? 1000,
    },
    log: {
      debug: (message: string) => log.debug(`octokit: ${message}`),
      info: (message: string) => log.debug(`octokit: ${message}`),
      warn: (message: string, detail?: unknown) => log.warn(`octokit: ${message}`, detail === undefined ? {} : { detail: describeError(detail) }),
      error: (message: string, detail?: unknown) => log.warn(`octokit: ${message}`, detail === undefined ? {} : { detail: describeError(detail) }),
    },
  });
  octokit.hook.before('request', (request) => {
    request.headers['x-zavhoz-request-id'] = options.requestId;
    request.headers['x-github-api-version'] = GITHUB_API_VERSION;
  });
  return octokit;
}

/** The REST API version these calls were written against. */
export const GITHUB_API_VERSION = '2022-11-28';

/** The slice of a Bottleneck group plugin-throttling calls: `key(id).schedule(options, task)`. */
interface SchedulingGroup {
  key(id: string): { schedule<R>(jobOptions: unknown, task: (...args: unknown[]) => Promise<R>, ...args: unknown[]): Promise<R> };
}

function unpacedGroup(): NonNullable<ThrottlingOptions['write']> {
  const group: SchedulingGroup = {
    key: () => ({ schedule: (_jobOptions, task, ...args) => task(...args) }),
  };
  // plugin-throttling types this option as a Bottleneck.Group but only ever calls key().schedule().
  return group as unknown as NonNullable<ThrottlingOptions['write']>;
}
