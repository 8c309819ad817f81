import type { Duplex } from 'node:stream';
import { type MessageConnection, ResponseError, StreamMessageWriter, createMessageConnection } from 'vscode-jsonrpc/node';
import { MAX_MESSAGE_BYTES } from '../protocol/lifecycle.js';
import { FramedMessageReader, type ProtocolViolation } from './framedReader.js';

/**
 * Wraps a socket (or any duplex stream, e.g. an in-memory pair in tests) in a JSON-RPC connection with the size
 * cap and bad-input answers of {@link FramedMessageReader}. The daemon and its clients both use this, so both
 * sides enforce the same limits.
 */
export function connectionOverStream(stream: Duplex, maxMessageBytes = MAX_MESSAGE_BYTES): MessageConnection {
  const writer = new StreamMessageWriter(stream, 'utf-8');
  const answer = (violation: ProtocolViolation): void => {
    const error = new ResponseError(violation.code, violation.message).toJson();
    void writer.write({ jsonrpc: '2.0', id: violation.id, error } as never).finally(() => {
      if (violation.fatal) stream.end();
    });
  };
  const reader = new FramedMessageReader(stream, maxMessageBytes, answer);
  return createMessageConnection(reader, writer);
}
