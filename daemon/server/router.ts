import crypto from 'node:crypto';
import { type CancellationToken, ResponseError } from 'vscode-jsonrpc';
import * as z from 'zod';
import { ZavhozError } from '../core/errors.js';
import type { ScopedLogger } from '../core/logger.js';
import type { Redactor } from '../core/redactor.js';
import { AGENT_CLIENT_NAME, REFUSED_FOR_AGENTS } from '../protocol/agentLimits.js';
import type { RequestDefinition } from '../protocol/define.js';
import { ErrorCodes } from '../protocol/errors.js';
import { MAX_MESSAGE_BYTES } from '../protocol/lifecycle.js';
import { encodeJson, rememberJson } from '../transport/json.js';

/**
 * The largest result an answer may carry: what clients accept ({@link MAX_MESSAGE_BYTES}, enforced by their
 * reader) minus room for the JSON-RPC envelope around it.
 */
export const MAX_RESULT_BYTES = MAX_MESSAGE_BYTES - 1024;

/** Who is calling: set by a successful `initialize`. */
export interface ClientInfo {
  readonly connectionId: number;
  readonly name: string;
  readonly version?: string;
  readonly connectedAt: string;
}

/** What a handler gets besides its validated params. */
export interface RequestContext {
  /** The client's id for this request (sent as `_requestId`), or one made up here; it goes in every log line. */
  readonly requestId: string;
  readonly client: ClientInfo;
  readonly log: ScopedLogger;
  readonly cancellation: CancellationToken;
}

/** A request handler: gets trusted, typed params. */
export type Handler<P, R> = (params: P, context: RequestContext) => Promise<R> | R;

interface Route {
  readonly definition: RequestDefinition<unknown, unknown>;
  readonly handler: Handler<unknown, unknown>;
}

/** Thrown by handlers (via {@link throwIfCancelled}) when the client cancelled. */
export function throwIfCancelled(context: RequestContext): void {
  if (context.cancellation.isCancellationRequested) {
    throw new ResponseError(ErrorCodes.RequestCancelled, 'The request was cancelled.');
  }
}

/**
 * The table of request handlers. It validates params against each request's schema before the handler runs,
 * and turns whatever a handler throws into a redacted ResponseError with a code from the one error table.
 */
export class Router {
  private readonly routes = new Map<string, Route>();
  private active = 0;
  private draining = false;
  private readonly idleWaiters = new Set<() => void>();

  constructor(
    private readonly redactor: Redactor,
    private readonly log: ScopedLogger,
  ) {}

  /** Registers the handler of one request; it gets the params as the schema outputs them, defaults applied. */
  handle<P, R, S extends z.ZodType>(definition: RequestDefinition<P, R, S>, handler: Handler<z.output<S>, R>): void {
    if (this.routes.has(definition.method)) throw new Error(`router: ${definition.method} registered twice`);
    this.routes.set(definition.method, { definition, handler } as unknown as Route);
  }

  /** Every registered method, for sessions to install. */
  methods(): string[] {
    return [...this.routes.keys()];
  }

  /** Number of requests being handled right now. */
  get inFlight(): number {
    return this.active;
  }

  /** Resolves once no request is being handled (used by shutdown), or after the timeout. */
  async whenIdle(timeoutMs: number): Promise<boolean> {
    if (this.active === 0) return true;
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.idleWaiters.delete(done);
        resolve(true);
      };
      const timer = setTimeout(() => {
        this.idleWaiters.delete(done);
        resolve(false);
      }, timeoutMs);
      this.idleWaiters.add(done);
    });
  }

  /**
   * Refuses every new request from now on (ShuttingDown) and resolves once the running ones are done, or after the
   * timeout. Shutdown calls it so that busy clients cannot keep the daemon from ever becoming idle.
   */
  drain(timeoutMs: number): Promise<boolean> {
    this.draining = true;
    return this.whenIdle(timeoutMs);
  }

  /** Runs one request: validate, call, map errors. `rawParams` is what arrived on the wire. */
  async dispatch(method: string, rawParams: unknown, client: ClientInfo, cancellation: CancellationToken): Promise<unknown> {
    if (this.draining) throw new ResponseError(ErrorCodes.ShuttingDown, 'The daemon is shutting down; send the request again once it has restarted.');
    const route = this.routes.get(method);
    if (!route) throw new ResponseError(ErrorCodes.MethodNotFound, `Unknown method ${method}.`);
    if (client.name === AGENT_CLIENT_NAME && REFUSED_FOR_AGENTS.has(method)) {
      this.log.warn('agent request refused', { client: client.name, method });
      throw new ResponseError(ErrorCodes.Unauthorized, 'Agents may not do this: it widens what agents may do or shows secret values. A person does it with the zavhoz CLI or in VS Code.');
    }
    const { params, requestId } = splitRequestId(rawParams);
    const log = this.log.child({ requestId, client: client.name, method });
    this.active++;
    try {
      const parsed = route.definition.params.safeParse(params);
      if (!parsed.success) {
        throw new ResponseError(ErrorCodes.InvalidParams, `Invalid params for ${method}: ${describeIssues(parsed.error)}`);
      }
      // process.hrtime, not the global `performance`: reading that loads perf_hooks (~2 ms), which the daemon's first
      // answer (usually daemon/status) then waited for.
      const started = process.hrtime.bigint();
      const value = await route.handler(parsed.data, { requestId, client, log, cancellation });
      log.debug('request done', { ms: Math.round(Number(process.hrtime.bigint() - started) / 1e5) / 10 });
      checkResultSize(method, value, log);
      return value;
    } catch (error) {
      throw this.toResponseError(error, method, requestId, log);
    } finally {
      this.active--;
      if (this.active === 0) for (const waiter of [...this.idleWaiters]) waiter();
    }
  }

  private toResponseError(error: unknown, method: string, requestId: string, log: ScopedLogger): ResponseError<unknown> {
    if (error instanceof ResponseError) {
      log.info('request refused', { code: error.code, error: error.message });
      return new ResponseError(error.code, this.redactor.redact(error.message), this.redactor.redactValue(error.data));
    }
    if (error instanceof ZavhozError) {
      log.info('request failed', { code: error.code, error: error.message });
      return new ResponseError(error.code, this.redactor.redact(error.message), this.redactor.redactValue(error.data));
    }
    const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
    log.error('request crashed', { error: detail });
    return new ResponseError(
      ErrorCodes.InternalError,
      `Internal error in ${method} (request ${requestId}). The daemon log has the details; please report it.`,
    );
  }
}

/**
 * Refuses an answer its client would drop the connection over. Lists page by size, so this is a backstop
 * for a bug (or one huge row), logged as a refusal with the method and the size.
 */
function checkResultSize(method: string, value: unknown, log: ScopedLogger): void {
  if (value === undefined) return;
  const json = encodeJson(value);
  const bytes = Buffer.byteLength(json, 'utf8');
  if (bytes <= MAX_RESULT_BYTES) {
    // The writer sends this text rather than encode the answer again.
    if (typeof value === 'object' && value !== null) rememberJson(value, json);
    return;
  }
  log.warn('answer too large', { bytes, limit: MAX_RESULT_BYTES });
  throw new ResponseError(
    ErrorCodes.MessageTooLarge,
    `The answer to ${method} would be ${bytes} bytes, over the ${MAX_RESULT_BYTES}-byte limit clients accept. ` +
      'Ask for fewer rows (a smaller limit, then the next cursor); if it repeats, report it with the daemon log.',
    { bytes, limit: MAX_RESULT_BYTES },
  );
}

function splitRequestId(raw: unknown): { params: unknown; requestId: string } {
  if (typeof raw === 'object' && raw !== null && !Array.isArray(raw) && '_requestId' in raw) {
    const { _requestId, ...rest } = raw as Record<string, unknown>;
    if (typeof _requestId === 'string' && /^[\w.:-]{1,64}$/.test(_requestId)) return { params: rest, requestId: _requestId };
    return { params: rest, requestId: newRequestId() };
  }
  return { params: raw ?? {}, requestId: newRequestId() };
}

/** Makes a short random request id. */
export function newRequestId(): string {
  return `d-${crypto.randomBytes(6).toString('hex')}`;
}

function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((issue) => {
      const where = issue.path.length > 0 ? issue.path.join('.') : 'params';
      return `${where}: ${issue.message}`;
    })
    .join('; ');
}
