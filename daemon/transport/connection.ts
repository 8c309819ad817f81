import type { Socket } from 'node:net';
import { type MessageConnection, ResponseError, SocketMessageWriter, createMessageConnection } from 'vscode-jsonrpc/node';
import { MAX_MESSAGE_BYTES } from '../protocol/lifecycle.js';
import { FramedMessageReader, type ProtocolViolation } from './framedReader.js';

/**
 * Wraps a socket in a JSON-RPC connection with the size cap and bad-input answers of {@link FramedMessageReader}.
 * Both the daemon and its clients use this, so both sides enforce the same limits.
 */
export function connectionOverSocket(socket: Socket, maxMessageBytes = MAX_MESSAGE_BYTES): MessageConnection {
  const writer = new SocketMessageWriter(socket, 'utf-8');
  const answer = (violation: ProtocolViolation): void => {
    const error = new ResponseError(violation.code, violation.message).toJson();
    void writer.write({ jsonrpc: '2.0', id: violation.id, error } as never).finally(() => {
      if (violation.fatal) socket.end();
    });
  };
  const reader = new FramedMessageReader(socket, maxMessageBytes, answer);
  return createMessageConnection(reader, writer);
}
