import { ErrorCodes, type ErrorCode } from '../protocol/errors.js';
import type { TextRedactor } from './redactor.js';

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

/**
 * Narrows an unknown thrown value to a message. Logs are redacted separately; text that is stored or answered
 * (a server's last check error, a run's error) must pass a redactor here.
 */
export function describeError(error: unknown, redactor?: TextRedactor): string {
  const message = error instanceof Error ? error.message : String(error);
  return redactor ? redactor.redact(message) : message;
}
