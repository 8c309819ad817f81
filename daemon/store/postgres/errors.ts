import { ZavhozError } from '../../core/errors.js';
import { ErrorCodes } from '../../protocol/errors.js';
import { SqlTranslationError } from './tokens.js';

/** Where the team database is, as errors name it: host and port only, never a user, password or URL. */
export interface DatabaseAddress {
  readonly host: string;
  readonly port: number;
}

/** Node socket errors that mean the server cannot be reached (or went away). */
const SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ECONNABORTED']);

/**
 * SQLSTATEs of a server that is gone, going or not yet there: connection exceptions (class 08), shutdown (57P01–3),
 * too many connections, and the "not accepting connections" of a server that is starting or recovering.
 */
function unavailableState(state: string): boolean {
  return state.startsWith('08') || state === '57P01' || state === '57P02' || state === '57P03' || state === '53300' || state === '57P05';
}

/** Messages pg itself (not the server) uses for a connection that broke or could not be made in time. */
const CONNECTION_MESSAGES = [
  'Connection terminated',
  'Client has encountered a connection error',
  'Connection ended',
  'Client was closed and is not queryable',
  'terminating connection',
  // The store's own limit on waiting for an answer (query_timeout): the connection is treated as lost.
  'Query read timeout',
];

/**
 * What pg-pool says when every connection of the pool stayed checked out (this daemon's own work) for the whole
 * connect timeout: the database answered all along, it is this daemon that is busy.
 */
const POOL_BUSY_MESSAGE = 'timeout exceeded when trying to connect';

/** True when `error` is the pool's wait for a free connection running out (see {@link POOL_BUSY_MESSAGE}). */
export function isPoolBusy(error: unknown): boolean {
  return error instanceof Error && error.message === POOL_BUSY_MESSAGE;
}

/** The error a caller gets when every connection of this daemon's pool stayed busy for the whole connect timeout. */
export function busy(address: DatabaseAddress, pool?: { readonly connections: number; readonly waitedMs: number }): ZavhozError {
  const how = pool ? ` ${pool.connections} connections to it were all busy for ${Math.max(1, Math.round(pool.waitedMs / 1000))} s` : ' connections to it were all busy';
  return new ZavhozError(
    ErrorCodes.Timeout,
    `The team database at ${address.host}:${address.port} is reachable, but this daemon's${how} with its own work. Nothing of this request was done; try again in a moment.`,
  );
}

/** What the pg driver throws: an Error, perhaps with a SQLSTATE (`code`), a constraint and a detail. */
interface DriverError extends Error {
  code?: unknown;
  constraint?: string;
  table?: string;
  detail?: string;
}

/** True when `error` says the server could not be reached or the connection broke (so the work may be tried again). */
export function isConnectionError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as DriverError).code;
  if (typeof code === 'string' && (SOCKET_CODES.has(code) || unavailableState(code))) return true;
  if (error instanceof AggregateError) return error.errors.some(isConnectionError);
  return CONNECTION_MESSAGES.some((message) => error.message.includes(message));
}

/** The error a caller gets when the team database cannot be reached: what happened and that Zavhoz retries. */
export function unavailable(address: DatabaseAddress, cause?: string): ZavhozError {
  return new ZavhozError(
    ErrorCodes.StoreUnavailable,
    `The team database at ${address.host}:${address.port} cannot be reached${cause ? ` (${cause})` : ''}. Zavhoz reconnects by itself: try again in a moment; if this lasts, check that PostgreSQL is running and reachable from this machine.`,
  );
}

/**
 * Turns what the driver threw into the error domain code and users see. No connection string is ever part of it (the
 * store never makes one), and the parameters of a statement are never quoted, only a constraint's own detail line,
 * which names the conflicting key.
 */
export function storeError(error: unknown, address: DatabaseAddress, sql?: string): Error {
  if (error instanceof ZavhozError) return error;
  if (error instanceof SqlTranslationError) {
    return new Error(`The team store cannot run a statement on PostgreSQL: ${error.message}${sql ? ` (statement: ${shorten(sql)})` : ''}`);
  }
  if (!(error instanceof Error)) return new Error(String(error));
  const driver = error as DriverError;
  const code = typeof driver.code === 'string' ? driver.code : '';
  if (isPoolBusy(error)) return busy(address);
  if (isConnectionError(error)) return unavailable(address, reasonOf(driver));
  if (code === '28P01' || code === '28000') {
    return new ZavhozError(
      ErrorCodes.StoreUnavailable,
      `The team database at ${address.host}:${address.port} refused the login (${driver.message}). Check the user and the password (vault handle or PGPASSFILE) given to zavhoz team join.`,
    );
  }
  if (code === '3D000') {
    return new ZavhozError(ErrorCodes.StoreUnavailable, `The team database at ${address.host}:${address.port} has no such database (${driver.message}). Check the database name given to zavhoz team join.`);
  }
  // A constraint's detail line quotes the row's values ("Key (name)=(…)", "Failing row contains (…)"), which are the
  // statement's params: only the key's column names are kept.
  if (code === '23505' || code === '23P01') {
    const columns = keyColumnsOf(driver.detail);
    return new ZavhozError(
      ErrorCodes.Conflict,
      `Another change got there first: ${driver.table ?? 'the table'} already has that key${columns ? ` (${columns})` : ''}${driver.constraint ? `, constraint ${driver.constraint}` : ''}. Nothing of this change was kept; try again.`,
      { constraint: driver.constraint ?? null },
    );
  }
  if (code === '40001' || code === '40P01') {
    return new ZavhozError(ErrorCodes.Conflict, `Another member's change to the same rows ran at the same time (${driver.message}). Nothing of this change was kept; try again.`);
  }
  if (code === '55P03') {
    return new ZavhozError(ErrorCodes.Conflict, `Another member's daemon holds a lock on the same rows (${driver.message}). Nothing of this change was kept; try again in a moment.`);
  }
  if (code === '57014') {
    return new ZavhozError(
      ErrorCodes.Timeout,
      `The team database at ${address.host}:${address.port} took too long to answer and the statement was cancelled; nothing of it was kept. Try again; if it lasts, check the database's load.`,
    );
  }
  if (code.startsWith('23')) {
    return new ZavhozError(ErrorCodes.Conflict, `The team database refused the change: ${driver.message}. Nothing of it was kept.`);
  }
  // No `cause`: the driver's error carries the detail and position lines, which may quote values.
  return new Error(`PostgreSQL refused a statement: ${messageWithoutValues(driver.message, code)}${code ? ` [${code}]` : ''}${sql ? ` (statement: ${shorten(sql)})` : ''}`);
}

/** The column names of a unique violation's detail (`Key (a, b)=(…) already exists.`), without the values. */
function keyColumnsOf(detail: string | undefined): string | undefined {
  const match = detail === undefined ? null : /^Key \((.*?)\)=\(/.exec(detail);
  return match?.[1];
}

/**
 * Data exceptions (class 22: invalid input syntax, out of range, too long) quote the value they refused, which came
 * from the statement's params: the quoted part is left out.
 */
function messageWithoutValues(message: string, code: string): string {
  return code.startsWith('22') ? message.replace(/"(?:[^"]|"")*"/g, '"…"').replace(/: .*$/, '') : message;
}

function reasonOf(error: DriverError): string {
  if (error instanceof AggregateError) {
    const first = error.errors.find((inner): inner is Error => inner instanceof Error);
    if (first) return reasonOf(first);
  }
  return typeof error.code === 'string' && SOCKET_CODES.has(error.code) ? error.code : error.message;
}

function shorten(sql: string): string {
  const flat = sql.replace(/\s+/g, ' ').trim();
  return flat.length > 200 ? `${flat.slice(0, 200)}…` : flat;
}
