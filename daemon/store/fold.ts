import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { removeIfExists, syncFolder } from '../core/files.js';
import { Journal } from './journal.js';
import { type FoldRequest, foldOutputOf, foldingJournalOf, keepPrevious, recordSnapshotChecksum } from './snapshotFile.js';

/** What the fold worker answers. */
interface FoldAnswer {
  readonly ok: boolean;
  readonly seq?: number;
  readonly checksum?: string;
}

interface RunningFold {
  readonly worker: Worker;
  readonly done: Promise<void>;
  abandoned: boolean;
}

/**
 * The worker: the bundle's own script (dist/store-worker.cjs, beside dist/daemon.cjs) or, running from source
 * (tests, the benchmark), the TypeScript entry, imported once tsx is registered in the worker. Node 20 does not apply
 * an `--import tsx` given in the worker's execArgv to its entry (ERR_UNKNOWN_FILE_EXTENSION): every fold from source
 * failed and fell back to a synchronous snapshot on the daemon's thread, which the fold benchmark then measured.
 */
function startWorker(request: FoldRequest): Worker {
  const bundled = new URL('./store-worker.cjs', import.meta.url);
  if (fs.existsSync(fileURLToPath(bundled))) return new Worker(bundled, { workerData: request });
  // tsx's ESM API (its package exports it as dist/esm/api/index.mjs beside the CommonJS index.cjs that require finds).
  const tsxCommonJs = createRequire(import.meta.url).resolve('tsx/esm/api');
  const tsx = pathToFileURL(path.join(path.dirname(tsxCommonJs), 'index.mjs')).href;
  const entry = new URL('./foldWorker.ts', import.meta.url).href;
  const bootstrap = `import(${JSON.stringify(tsx)}).then((api) => { api.register(); return import(${JSON.stringify(entry)}); })`;
  return new Worker(bootstrap, { eval: true, workerData: request });
}

/**
 * Folds the journal into a new snapshot without blocking the daemon's thread. Exporting a 100k-row database took
 * 15–85 ms of the event loop, and every write waited behind it. Here this thread only renames the journal aside
 * (`<journal>.folding`) and starts a new one, which costs a rename and a folder sync; a worker builds the snapshot
 * from the files (last snapshot + the renamed journal, exactly what a start would replay) and syncs it; this thread
 * then renames it into place and drops the renamed journal. A crash at any point leaves files a start reads
 * correctly: records already in the snapshot are skipped by sequence.
 */
export class BackgroundFold {
  private current: RunningFold | undefined;
  private outputs = 0;

  constructor(private readonly files: { readonly database: string; readonly journal: string }) {}

  /** True while a worker is building a snapshot. */
  get running(): boolean {
    return this.current !== undefined;
  }

  /**
   * Renames `journal` aside and starts the worker; returns the new, empty journal to append to (if this throws,
   * `journal` is still the one to use). `seq` is the last
   * sequence in the renamed journal: the snapshot must hold exactly that. `onSettled` runs after a fold that was
   * not abandoned ends, told whether its snapshot is in place.
   */
  start(journal: Journal, seq: number, onSettled: (installed: boolean) => void): Journal {
    const folder = path.dirname(this.files.journal);
    const folding = foldingJournalOf(this.files.journal);
    // The open journal keeps working under its new name until the new one is in place; any failure puts it back.
    fs.renameSync(this.files.journal, folding);
    let fresh: Journal;
    try {
      fresh = Journal.open(this.files.journal).journal;
      syncFolder(folder);
    } catch (error) {
      fs.renameSync(folding, this.files.journal);
      throw error;
    }
    journal.close();

    const output = foldOutputOf(this.files.database, `${process.pid}.${++this.outputs}`);
    const request: FoldRequest = { database: this.files.database, journals: [folding], output };
    const worker = startWorker(request);
    worker.unref();
    let finish: () => void = () => undefined;
    const running: RunningFold = { worker, abandoned: false, done: new Promise<void>((resolve) => (finish = resolve)) };
    this.current = running;
    let settled = false;
    const settle = (answer: FoldAnswer): void => {
      if (settled) return;
      settled = true;
      if (this.current === running) this.current = undefined;
      const installed = !running.abandoned && answer.ok && answer.seq === seq;
      if (installed) {
        keepPrevious(this.files.database);
        fs.renameSync(output, this.files.database);
        syncFolder(folder);
        if (answer.checksum) recordSnapshotChecksum(this.files.database, answer.checksum);
        // Once the snapshot is in place the renamed journal only holds records it has; a crash before this unlink
        // leaves them to be skipped by sequence.
        removeIfExists(folding);
      } else {
        removeIfExists(output);
      }
      finish();
      if (!running.abandoned) onSettled(installed);
    };
    worker.once('message', (answer: FoldAnswer) => settle(answer));
    worker.once('error', () => settle({ ok: false }));
    // A last message may still be on its way when 'exit' fires: let it arrive first.
    worker.once('exit', () => setImmediate(() => settle({ ok: false })));
    return fresh;
  }

  /** Gives up the running fold (a full snapshot is being written instead); its output is removed. */
  abandon(): void {
    const running = this.current;
    if (!running) return;
    running.abandoned = true;
    this.current = undefined;
    void running.worker.terminate();
  }

  /** Resolves once no fold is running. */
  async settled(): Promise<void> {
    while (this.current) await this.current.done;
  }
}
