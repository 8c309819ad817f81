// @ts-check
// The round-trip baseline: the least a JSON server on a Unix socket can do. It reads newline-delimited JSON-RPC
// requests, parses each, and answers `{ id, result: params }` as one line. Plain JavaScript on purpose: it starts
// with bare `node` (no tsx), so it is also the floor for the cold-start comparison.
// Usage: node bench/echo-server.mjs <socket path>; prints "ready" once listening.
import fs from 'node:fs';
import net from 'node:net';

const socketPath = process.argv[2];
if (!socketPath) {
  process.stderr.write('usage: node bench/echo-server.mjs <socket path>\n');
  process.exit(2);
}
fs.rmSync(socketPath, { force: true });

const server = net.createServer((socket) => {
  let pending = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk) => {
    pending += chunk;
    for (let end = pending.indexOf('\n'); end !== -1; end = pending.indexOf('\n')) {
      const line = pending.slice(0, end);
      pending = pending.slice(end + 1);
      const request = JSON.parse(line);
      socket.write(`${JSON.stringify({ jsonrpc: '2.0', id: request.id, result: request.params })}\n`);
    }
  });
  socket.on('error', () => undefined);
});
server.listen(socketPath, () => process.stdout.write('ready\n'));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
