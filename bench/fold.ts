/**
 * Durable writes while the journal is folded into a snapshot, at 100k rows. Writes arrive at a steady rate (three
 * times the time one takes, so the store is busy a third of the time) and each one's latency counts from its arrival,
 * so a fold that holds the event loop shows up in every write that arrives meanwhile, as it would for clients. The
 * same run measures the fold as the store did it before (synchronously on the daemon's thread) as the comparison.
 * Each variant's rows say how long the writing thread was runnable but waited for a CPU: on a 2-core machine the
 * background fold's worker and V8's helper threads take both cores for a second, and that wait, not the event loop,
 * is what lengthens the writes' tail (measured: ~200 ms of waiting across the loop against ~20 ms with no fold).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { Migration } from '../daemon/store/migrations.js';
import { Store } from '../daemon/store/store.js';
import { type BenchRow, type BenchSection, formatMs, formatRatio } from './report.js';
import { summarize, timeSync } from './stats.js';

const ROWS = 100_000;
const FILL_CHUNK = 10_000;
const CALIBRATION_WRITES = 300;
/**
 * Writes to a freshly opened store before its open loop starts, not counted: its first writes compile their statement
 * and the SQLite code they reach (10–20 ms for the first, falling over ~20 writes), which was ~1.3% of the loop's
 * writes and so the control's p99 on tmpfs, in every variant alike.
 */
const WARM_UP_WRITES = 50;
/** Writes before the fold starts (after the warm-up), and in all. */
const WRITES_BEFORE_FOLD = 300;
const WRITES = 1_500;
/** Issue 17: p99 of a durable write measured across a fold ≤ 5× p50. */
const MAX_P99_RATIO = 5;

const MIGRATION: Migration = {
  version: 1,
  description: 'bench items',
  statements: ['CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL, value TEXT NOT NULL, updated_at TEXT NOT NULL)'],
};
const INSERT = 'INSERT INTO items (name, value, updated_at) VALUES (?, ?, ?)';
const UPDATE = 'UPDATE items SET value = ?, updated_at = ? WHERE id = ?';

function updateParams(index: number): [string, string, number] {
  return [`updated-${index}-`.padEnd(64, 'u'), new Date(Date.UTC(2026, 6, 1) + index * 1000).toISOString(), ((index * 2_654_435_761) % ROWS) + 1];
}

/** The journal bytes one update takes (its line: checksum, space, JSON, newline). */
function recordBytes(index: number): number {
  return 18 + JSON.stringify({ seq: 1_000_000 + index, ops: [[UPDATE, updateParams(index)]] }).length;
}

/**
 * The fold worker the daemon runs (the bundle's), not the TypeScript entry a store from source starts through tsx:
 * that one's start (tsx loading and compiling the sources) is not what the daemon pays. `npm run bench` builds it.
 */
const FOLD_WORKER = path.join(import.meta.dirname, '..', 'dist', 'store-worker.cjs');

function open(folder: string, snapshotAfterBytes = Number.MAX_SAFE_INTEGER): Promise<Store> {
  return Store.open({
    database: path.join(folder, 'zavhoz.db'),
    journal: path.join(folder, 'zavhoz.journal'),
    migrations: [MIGRATION],
    snapshotAfterBytes,
    foldWorkerScript: FOLD_WORKER,
  });
}

/** A folder whose snapshot holds ROWS rows; returns the p50 of a durable update there (closed loop). */
async function prepare(folder: string): Promise<number> {
  const store = await open(folder);
  try {
    for (let start = 0; start < ROWS; start += FILL_CHUNK) {
      store.transaction((tx) => {
        for (let index = start; index < start + FILL_CHUNK; index++) {
          tx.run(INSERT, [`item-${index}`, `value-${index}-`.padEnd(64, 'v'), new Date(Date.UTC(2026, 0, 1) + index * 1000).toISOString()]);
        }
      });
    }
    store.snapshot();
    const samples = Array.from({ length: CALIBRATION_WRITES }, (_, index) => timeSync(() => store.transaction((tx) => tx.run(UPDATE, updateParams(index)))));
    return summarize(samples).p50;
  } finally {
    store.close();
  }
}

/** The warm-up writes (their own rows of updates, after every other the bench makes). */
function warmUp(store: Store): void {
  for (let index = 0; index < WARM_UP_WRITES; index++) store.transaction((tx) => tx.run(UPDATE, updateParams(WARM_UP_FIRST + index)));
}

const WARM_UP_FIRST = CALIBRATION_WRITES + WRITES + 1;

/** Journal bytes of the warm-up writes, which count towards the fold's limit like any others. */
function warmUpBytes(): number {
  let bytes = 0;
  for (let index = 0; index < WARM_UP_WRITES; index++) bytes += recordBytes(WARM_UP_FIRST + index);
  return bytes;
}

/**
 * Milliseconds this thread has spent waiting for a CPU while runnable (Linux's schedstat), or undefined elsewhere: a
 * fold's threads compete with the daemon's for a 2-core machine's CPUs, and what the writes wait for shows here.
 */
function runQueueWait(): number | undefined {
  try {
    return Number(fs.readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[1]) / 1e6;
  } catch {
    return undefined;
  }
}

function sleep(milliseconds: number): Promise<void> {
  return new Promise((resolve) => (milliseconds <= 0 ? setImmediate(resolve) : setTimeout(resolve, milliseconds)));
}

/**
 * WRITES updates arriving every `interval` ms; `atFoldPoint` runs once WRITES_BEFORE_FOLD of them are done. Returns
 * each write's latency from its arrival.
 */
async function openLoop(store: Store, interval: number, atFoldPoint: () => void): Promise<number[]> {
  const latencies: number[] = [];
  const start = performance.now();
  const arrival = (index: number): number => start + index * interval;
  let next = 0;
  while (next < WRITES) {
    const now = performance.now();
    while (next < WRITES && arrival(next) <= now) {
      const params = updateParams(CALIBRATION_WRITES + next);
      store.transaction((tx) => tx.run(UPDATE, params));
      latencies.push(performance.now() - arrival(next));
      next++;
      if (next === WRITES_BEFORE_FOLD) atFoldPoint();
    }
    // Give the event loop a turn (fold steps, worker messages) and wait for the next arrival.
    // Timers wake up to a millisecond late: sleep by timer only when the next arrival is further off than that.
    await sleep(next < WRITES ? Math.floor(arrival(next) - performance.now()) - 1 : 0);
  }
  return latencies;
}

/** Where the store's files go: the temp folder (a real disk), and tmpfs, where fdatasync is nearly free. */
const MEDIA = [
  { name: 'disk', folder: os.tmpdir() },
  { name: 'tmpfs', folder: '/dev/shm' },
] as const;

/**
 * Measures writes across a fold, both ways, on disk and on tmpfs; see the module comment. On a shared disk the
 * fdatasync tail alone can exceed the goal (the control row shows it); tmpfs takes the disk out and leaves what the
 * fold does to the event loop.
 */
export async function benchFold(): Promise<BenchSection[]> {
  if (!fs.existsSync(FOLD_WORKER)) throw new Error(`${FOLD_WORKER} is missing: run node scripts/build.mjs first (npm run bench does)`);
  const sections: BenchSection[] = [];
  for (const medium of MEDIA) {
    if (!fs.existsSync(medium.folder)) continue;
    sections.push(await foldOn(medium.name, medium.folder));
  }
  return sections;
}

async function foldOn(medium: string, parent: string): Promise<BenchSection> {
  const template = fs.mkdtempSync(path.join(parent, 'zavhoz-bench-fold-'));
  const rows: BenchRow[] = [];
  try {
    const p50 = await prepare(template);
    const interval = Math.max(1, 3 * p50);
    rows.push({ name: `durable update @ ${ROWS / 1000}k rows, closed loop: p50 (arrivals every ${formatMs(interval)} below)`, value: formatMs(p50) });

    let floor: number | undefined;
    for (const variant of ['no fold (control)', 'background fold (now)', 'synchronous fold (before)'] as const) {
      const folder = fs.mkdtempSync(path.join(parent, 'zavhoz-bench-fold-run-'));
      try {
        for (const name of fs.readdirSync(template)) fs.copyFileSync(path.join(template, name), path.join(folder, name));
        const background = variant.startsWith('background');
        const control = variant.startsWith('no fold');
        // The background fold starts by itself once the journal passes the limit, after WRITES_BEFORE_FOLD writes.
        let limit = warmUpBytes();
        for (let index = 0; index < WRITES_BEFORE_FOLD; index++) limit += recordBytes(CALIBRATION_WRITES + index);
        const store = await open(folder, background ? limit : Number.MAX_SAFE_INTEGER);
        try {
          warmUp(store);
          let foldBlocked = 0;
          // The longest the event loop could not turn (the writes themselves block it too: the control shows that).
          const loopDelay = monitorEventLoopDelay({ resolution: 1 });
          loopDelay.enable();
          const waitedBefore = runQueueWait();
          const loopStart = performance.now();
          const latencies = await openLoop(store, interval, () => {
            // As the store did before: the fold on the daemon's thread, between two writes.
            if (!background && !control) foldBlocked = timeSync(() => store.snapshot());
          });
          const waitedAfter = runQueueWait();
          const loopTime = performance.now() - loopStart;
          await store.foldSettled();
          loopDelay.disable();
          const longestBlock = loopDelay.max / 1e6;
          const summary = summarize(latencies);
          const ratio = summary.p99 / summary.p50;
          if (control) floor = ratio;
          const held = background || control ? '' : `; the fold held the event loop ${formatMs(foldBlocked)}`;
          rows.push(
            {
              name: `${variant}: p50 / p99 / max latency from arrival (${WRITES} writes)${held}`,
              value: `${formatMs(summary.p50)} / ${formatMs(summary.p99)} / ${formatMs(summary.max)}`,
            },
            { name: `${variant}: longest event-loop block (monitorEventLoopDelay max)`, value: formatMs(longestBlock) },
            ...(waitedBefore === undefined || waitedAfter === undefined
              ? []
              : [{ name: `${variant}: the writing thread runnable but waiting for a CPU (schedstat), of the loop's ${formatMs(loopTime)}`, value: formatMs(waitedAfter - waitedBefore) }]),
            {
              name: `${variant}: p99 / p50${control ? ' (this disk\'s own tail, no fold)' : ''}`,
              value: formatRatio(ratio),
              ratio,
              ...(background ? { baseline: floor === undefined ? undefined : formatRatio(floor), goal: `≤ ${MAX_P99_RATIO}×`, ok: ratio <= MAX_P99_RATIO } : {}),
            },
          );
        } finally {
          store.close();
        }
      } finally {
        fs.rmSync(folder, { recursive: true, force: true });
      }
    }
    rows.push(await foldAloneBlock(template, parent));
  } finally {
    fs.rmSync(template, { recursive: true, force: true });
  }
  return { title: `Durable writes across a journal fold @ ${ROWS / 1000}k rows, store on ${medium} (steady arrivals, latency from arrival)`, rows };
}

/** Folds timed alone; each one's longest block is a sample (a descheduled thread shows as a block too). */
const ALONE_RUNS = 5;

/**
 * The fold's own longest block of the event loop, with nothing else running on it: the writes of the open loop block
 * it too, and on a busy machine their backlog hides the fold's share. The journal gets WRITES_BEFORE_FOLD records, the
 * write that crosses the limit starts the fold, and the loop idles until the fold's snapshot is in place.
 */
async function foldAloneBlock(template: string, parent: string): Promise<BenchRow> {
  const blocks: number[] = [];
  for (let run = 0; run < ALONE_RUNS; run++) blocks.push(await foldAloneOnce(template, parent));
  const summary = summarize(blocks);
  return {
    name: `background fold alone (no writes meanwhile): longest event-loop block, median / max of ${ALONE_RUNS} folds (monitorEventLoopDelay)`,
    value: `${formatMs(summary.p50)} / ${formatMs(summary.max)}`,
  };
}

async function foldAloneOnce(template: string, parent: string): Promise<number> {
  const folder = fs.mkdtempSync(path.join(parent, 'zavhoz-bench-fold-alone-'));
  try {
    for (const name of fs.readdirSync(template)) fs.copyFileSync(path.join(template, name), path.join(folder, name));
    let limit = 0;
    for (let index = 0; index < WRITES_BEFORE_FOLD; index++) limit += recordBytes(CALIBRATION_WRITES + index);
    const store = await open(folder, limit);
    try {
      for (let index = 0; index < WRITES_BEFORE_FOLD - 1; index++) store.transaction((tx) => tx.run(UPDATE, updateParams(CALIBRATION_WRITES + index)));
      const loopDelay = monitorEventLoopDelay({ resolution: 1 });
      loopDelay.enable();
      // Idle turns before, so the histogram has its baseline; then the write that starts the fold (in a later turn).
      await sleep(50);
      store.transaction((tx) => tx.run(UPDATE, updateParams(CALIBRATION_WRITES + WRITES_BEFORE_FOLD)));
      await sleep(5);
      await store.foldSettled();
      await sleep(20);
      loopDelay.disable();
      return loopDelay.max / 1e6;
    } finally {
      store.close();
    }
  } finally {
    fs.rmSync(folder, { recursive: true, force: true });
  }
}
