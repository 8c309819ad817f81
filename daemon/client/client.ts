import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import {
  CancellationToken,
  ConnectionError,
  type Disposable,
  ErrorCodes as JsonRpcErrorCodes,
  type MessageConnection,
  type NotificationType,
  type RequestType,
  ResponseError,
} from 'vscode-jsonrpc/node';
import { dataPaths } from '../core/paths.js';
import type { NotificationDefinition, RequestDefinition } from '../protocol/define.js';
import { ErrorCodes } from '../protocol/errors.js';
import { Initialize, type InitializeResult, MAX_MESSAGE_BYTES, PROTOCOL_VERSION } from '../protocol/lifecycle.js';
import { connectionOverStream } from '../transport/connection.js';
import { type SpawnDaemonOptions, spawnDaemon } from './spawn.js';

/** How to reach (and if needed start) the daemon of a data folder. */
export interface ConnectOptions {
  readonly folder: string;
  readonly clientName: string;
  readonly clientVersion?: string;
  /** Start the daemon if none runs; omit to fail with {@link DaemonNotRunningError} instead. */
  readonly autoStart?: Omit<SpawnDaemonOptions, 'folder'>;
}

/** Raised when no daemon answers on the folder's socket and auto-start was not asked for. */
export class DaemonNotRunningError extends Error {
  constructor(folder: string) {
    super(`The Zavhoz daemon is not running for ${folder}. Start it with: zavhoz daemon start`);
  }
}

/**
 * Raised when the connection to the daemon ends before an answer: the daemon stopped or crashed, the socket broke,
 * or one side refused a message (e.g. too large). Its message is one line saying what happened and what to do.
 */
export class DaemonConnectionLostError extends Error {}

/** Why a connection ended, as far as this side knows. */
interface ConnectionState {
  refused: string | undefined;
}

function lostMessage(state: ConnectionState): string {
  if (state.refused) {
    return `The daemon sent a message this client refused (${state.refused}), so the connection was closed. Run the command again; if it repeats, update Zavhoz or report it with the daemon log.`;
  }
  return 'The connection to the Zavhoz daemon was lost before it answered (the daemon stopped or crashed). Run the command again: the daemon starts on demand, and `zavhoz daemon status` shows it.';
}

/** True for the errors vscode-jsonrpc raises when a connection ends under a pending or new request. */
function isConnectionFailure(error: unknown): boolean {
  if (error instanceof ConnectionError) return true;
  return (
    error instanceof ResponseError &&
    (error.code === JsonRpcErrorCodes.PendingResponseRejected ||
      error.code === JsonRpcErrorCodes.ConnectionInactive ||
      error.code === JsonRpcErrorCodes.MessageWriteError ||
      error.code === JsonRpcErrorCodes.MessageReadError)
  );
}

/** A list request (`servers/list`, …): takes an opaque `cursor` and answers with the next one while more rows follow. */
export type PagedDefinition<P, R> = RequestDefinition<P, R> & { readonly type: RequestType<P & { cursor?: string | undefined }, R & { readonly nextCursor?: string | undefined }, void> };

/**
 * A connection to the daemon, used by the CLI, the extension and the agent tools alike. Every request carries a
 * request id that the daemon writes into its log lines, so one action can be followed across processes.
 */
export class DaemonClient {
  private readonly listeners = new Map<string, Set<(params: unknown) => void>>();

  private constructor(
    private readonly connection: MessageConnection,
    private readonly stream: Duplex,
    readonly info: InitializeResult,
    private readonly clientName: string,
    private readonly state: ConnectionState,
  ) {}

  /** Connects and initializes, starting the daemon first if asked to and needed. */
  static async connect(options: ConnectOptions): Promise<DaemonClient> {
    const paths = dataPaths(options.folder);
    let socket = await tryConnect(paths.socket);
    if (!socket) {
      if (!options.autoStart) throw new DaemonNotRunningError(options.folder);
      socket = await startAndConnect({ ...options.autoStart, folder: options.folder }, paths.socket, paths.lock);
    }
    let token: string;
    try {
      token = fs.readFileSync(paths.token, 'utf8').trim();
    } catch {
      token = '';
    }
    return DaemonClient.overStream(socket, { ...options, token });
  }

  /** Initializes over an already open stream (a socket, or an in-memory pair in tests). */
  static async overStream(
    stream: Duplex,
    options: { readonly clientName: string; readonly clientVersion?: string; readonly token: string },
  ): Promise<DaemonClient> {
    const state: ConnectionState = { refused: undefined };
    const connection = connectionOverStream(stream, undefined, {
      onFatalViolation: (violation) => {
        state.refused ??= violation.message;
      },
    });
    // vscode-jsonrpc leaves requests pending when the peer goes away; disposing rejects them, so callers
    // hear "connection closed" instead of waiting forever.
    connection.onClose(() => setTimeout(() => connection.dispose(), 10));
    connection.listen();
    try {
      const info = await connection.sendRequest(Initialize.type, {
        protocolVersion: PROTOCOL_VERSION,
        clientName: options.clientName,
        ...(options.clientVersion ? { clientVersion: options.clientVersion } : {}),
        token: options.token,
      });
      return new DaemonClient(connection, stream, info, options.clientName, state);
    } catch (error) {
      connection.dispose();
      stream.destroy();
      throw isConnectionFailure(error) ? new DaemonConnectionLostError(lostMessage(state)) : error;
    }
  }

  /**
   * Sends a typed request. `params` is the schema's input: leave out what the schema defaults and the daemon applies
   * it. `requestId` lets the caller tie several requests to one user action.
   */
  request<P, R>(
    definition: RequestDefinition<P, R>,
    params: P,
    options: { token?: CancellationToken; requestId?: string } = {},
  ): Promise<R> {
    const requestId = options.requestId ?? newClientRequestId(this.clientName);
    const wire = { ...(params as object), _requestId: requestId } as unknown as P;
    // vscode-jsonrpc's overloads cannot see through a generic P; the definition already ties P to R.
    const type = definition.type as unknown as RequestType<object, R, void>;
    return this.send(type, wire as object, options.token ?? CancellationToken.None);
  }

  /**
   * Fetches a list request page by page: each page is the daemon's answer, and the next request carries its
   * `nextCursor`, until there is none. A caller that stops iterating sends no more requests.
   */
  async *pages<P, R>(
    definition: PagedDefinition<P, R>,
    params: P,
    options: { token?: CancellationToken; requestId?: string } = {},
  ): AsyncGenerator<R, void, undefined> {
    const requestId = options.requestId ?? newClientRequestId(this.clientName);
    let cursor: string | undefined;
    do {
      const page: R & { readonly nextCursor?: string | undefined } = await this.request(
        definition as RequestDefinition<P & { cursor?: string | undefined }, R & { readonly nextCursor?: string | undefined }>,
        { ...params, ...(cursor === undefined ? {} : { cursor }) },
        { ...options, requestId },
      );
      yield page as Awaited<R>;
      cursor = page.nextCursor;
    } while (cursor !== undefined);
  }

  /** Every row of a list request, fetched page by page; `rows` picks a page's rows. */
  async listAll<P, R, T>(
    definition: PagedDefinition<P, R>,
    params: P,
    rows: (page: R) => readonly T[],
    options: { token?: CancellationToken; requestId?: string } = {},
  ): Promise<T[]> {
    const all: T[] = [];
    for await (const page of this.pages(definition, params, options)) all.push(...rows(page));
    return all;
  }

  private async send<R>(type: RequestType<object, R, void>, params: object, token: CancellationToken): Promise<R> {
    // The daemon would refuse it and hang up, failing every other request on this connection too.
    const bytes = Buffer.byteLength(JSON.stringify(params), 'utf8');
    if (bytes > MAX_MESSAGE_BYTES - 1024) {
      throw new ResponseError(
        ErrorCodes.MessageTooLarge,
        `The ${type.method} request is ${bytes} bytes, over the ${MAX_MESSAGE_BYTES}-byte limit the daemon accepts; send less at once (e.g. a smaller file).`,
      );
    }
    try {
      return await this.connection.sendRequest(type, params, token);
    } catch (error) {
      throw isConnectionFailure(error) ? new DaemonConnectionLostError(lostMessage(this.state)) : error;
    }
  }

  /**
   * Listens for a typed notification. Any number of listeners per method: vscode-jsonrpc keeps one handler per
   * method (a second registration silently replaces the first), so this fans each notification out.
   */
  onNotification<P>(definition: NotificationDefinition<P>, handler: (params: P) => void): Disposable {
    let listeners = this.listeners.get(definition.method);
    if (!listeners) {
      const created = new Set<(params: unknown) => void>();
      listeners = created;
      this.listeners.set(definition.method, created);
      const type = definition.type as unknown as NotificationType<object>;
      this.connection.onNotification(type, (params: object) => {
        for (const listener of [...created]) listener(params);
      });
    }
    const listener = handler as (params: unknown) => void;
    listeners.add(listener);
    return { dispose: () => listeners.delete(listener) };
  }

  /** Called once when the connection ends (daemon exit, crash or {@link close}). */
  onClose(listener: () => void): Disposable {
    return this.connection.onClose(listener);
  }

  /** Ends the connection. */
  close(): void {
    this.connection.dispose();
    this.stream.destroy();
  }
}

/** Makes a request id that says which client sent it. */
export function newClientRequestId(clientName: string): string {
  return `${clientName}-${crypto.randomBytes(5).toString('hex')}`;
}

/** True if an error is the daemon's answer with the given code. */
export function isResponseError(error: unknown, code?: number): error is ResponseError<unknown> {
  return error instanceof ResponseError && (code === undefined || error.code === code);
}

/** True if the request was cancelled. */
export function isCancelled(error: unknown): boolean {
  return isResponseError(error, ErrorCodes.RequestCancelled);
}

async function tryConnect(socketPath: string): Promise<net.Socket | undefined> {
  return new Promise((resolve, reject) => {
    const socket = net.createConnection(socketPath);
    socket.once('connect', () => {
      socket.removeAllListeners('error');
      resolve(socket);
    });
    socket.once('error', (error: NodeJS.ErrnoException) => {
      socket.destroy();
      if (error.code === 'ENOENT' || error.code === 'ECONNREFUSED') resolve(undefined);
      else reject(error);
    });
  });
}

/** How many times a start is tried when the daemon that owned the folder turns out to be stopping. */
const START_ATTEMPTS = 3;

/**
 * Starts the daemon and connects to it. A daemon that is shutting down (e.g. just after `zavhoz daemon stop`) has
 * closed its socket but still holds the folder lock for a moment, so a new one exits "already running"; once that
 * lock is gone, the start is tried again instead of waiting for a socket nobody will open.
 */
async function startAndConnect(spawnOptions: SpawnDaemonOptions, socketPath: string, lockFile: string): Promise<net.Socket> {
  for (let attempt = 1; ; attempt++) {
    const outcome = await spawnDaemon(spawnOptions);
    const ownerGone = (): boolean => outcome === 'already-running' && attempt < START_ATTEMPTS && !fs.existsSync(lockFile);
    const socket = await connectWithRetry(socketPath, 5_000, ownerGone);
    if (socket) return socket;
  }
}

/** Connects, retrying until the deadline; undefined as soon as `giveUp` says no daemon will open the socket. */
async function connectWithRetry(socketPath: string, timeoutMs: number, giveUp: () => boolean): Promise<net.Socket | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (let delay = 20; ; delay = Math.min(delay * 2, 250)) {
    const socket = await tryConnect(socketPath);
    if (socket) return socket;
    if (giveUp()) return undefined;
    if (Date.now() > deadline) throw new Error(`The daemon started but its socket ${socketPath} does not answer.`);
    await new Promise((resolve) => setTimeout(resolve, delay));
  }
}
