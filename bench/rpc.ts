/**
 * (a) JSON-RPC round trip: `daemon/ping` through a real daemon process and a DaemonClient, against the same request
 * to a bare vscode-jsonrpc server (the library alone: what our handshake, validation, redaction and logging cost),
 * and to a bare newline-delimited JSON echo server (the socket alone). Sequential requests, one in flight.
 */
import net from 'node:net';
import { createMessageConnection, type MessageConnection, RequestType, SocketMessageReader, SocketMessageWriter } from 'vscode-jsonrpc/node';
import { DaemonPing } from '../daemon/protocol/lifecycle.js';
import { startTestDaemon } from '../test/harness/daemon.js';
import { JSONRPC_ECHO_SCRIPT, startEchoServer } from './echo.js';
import { type BenchSection, formatMs, ratioRow } from './report.js';
import { interleaved, summarize, timeAsync } from './stats.js';

/** How many sequential requests are timed, after how many untimed ones. */
const REQUESTS = 2_000;
const WARMUP = 200;
/** Round-trip goal for p50 from the issue: under half a millisecond. */
const P50_GOAL_MS = 0.5;
/** Daemon / bare vscode-jsonrpc p50, at most (issue 17). */
const MAX_OVER_JSONRPC = 1.5;

/** A vscode-jsonrpc client connection over the Unix socket at `socketPath`. */
async function connectJsonRpc(socketPath: string): Promise<{ connection: MessageConnection; socket: net.Socket }> {
  const socket = net.createConnection(socketPath);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  const connection = createMessageConnection(new SocketMessageReader(socket), new SocketMessageWriter(socket));
  connection.listen();
  return { connection, socket };
}

/** Measures the round trip; see the module comment. */
export async function benchRpc(): Promise<BenchSection> {
  const payload = 'zavhoz-bench-'.padEnd(128, 'x');
  const daemon = await startTestDaemon();
  const echo = await startEchoServer();
  const bare = await startEchoServer(undefined, JSONRPC_ECHO_SCRIPT);
  try {
    const client = await daemon.connect('bench');
    const raw = await echo.connect();
    const library = await connectJsonRpc(bare.socketPath);
    const ping = new RequestType<{ payload: string; _requestId: string }, { payload?: string }, void>(DaemonPing.method);
    let id = 0;
    try {
      const [ours = [], jsonrpc = [], ndjson = []] = await interleaved(
        [
          () => timeAsync(() => client.request(DaemonPing, { payload })),
          // The same request, request id included, to vscode-jsonrpc alone.
          () => timeAsync(() => library.connection.sendRequest(ping, { payload, _requestId: `bench-${++id}` })),
          // The same wire message, minus the Content-Length framing, to a plain socket echo.
          () =>
            timeAsync(() =>
              raw.request({ jsonrpc: '2.0', id: ++id, method: DaemonPing.method, params: { payload, _requestId: `bench-${id}` } }),
            ),
        ],
        { count: REQUESTS, warmup: WARMUP },
      );
      const daemonStats = summarize(ours);
      const libraryStats = summarize(jsonrpc);
      const echoStats = summarize(ndjson);
      return {
        title: `JSON-RPC round trip: daemon/ping vs bare vscode-jsonrpc and a raw NDJSON echo (${REQUESTS} sequential, ${WARMUP} warm-up)`,
        rows: [
          { ...ratioRow('p50 vs bare vscode-jsonrpc', daemonStats.p50, libraryStats.p50, MAX_OVER_JSONRPC) },
          { ...ratioRow('p50 vs raw NDJSON echo', daemonStats.p50, echoStats.p50), goal: `p50 < ${P50_GOAL_MS} ms`, ok: daemonStats.p50 < P50_GOAL_MS },
          ratioRow('p99 vs bare vscode-jsonrpc', daemonStats.p99, libraryStats.p99),
          ratioRow('mean vs bare vscode-jsonrpc', daemonStats.mean, libraryStats.mean),
          { name: 'max (ours / bare vscode-jsonrpc)', value: formatMs(daemonStats.max), baseline: formatMs(libraryStats.max) },
        ],
      };
    } finally {
      client.close();
      raw.close();
      library.connection.dispose();
      library.socket.destroy();
    }
  } finally {
    await echo.stop();
    await bare.stop();
    await daemon.dispose();
  }
}
