/**
 * The loopback HTTP server the notification test doubles share: records each accepted POST, and answers the next
 * ones with faults queued by the test (a 429 with Retry-After, a 5xx, a 4xx), as the real services do.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request the receiver took (status 2xx). */
export interface ReceivedRequest {
  readonly path: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
}

/** A fault to answer one request with, instead of accepting it. */
export interface Fault {
  readonly status: number;
  /** Seconds, sent as `Retry-After` (and as the body's `parameters.retry_after` where the service does that). */
  readonly retryAfter?: number;
  readonly body?: string;
}

/** A running receiver. */
export interface HttpReceiver {
  readonly url: string;
  /** Requests accepted so far, in order. */
  readonly accepted: ReceivedRequest[];
  /** Every request that arrived, faults included. */
  readonly arrived: ReceivedRequest[];
  /** Answers the next requests with these faults, one each. */
  fail(...faults: Fault[]): void;
  /** Drops the faults still queued: the next requests are judged as usual. */
  recover(): void;
  /** Resolves once `count` requests were accepted (rejects after `timeoutMs`). */
  waitForAccepted(count: number, timeoutMs?: number): Promise<ReceivedRequest[]>;
  stop(): Promise<void>;
}

/** Starts a receiver; `judge` answers a request's own refusal (a wrong token, a bad signature) or undefined to accept. */
export async function startHttpReceiver(judge: (request: ReceivedRequest) => Fault | undefined, accepted: (request: ReceivedRequest) => string): Promise<HttpReceiver> {
  const faults: Fault[] = [];
  const state = { accepted: [] as ReceivedRequest[], arrived: [] as ReceivedRequest[] };
  const waiters: (() => void)[] = [];
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const received: ReceivedRequest = { path: request.url ?? '/', headers: request.headers, body: Buffer.concat(chunks).toString('utf8') };
      state.arrived.push(received);
      const fault = request.method === 'POST' ? (faults.shift() ?? judge(received)) : { status: 405 };
      if (fault) {
        response.writeHead(fault.status, { 'content-type': 'application/json', ...(fault.retryAfter === undefined ? {} : { 'retry-after': String(fault.retryAfter) }) });
        response.end(fault.body ?? JSON.stringify({ ok: false, error_code: fault.status, ...(fault.retryAfter === undefined ? {} : { parameters: { retry_after: fault.retryAfter } }) }));
        return;
      }
      state.accepted.push(received);
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(accepted(received));
      for (const wake of waiters.splice(0)) wake();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    accepted: state.accepted,
    arrived: state.arrived,
    fail: (...more) => faults.push(...more),
    recover: () => faults.splice(0),
    async waitForAccepted(count, timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      while (state.accepted.length < count) {
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`expected ${count} accepted request(s), got ${state.accepted.length} (arrived: ${state.arrived.length})`);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, Math.min(left, 1000));
          waiters.push(() => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
      return state.accepted.slice(0, count);
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
