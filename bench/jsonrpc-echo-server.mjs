// Baseline for the RPC bench: a bare vscode-jsonrpc server on a Unix socket that answers `daemon/ping` with its
// payload and does nothing else (no handshake, validation, redaction or logging). Prints "ready" once it listens.
// Usage: node bench/jsonrpc-echo-server.mjs SOCKET_PATH
import net from 'node:net';
import { createMessageConnection, SocketMessageReader, SocketMessageWriter } from 'vscode-jsonrpc/node';

const socketPath = process.argv[2];
const server = net.createServer((socket) => {
  const connection = createMessageConnection(new SocketMessageReader(socket), new SocketMessageWriter(socket));
  connection.onRequest('daemon/ping', (params) => ({ payload: params?.payload }));
  socket.on('close', () => connection.dispose());
  connection.listen();
});
server.listen(socketPath, () => console.log('ready'));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
