import type { Duplex } from 'node:stream';
import { type MessageConnection, ResponseError, StreamMessageWriter, createMessageConnection } from 'vscode-jsonrpc/node';
import { MAX_MESSAGE_BYTES } from '../protocol/lifecycle.js';
import { FramedMessageReader, type ProtocolViolation } from './framedReader.js';
import { encodeJson } from './json.js';

/** What a caller may want to hear about besides messages. */
export interface ConnectionHooks {
  /** Called once when the peer sent something that made this side close the connection (e.g. an oversize message). */
  readonly onFatalViolation?: (violation: ProtocolViolation) => void;
}

/** A JSON-RPC connection that can say when the messages handed to it so far have been written to its stream. */
export interface FlushableConnection extends MessageConnection {
  /**
   * Resolves once every message given to the connection's writer until now is written to the stream (or failed to
   * be). An answer is handed to the writer a few microtasks after its handler returned or threw, so whoever wants
   * to close right after an answer waits a macrotask (`setImmediate`) first, then for this.
   */
  flushed(): Promise<void>;
}

/** vscode-jsonrpc's stream writer, which also keeps the promise of its last write (it writes one message at a time). */
class FlushableWriter extends StreamMessageWriter {
  private last: Promise<void> = Promise.resolve();

  override write(message: Parameters<StreamMessageWriter['write']>[0]): Promise<void> {
    const written = super.write(message);
    this.last = written.catch(() => undefined);
    return written;
  }

  flushed(): Promise<void> {
    return this.last;
  }
}

/**
 * Wraps a socket (or any duplex stream, e.g. an in-memory pair in tests) in a JSON-RPC connection with the size
 * cap and bad-input answers of {@link FramedMessageReader}. The daemon and its clients both use this, so both
 * sides enforce the same limits. Writing to a stream that has ended or broken never throws or rejects unhandled
 * here: the connection's close tells its owner what happened.
 */
export function connectionOverStream(stream: Duplex, maxMessageBytes = MAX_MESSAGE_BYTES, hooks: ConnectionHooks = {}): FlushableConnection {
  // vscode-jsonrpc's own encoder, but a page (or answer) already encoded is not encoded again.
  const writer = new FlushableWriter(stream, {
    charset: 'utf-8',
    contentTypeEncoder: { name: 'application/json', encode: (message, options) => Promise.resolve(Buffer.from(encodeJson(message), options.charset)) },
  });
  // A peer that vanishes mid-write makes the socket emit EPIPE/ECONNRESET; the reader reports the close.
  stream.on('error', () => undefined);
  const answer = (violation: ProtocolViolation): void => {
    if (violation.fatal) hooks.onFatalViolation?.(violation);
    if (!stream.writable) return;
    const error = new ResponseError(violation.code, violation.message).toJson();
    writer
      .write({ jsonrpc: '2.0', id: violation.id, error } as never)
      .catch(() => undefined)
      .finally(() => {
        if (violation.fatal && stream.writable) stream.end();
      });
  };
  const reader = new FramedMessageReader(stream, maxMessageBytes, answer);
  return Object.assign(createMessageConnection(reader, writer), { flushed: () => writer.flushed() });
}
