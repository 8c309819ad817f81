import { AbstractMessageReader, type DataCallback, type Disposable, type Message } from 'vscode-jsonrpc';
import { ErrorCodes } from '../protocol/errors.js';

/** A framing or syntax problem the peer should be told about. */
export interface ProtocolViolation {
  readonly code: number;
  readonly message: string;
  /** The offending message's id, when it could be read. */
  readonly id: number | string | null;
  /** True when the stream cannot be trusted any more and the connection must close. */
  readonly fatal: boolean;
}

const MAX_HEADER_BYTES = 8 * 1024;
const HEADER_END = Buffer.from('\r\n\r\n');

/**
 * Reads `Content-Length` framed JSON-RPC messages like vscode-jsonrpc's own reader, but with a size cap and
 * with answers for bad input: an oversized or unframed message is a fatal violation; a frame that holds bad
 * JSON or something that is not a JSON-RPC message is reported and skipped, and reading goes on.
 */
export class FramedMessageReader extends AbstractMessageReader {
  private buffer: Buffer = Buffer.alloc(0);
  private expected = -1;
  /** Set by a fatal violation: the rest of the stream cannot be framed, so it is ignored until the close. */
  private broken = false;

  constructor(
    private readonly readable: NodeJS.ReadableStream,
    private readonly maxMessageBytes: number,
    private readonly onViolation: (violation: ProtocolViolation) => void,
  ) {
    super();
  }

  listen(callback: DataCallback): Disposable {
    const onData = (chunk: Buffer): void => this.onData(chunk, callback);
    const onError = (error: Error): void => this.fireError(error);
    const onClose = (): void => this.fireClose();
    this.readable.on('data', onData);
    this.readable.on('error', onError);
    this.readable.on('close', onClose);
    return {
      dispose: () => {
        this.readable.off('data', onData);
        this.readable.off('error', onError);
        this.readable.off('close', onClose);
      },
    };
  }

  private onData(chunk: Buffer, callback: DataCallback): void {
    if (this.broken) return;
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    while (true) {
      if (this.expected === -1) {
        const end = this.buffer.indexOf(HEADER_END);
        if (end === -1) {
          if (this.buffer.length > MAX_HEADER_BYTES) this.fatal('Message header is too long or not framed with Content-Length.');
          return;
        }
        const length = parseContentLength(this.buffer.subarray(0, end).toString('ascii'));
        if (length === undefined) { this.fatal('Message header must have a numeric Content-Length.'); return; }
        if (length > this.maxMessageBytes) {
          this.fatal(`Message of ${length} bytes exceeds the ${this.maxMessageBytes}-byte limit.`, ErrorCodes.MessageTooLarge);
          return;
        }
        this.expected = length;
        this.buffer = this.buffer.subarray(end + HEADER_END.length);
      }
      if (this.buffer.length < this.expected) return;
      const body = this.buffer.subarray(0, this.expected).toString('utf8');
      this.buffer = this.buffer.subarray(this.expected);
      this.expected = -1;
      const message = this.parse(body);
      if (message) callback(message);
    }
  }

  private parse(body: string): Message | undefined {
    let value: unknown;
    try {
      value = JSON.parse(body);
    } catch {
      this.onViolation({ code: ErrorCodes.ParseError, message: 'Message body is not valid JSON.', id: null, fatal: false });
      return undefined;
    }
    const problem = checkMessage(value);
    if (problem) {
      const id = isRecord(value) && (typeof value.id === 'number' || typeof value.id === 'string') ? value.id : null;
      this.onViolation({ code: ErrorCodes.InvalidRequest, message: problem, id, fatal: false });
      return undefined;
    }
    return value as Message;
  }

  private fatal(message: string, code: number = ErrorCodes.ParseError): void {
    this.broken = true;
    this.buffer = Buffer.alloc(0);
    this.onViolation({ code, message, id: null, fatal: true });
  }
}

function parseContentLength(header: string): number | undefined {
  for (const line of header.split('\r\n')) {
    const separator = line.indexOf(':');
    if (separator === -1) continue;
    if (line.slice(0, separator).trim().toLowerCase() === 'content-length') {
      const value = line.slice(separator + 1).trim();
      return /^\d{1,10}$/.test(value) ? Number(value) : undefined;
    }
  }
  return undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function checkMessage(value: unknown): string | undefined {
  if (!isRecord(value)) return 'A JSON-RPC message must be a JSON object (batches are not supported).';
  if (value.jsonrpc !== '2.0') return 'A JSON-RPC message must have "jsonrpc": "2.0".';
  const hasId = typeof value.id === 'number' || typeof value.id === 'string';
  if (typeof value.method === 'string') {
    if (value.id !== undefined && !hasId && value.id !== null) return 'Request id must be a number or a string.';
    if (value.params !== undefined && typeof value.params !== 'object') return 'Params must be an object or an array.';
    return undefined;
  }
  if ((hasId || value.id === null) && ('result' in value || 'error' in value)) return undefined;
  return 'Message is neither a request, a notification nor a response.';
}
