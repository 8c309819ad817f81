/** Loopback helpers shared by the harness and the tests. */
import { createServer } from 'node:net';

/**
 * A port of 127.0.0.1 that is free right now, from the kernel. Whoever binds it a moment later can lose it to another
 * process: callers that start a server on it retry on EADDRINUSE.
 */
export function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => (address !== null && typeof address === 'object' ? resolve(address.port) : reject(new Error('could not read the port of a probe server'))));
    });
  });
}
