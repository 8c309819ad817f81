import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { removeIfExists, syncFolder } from '../core/files.js';
import { abandonFold, type FoldAnswer, type FoldJob, type FoldState, foldWorkerGone, newFoldState, nextJournalOf } from './foldJob.js';
import { Journal } from './journal.js';
import { compiledSqlWasm, foldOutputOf, foldingJournalOf } from './snapshotFile.js';

interface RunningFold {
  readonly worker: Worker;
  readonly state: FoldState;
  readonly done: Promise<void>;
  abandoned: boolean;
}

/**
 * The worker's script: `script` when given (the fold benchmark runs the store from source with the built worker,
 * as the daemon does), else the bundle's own (dist/store-worker.cjs, beside dist/daemon.cjs) or, running from source
 * (tests), the TypeScript entry, imported once tsx is registered in the worker. Node 20 does not apply an
 * `--import tsx` given in the worker's execArgv to its entry (ERR_UNKNOWN_FILE_EXTENSION): every fold from source
 * failed and fell back to a synchronous snapshot on the daemon's thread, which the fold benchmark then measured.
 */
function startWorker(job: FoldJob, script: string | undefined): Worker {
  if (script !== undefined) return new Worker(script, { workerData: job });
  const bundled = new URL('./store-worker.cjs', import.meta.url);
  if (fs.existsSync(fileURLToPath(bundled))) return new Worker(bundled, { workerData: job });
  // tsx's ESM API (its package exports it as dist/esm/api/index.mjs beside the CommonJS index.cjs that require finds).
  const tsxCommonJs = createRequire(import.meta.url).resolve('tsx/esm/api');
  const tsx = pathToFileURL(path.join(path.dirname(tsxCommonJs), 'index.mjs')).href;
  const entry = new URL('./foldWorker.ts', import.meta.url).href;
  const bootstrap = `import(${JSON.stringify(tsx)}).then((api) => { api.register(); return import(${JSON.stringify(entry)}); })`;
  return new Worker(bootstrap, { eval: true, workerData: job });
}

/** The files a fold works on, and the worker script to run (see startWorker). */
export interface FoldFiles {
  readonly database: string;
  readonly journal: string;
  readonly workerScript?: string | undefined;
}

/**
 * Folds the journal into a new snapshot without blocking the daemon's thread. Exporting a 100k-row database took
 * 15–85 ms of the event loop, and every write waited behind it. Here this thread only renames the journal aside
 * (`<journal>.folding`) and puts a new one in its place (the one the last fold's worker prepared, if any), which
 * costs two renames and a folder sync; a worker builds the snapshot from the files (last snapshot + the renamed
 * journal, exactly what a start would replay), syncs it, renames it into place and drops the renamed journal
 * (foldJob.ts). A crash at any point leaves files a start reads correctly: records already in the snapshot are
 * skipped by sequence.
 */
export class BackgroundFold {
  private current: RunningFold | undefined;
  private outputs = 0;

  constructor(private readonly files: FoldFiles) {}

  /** True while a worker is building a snapshot. */
  get running(): boolean {
    return this.current !== undefined;
  }

  /**
   * Renames `journal` aside and starts the worker; returns the new, empty journal to append to (if this throws,
   * `journal` is still the one to use). `seq` is the last sequence in the renamed journal: the snapshot must hold
   * exactly that. `onSettled` runs after a fold that was not abandoned ends, told whether its snapshot is in place.
   */
  start(journal: Journal, seq: number, onSettled: (installed: boolean) => void): Journal {
    const folder = path.dirname(this.files.journal);
    const folding = foldingJournalOf(this.files.journal);
    // The open journal keeps working under its new name until the new one is in place; any failure puts it back.
    fs.renameSync(this.files.journal, folding);
    const output = foldOutputOf(this.files.database, `${process.pid}.${++this.outputs}`);
    const state = newFoldState();
    const job: FoldJob = { database: this.files.database, journals: [folding], output, journal: this.files.journal, folding, seq, state, sqlWasm: compiledSqlWasm() };
    let fresh: Journal | undefined;
    let worker: Worker;
    try {
      takePreparedJournal(this.files.journal);
      fresh = Journal.open(this.files.journal).journal;
      syncFolder(folder);
      // Before the open journal is closed: a worker that cannot start (`new Worker` throws) leaves it the one to use.
      worker = startWorker(job, this.files.workerScript);
    } catch (error) {
      fresh?.close();
      fs.renameSync(folding, this.files.journal);
      throw error;
    }
    journal.close();
    worker.unref();
    let finish: () => void = () => undefined;
    const running: RunningFold = { worker, state, abandoned: false, done: new Promise<void>((resolve) => (finish = resolve)) };
    this.current = running;
    let settled = false;
    const settle = (answer: FoldAnswer): void => {
      if (settled) return;
      settled = true;
      if (this.current === running) this.current = undefined;
      // The worker removes its output itself, unless it died first.
      if (!answer.ok) removeIfExists(output);
      finish();
      if (!running.abandoned) onSettled(answer.ok);
    };
    worker.once('message', (answer: FoldAnswer) => settle(answer));
    worker.once('error', () => {
      foldWorkerGone(state);
      settle({ ok: false });
    });
    // A last message may still be on its way when 'exit' fires: let it arrive first.
    worker.once('exit', () => {
      foldWorkerGone(state);
      setImmediate(() => settle({ ok: false }));
    });
    return fresh;
  }

  /**
   * Gives up the running fold (a full snapshot is being written instead). If its worker is putting its snapshot in
   * place right now, this waits for that to end, so the caller's snapshot is the one that stays.
   */
  abandon(): void {
    const running = this.current;
    if (!running) return;
    running.abandoned = true;
    this.current = undefined;
    abandonFold(running.state);
    void running.worker.terminate();
  }

  /** Resolves once no fold is running. */
  async settled(): Promise<void> {
    while (this.current) await this.current.done;
  }
}

/** Puts the journal the last fold's worker prepared in place of the active one's name, if there is one. */
function takePreparedJournal(journal: string): void {
  try {
    fs.renameSync(nextJournalOf(journal), journal);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}
