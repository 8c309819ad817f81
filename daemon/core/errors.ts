import { ErrorCodes, type ErrorCode } from '../protocol/errors.js';

/**
 * The one error type domain modules throw. It carries a wire code and a message written for the user (what went
 * wrong and what to do); the RPC layer turns it into a ResponseError unchanged, after redaction.
 */
export class ZavhozError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly data?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'ZavhozError';
  }
}

/** Shorthand for the most common domain errors. */
export function notFound(what: string, hint?: string): ZavhozError {
  return new ZavhozError(ErrorCodes.NotFound, hint ? `${what} not found. ${hint}` : `${what} not found.`);
}

/** An input that passed the schema but makes no sense to the domain. */
export function invalidInput(message: string): ZavhozError {
  return new ZavhozError(ErrorCodes.InvalidInput, message);
}

/** Narrows an unknown thrown value to a message, for logs (which are redacted separately). */
export function describeError(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
