import crypto from 'node:crypto';
import type { Duplex } from 'node:stream';
import { type CancellationToken, type NotificationType, ResponseError } from 'vscode-jsonrpc';
import type { LogLevel, ScopedLogger } from '../core/logger.js';
import type { NotificationDefinition } from '../protocol/define.js';
import { ErrorCodes } from '../protocol/errors.js';
import { Initialize, type InitializeResult, PROTOCOL_VERSION } from '../protocol/lifecycle.js';
import { connectionOverStream, type FlushableConnection } from '../transport/connection.js';
import type { ClientInfo, Router } from './router.js';

/** How long a connection may stay silent before sending `initialize`. */
const INITIALIZE_TIMEOUT_MS = 10_000;

/** What a session needs from the daemon around it. */
export interface SessionOptions {
  readonly router: Router;
  readonly token: string;
  readonly log: ScopedLogger;
  readonly describe: () => Omit<InitializeResult, 'protocolVersion'>;
  readonly onClose: (session: Session) => void;
}

/** How long a refused connection may take to be told why before it is closed regardless. */
const REFUSED_CLOSE_TIMEOUT_MS = 2_000;

/**
 * One client connection. Nothing but `initialize` runs until the client has shown the token from the data
 * folder and a matching protocol version; a wrong token closes the connection.
 */
export class Session {
  private readonly connection: FlushableConnection;
  private clientInfo: ClientInfo | undefined;
  private readonly initializeTimer: NodeJS.Timeout;
  private closed = false;
  /** Set when the client asked for log lines (`daemon/subscribeLog`). */
  logLevel: LogLevel | undefined;

  constructor(
    private readonly stream: Duplex,
    readonly id: number,
    private readonly options: SessionOptions,
  ) {
    this.connection = connectionOverStream(stream);
    this.connection.onRequest((method, params, token) => this.onRequest(method, params, token));
    this.connection.onError(([error]) => options.log.warn('connection error', { connection: id, error: error.message }));
    this.connection.onClose(() => this.close());
    stream.on('error', () => this.close());
    this.initializeTimer = setTimeout(() => {
      if (!this.clientInfo) {
        options.log.warn('connection closed: no initialize in time', { connection: id });
        this.close();
      }
    }, INITIALIZE_TIMEOUT_MS);
    this.connection.listen();
  }

  /** The client, once initialized. */
  get client(): ClientInfo | undefined {
    return this.clientInfo;
  }

  /** Sends a notification if the client has initialized. */
  notify<P>(definition: NotificationDefinition<P>, params: P): void {
    if (!this.clientInfo || this.closed) return;
    const type = definition.type as unknown as NotificationType<object>;
    this.connection.sendNotification(type, params as object).catch(() => this.close());
  }

  /** Ends the connection. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.initializeTimer);
    this.connection.dispose();
    // end() flushes answers already written (e.g. to daemon/shutdown); destroy() only if the peer stalls.
    this.stream.end();
    setTimeout(() => this.stream.destroy(), 1_000).unref();
    this.options.onClose(this);
  }

  private async onRequest(method: string, params: unknown, token: CancellationToken): Promise<unknown> {
    if (method === Initialize.method) return this.initialize(params);
    if (!this.clientInfo) {
      throw new ResponseError(ErrorCodes.NotInitialized, 'Send initialize with the token from the data folder before any other request.');
    }
    return this.options.router.dispatch(method, params, this.clientInfo, token);
  }

  private initialize(raw: unknown): InitializeResult {
    if (this.clientInfo) throw new ResponseError(ErrorCodes.InvalidRequest, 'This connection is already initialized.');
    const parsed = Initialize.params.safeParse(stripRequestId(raw));
    if (!parsed.success) {
      this.closeSoon();
      throw new ResponseError(ErrorCodes.InvalidParams, `Invalid initialize params: ${parsed.error.issues[0]?.message ?? 'malformed'}.`);
    }
    const params = parsed.data;
    if (!tokensMatch(params.token, this.options.token)) {
      this.options.log.warn('connection refused: wrong token', { connection: this.id, client: params.clientName });
      this.closeSoon();
      throw new ResponseError(
        ErrorCodes.Unauthorized,
        'Wrong or missing daemon token. Clients read it from daemon.token in the data folder; a daemon restart replaces it.',
      );
    }
    if (params.protocolVersion !== PROTOCOL_VERSION) {
      this.closeSoon();
      throw new ResponseError(
        ErrorCodes.ProtocolMismatch,
        `Protocol version mismatch: the client speaks ${params.protocolVersion}, this daemon speaks ${PROTOCOL_VERSION}. ` +
          'Update the older side, then restart the daemon (zavhoz daemon stop).',
        { clientVersion: params.protocolVersion, daemonVersion: PROTOCOL_VERSION },
      );
    }
    clearTimeout(this.initializeTimer);
    this.clientInfo = {
      connectionId: this.id,
      name: params.clientName,
      ...(params.clientVersion ? { version: params.clientVersion } : {}),
      connectedAt: new Date().toISOString(),
    };
    this.options.log.info('client connected', { connection: this.id, client: params.clientName });
    return { protocolVersion: PROTOCOL_VERSION, ...this.options.describe() };
  }

  /**
   * Closes once the error answer being thrown has been written. A fixed delay raced the answer: on a loaded machine
   * the timer could fire before vscode-jsonrpc wrote it (its writer runs from `setImmediate`), and the client then
   * lost the reason for the refusal (over an in-memory pair, it waited for it forever). The answer reaches the
   * writer within microtasks of the throw, so by the next macrotask it is among what `flushed()` waits for.
   */
  private closeSoon(): void {
    setImmediate(() => {
      void this.connection.flushed().then(() => this.close());
    });
    // A peer that never reads may never let the answer be written: it is closed anyway.
    setTimeout(() => this.close(), REFUSED_CLOSE_TIMEOUT_MS).unref();
  }
}

function stripRequestId(raw: unknown): unknown {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return raw;
  const { _requestId: _ignored, ...rest } = raw as Record<string, unknown>;
  return rest;
}

function tokensMatch(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && crypto.timingSafeEqual(a, b);
}
