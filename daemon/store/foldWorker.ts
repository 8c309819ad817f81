/**
 * Entry of the store's fold worker (fold.ts): builds the next snapshot from the files it is given and answers with
 * the sequence it holds. Bundled on its own as dist/store-worker.cjs.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { type FoldRequest, writeFoldedSnapshot } from './snapshotFile.js';

writeFoldedSnapshot(workerData as FoldRequest).then(
  ({ seq, checksum }) => parentPort?.postMessage({ ok: true, seq, checksum }),
  (error: unknown) => parentPort?.postMessage({ ok: false, message: error instanceof Error ? error.message : String(error) }),
);
