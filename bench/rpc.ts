/**
 * (a) JSON-RPC round trip: `daemon/ping` through a real daemon process and a DaemonClient, against the same message
 * sent to a bare newline-delimited JSON echo server over a Unix socket. Sequential requests, one in flight.
 */
import { DaemonPing } from '../daemon/protocol/lifecycle.js';
import { startTestDaemon } from '../test/harness/daemon.js';
import { startEchoServer } from './echo.js';
import { type BenchSection, formatMs, ratioRow } from './report.js';
import { sideBySide, summarize, timeAsync } from './stats.js';

/** How many sequential requests are timed, after how many untimed ones. */
const REQUESTS = 2_000;
const WARMUP = 200;
/** Round-trip goal for p50 from the issue: under half a millisecond. */
const P50_GOAL_MS = 0.5;

/** Measures the round trip; see the module comment. */
export async function benchRpc(): Promise<BenchSection> {
  const payload = 'zavhoz-bench-'.padEnd(128, 'x');
  const daemon = await startTestDaemon();
  const echo = await startEchoServer();
  try {
    const client = await daemon.connect('bench');
    const raw = await echo.connect();
    let id = 0;
    try {
      const { ours, baseline } = await sideBySide(
        {
          ours: () => timeAsync(() => client.request(DaemonPing, { payload })),
          // The same wire message the DaemonClient sends, request id included, minus the Content-Length framing.
          baseline: () =>
            timeAsync(() =>
              raw.request({ jsonrpc: '2.0', id: ++id, method: DaemonPing.method, params: { payload, _requestId: `bench-${id}` } }),
            ),
        },
        { count: REQUESTS, warmup: WARMUP },
      );
      const daemonStats = summarize(ours);
      const echoStats = summarize(baseline);
      return {
        title: `JSON-RPC round trip: daemon/ping vs raw NDJSON echo (${REQUESTS} sequential, ${WARMUP} warm-up)`,
        rows: [
          { ...ratioRow('p50', daemonStats.p50, echoStats.p50), goal: `p50 < ${P50_GOAL_MS} ms`, ok: daemonStats.p50 < P50_GOAL_MS },
          ratioRow('p99', daemonStats.p99, echoStats.p99),
          ratioRow('mean', daemonStats.mean, echoStats.mean),
          { name: 'max', value: formatMs(daemonStats.max), baseline: formatMs(echoStats.max) },
        ],
      };
    } finally {
      client.close();
      raw.close();
    }
  } finally {
    await echo.stop();
    await daemon.dispose();
  }
}
