/**
 * Entry of the store's fold worker (fold.ts): builds the next snapshot from the files it is given, puts it in place
 * (foldJob.ts) and answers whether it did. Bundled on its own as dist/store-worker.cjs.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import { type FoldJob, runFoldJob } from './foldJob.js';

/**
 * The fold worker's niceness (Linux). A fold is hundreds of milliseconds of CPU; on a machine with few cores it took
 * them from the daemon's own thread, and the writes that arrived meanwhile waited (the fold bench's latency from
 * arrival). Lowered, the fold gives way whenever the daemon's thread wants the core, and takes the idle time.
 */
const FOLD_THREAD_NICENESS = 10;

/** Lowers this thread's priority only, not the daemon's: Linux applies a thread id given to setpriority to that thread. */
function lowerThisThreadsPriority(): void {
  if (process.platform !== 'linux') return;
  try {
    // /proc/thread-self links to /proc/<pid>/task/<thread id>.
    const thread = Number(path.basename(fs.readlinkSync('/proc/thread-self')));
    if (Number.isInteger(thread) && thread > 0 && thread !== process.pid) os.setPriority(thread, FOLD_THREAD_NICENESS);
  } catch {
    // Without it the fold still runs, at the daemon's priority.
  }
}

lowerThisThreadsPriority();
void runFoldJob(workerData as FoldJob).then((answer) => parentPort?.postMessage(answer));
