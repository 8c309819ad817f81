import { ZavhozError } from '../core/errors.js';
import { ErrorCodes } from '../protocol/errors.js';

/** Attempts at reaching an unreachable host: the first and up to three retries. */
export const MAX_ATTEMPTS = 4;

/** What {@link withRetries} needs of the run: its abort signal, how long to wait, and where to say it retries. */
export interface RetryContext {
  readonly signal: AbortSignal;
  /** Wait before retry `attempt` (1-based) of an unreachable host. */
  readonly backoffMs: (attempt: number) => number;
  /** Called before each wait, with the error and the attempt that comes next. */
  readonly retrying: (error: ZavhozError, nextAttempt: number, waitMs: number) => void;
}

/**
 * Runs `work`, again after a backoff when it fails with Unreachable, up to {@link MAX_ATTEMPTS} times. Any other
 * failure (a failed task, a wrong key) is final at once.
 */
export async function withRetries<T>(context: RetryContext, work: (attempt: number) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work(attempt);
    } catch (error) {
      const retry = error instanceof ZavhozError && error.code === ErrorCodes.Unreachable && attempt < MAX_ATTEMPTS && !context.signal.aborted;
      if (!retry) throw error;
      const wait = context.backoffMs(attempt);
      context.retrying(error, attempt + 1, wait);
      await sleep(wait, context.signal);
    }
  }
}

/** Resolves after `ms`, or rejects at once when the run is aborted. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) { reject(new ZavhozError(ErrorCodes.RequestCancelled, 'aborted')); return; }
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(new ZavhozError(ErrorCodes.RequestCancelled, 'aborted'));
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
