import { ResponseError } from 'vscode-jsonrpc';
import { userMessage } from '../../daemon/client/userMessages.js';
import { ErrorCodes, errorCodeName } from '../../daemon/protocol/errors.js';

/**
 * What to tell the user about a failed action, in their words (`userMessages.ts`: the field named, what to do;
 * never a method name or schema wording). The daemon's messages are already redacted; anything else is shown by
 * its message only (never a stack or an object dump, which could carry a value).
 */
export function errorMessage(error: unknown): string {
  return userMessage(error).text;
}

/** The error as it was raised (the daemon's protocol wording, with its code name), for the log only. */
export function errorDetail(error: unknown): string {
  if (error instanceof ResponseError) return `${error.message} [${errorCodeName(error.code)}]`;
  if (error instanceof Error) return error.message;
  return String(error);
}

/** The daemon's error code name (`NotFound`, `KeychainLocked`…), or undefined for a local error. */
export function errorCode(error: unknown): string | undefined {
  return error instanceof ResponseError ? errorCodeName(error.code) : undefined;
}

/** True when the daemon does not know the method (an older daemon, or a capability not built yet). */
export function isMethodNotFound(error: unknown): boolean {
  return error instanceof ResponseError && error.code === ErrorCodes.MethodNotFound;
}

/** True when the request was cancelled, by the user or by the daemon. */
export function isCancellation(error: unknown): boolean {
  return error instanceof ResponseError && error.code === ErrorCodes.RequestCancelled;
}
