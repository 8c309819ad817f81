/**
 * Entry of the store's fold worker (fold.ts): builds the next snapshot from the files it is given, puts it in place
 * (foldJob.ts) and answers whether it did. Bundled on its own as dist/store-worker.cjs.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { type FoldJob, runFoldJob } from './foldJob.js';

void runFoldJob(workerData as FoldJob).then((answer) => parentPort?.postMessage(answer));
