import { ZavhozError } from '../core/errors.js';
import { ErrorCodes } from '../protocol/errors.js';
import { MAX_RATE_LIMIT_RETRIES, MAX_RATE_LIMIT_WAIT_SECONDS, type RateLimitGate, SERVER_ERROR_RETRIES } from './client.js';

/** What a failed call was about, so its error can say it in words. */
export interface GithubCallContext {
  /** e.g. `octo-org/app` or `octo-org/app (environment production)`. */
  readonly target: string;
  /** e.g. `read the Actions public key of`, `write DEPLOY_HOST to`. */
  readonly action: string;
  /** e.g. `the token in sec_x (setting githubTokenSecret)` or `GitHub App 123`. */
  readonly credentials: string;
  readonly baseUrl: string;
  readonly gate?: RateLimitGate;
}

/** The parts of an Octokit RequestError we read; checked structurally so no private package is imported. */
interface HttpFailure {
  readonly status: number;
  readonly message: string;
  readonly response?: { readonly headers: Record<string, string | number | undefined>; readonly data?: unknown };
}

function asHttpFailure(error: unknown): HttpFailure | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const candidate = error as Partial<HttpFailure>;
  if (typeof candidate.status !== 'number' || typeof candidate.message !== 'string') return undefined;
  return candidate as HttpFailure;
}

/** GitHub's own message without the documentation link Octokit appends. */
function githubMessage(failure: HttpFailure): string {
  const data = failure.response?.data;
  if (typeof data === 'object' && data !== null && typeof (data as { message?: unknown }).message === 'string') {
    return (data as { message: string }).message;
  }
  return failure.message.replace(/ - https:\/\/\S+$/, '');
}

/** True if GitHub's answer is a primary or secondary rate limit, as its documentation defines them. */
export function isRateLimit(error: unknown): boolean {
  const failure = asHttpFailure(error);
  if (!failure || (failure.status !== 403 && failure.status !== 429)) return false;
  const headers = failure.response?.headers ?? {};
  return failure.status === 429 || String(headers['x-ratelimit-remaining']) === '0' || /rate limit/i.test(failure.message);
}

/** True for a 401/403/404: the same credentials will fail for every other secret of the batch too. */
export function isFatalForBatch(error: unknown): boolean {
  const failure = asHttpFailure(error);
  return failure !== undefined && (failure.status === 401 || failure.status === 403 || failure.status === 404 || isRateLimit(error));
}

/** True for GitHub's 422, which a secret PUT gets when it was sealed with a key that is no longer current. */
export function isUnprocessable(error: unknown): boolean {
  return asHttpFailure(error)?.status === 422;
}

/** GitHub's request id of a failed call (for support requests and the audit trail). */
export function githubRequestIdOf(error: unknown): string | undefined {
  const value = asHttpFailure(error)?.response?.headers['x-github-request-id'];
  return value === undefined ? undefined : String(value);
}

function retryHint(failure: HttpFailure, gate?: RateLimitGate): string {
  const headers = failure.response?.headers ?? {};
  const retryAfter = Number(headers['retry-after']);
  if (Number.isFinite(retryAfter) && retryAfter > 0) return `in ${retryAfter} s`;
  const reset = Number(headers['x-ratelimit-reset']);
  if (Number.isFinite(reset) && reset > 0) return `after ${new Date(reset * 1000).toISOString()}`;
  if (gate?.lastRetryAfterSeconds !== undefined) return `in ${gate.lastRetryAfterSeconds} s`;
  return 'in a minute';
}

/**
 * Turns whatever a GitHub call threw into a ZavhozError that says what went wrong and what to do. Messages carry
 * names, handles and GitHub's words, never values (and pass the redactor on the way out regardless).
 */
export function toGithubError(error: unknown, context: GithubCallContext): ZavhozError {
  if (error instanceof ZavhozError) return error;
  const what = `${context.action} ${context.target}`;
  if (error instanceof Error && (error.name === 'AbortError' || error.name === 'TimeoutError') && !asHttpFailure(error)?.response) {
    return new ZavhozError(ErrorCodes.RequestCancelled, `Cancelled while trying to ${what}.`);
  }
  const failure = asHttpFailure(error);
  const data = { status: failure?.status ?? 0, githubRequestId: githubRequestIdOf(error) ?? '' };
  if (!failure || (failure.status === 500 && !failure.response)) {
    const reason = error instanceof Error ? error.message : String(error);
    return new ZavhozError(
      ErrorCodes.Unreachable,
      `Could not reach GitHub at ${context.baseUrl} to ${what} (${reason}), also after ${SERVER_ERROR_RETRIES} retries. Check the network, and the githubApiBase setting if you use GitHub Enterprise.`,
      data,
    );
  }
  const message = githubMessage(failure);
  if (isRateLimit(error)) {
    return new ZavhozError(
      ErrorCodes.RateLimited,
      `GitHub rate-limited the request to ${what} ("${message}"). Zavhoz stopped sending (it waits as GitHub asks, at most ${MAX_RATE_LIMIT_WAIT_SECONDS} s and ${MAX_RATE_LIMIT_RETRIES} times per request); try again ${retryHint(failure, context.gate)}.`,
      data,
    );
  }
  switch (failure.status) {
    case 401:
      return new ZavhozError(
        ErrorCodes.AuthenticationFailed,
        `GitHub refused ${context.credentials} (401 ${message}) when trying to ${what}. The credential is wrong, expired or revoked: store a new one in the vault and point the setting at it.`,
        data,
      );
    case 403:
      return new ZavhozError(
        ErrorCodes.AuthenticationFailed,
        `GitHub denied ${context.credentials} permission to ${what} (403 ${message}). A fine-grained token needs "Secrets: Read and write" on this repository (and "Environments: Read and write" for environment secrets); a classic token needs the repo scope; a GitHub App needs the same repository permissions.`,
        data,
      );
    case 404:
      return new ZavhozError(
        ErrorCodes.NotFound,
        `GitHub answered 404 when trying to ${what}: the repository or environment does not exist, or ${context.credentials} cannot see it (GitHub hides private repositories from credentials without access). Check the name and the credential's repository access.`,
        data,
      );
    case 422:
      return new ZavhozError(ErrorCodes.InvalidInput, `GitHub refused to ${what} (422 ${message}).`, data);
    default:
      return new ZavhozError(
        ErrorCodes.ProviderError,
        failure.status >= 500
          ? `GitHub kept failing (${failure.status} ${message}) when trying to ${what}, also after ${SERVER_ERROR_RETRIES} retries. GitHub may be having an incident (see githubstatus.com); try again later.`
          : `GitHub answered ${failure.status} (${message}) when trying to ${what}.`,
        data,
      );
  }
}
