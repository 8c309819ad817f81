/**
 * (c) Daemon cold start: from spawning `dist/daemon.cjs` to the first answered request (`initialize`, then
 * `daemon/status`), in a fresh data folder, with 100k rows in the snapshot, and with 100k rows plus a full journal
 * still to replay (the state after a crash just before a fold). Baseline: spawning the bare echo server and getting
 * its first answer, i.e. what starting any Node process that serves a socket costs here.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { dataPaths } from '../daemon/core/paths.js';
import { DaemonStatus } from '../daemon/protocol/lifecycle.js';
import { MIGRATIONS } from '../daemon/store/schema.js';
import { snapshotChecksumOf } from '../daemon/store/snapshotFile.js';
import { Store } from '../daemon/store/store.js';
import { startTestDaemon } from '../test/harness/daemon.js';
import { startEchoServer } from './echo.js';
import { type BenchSection, formatMs, formatRatio, ratioRow } from './report.js';
import { elapsedMs, median } from './stats.js';

const RUNS = 10;
/** Issue 17: a cold start (empty folder, and 100k rows) within 2× of the bare echo server's, in the same run. */
const MAX_START_RATIO = 2;
/** Replaying a full journal takes seconds: a few runs show its cost well enough. */
const REPLAY_RUNS = 3;
const ROWS = 100_000;
/** The store folds its journal into a snapshot past 4 MiB (Store's default): the most a start can replay. */
const JOURNAL_BYTES = 4 * 1024 * 1024;

const INSERT_AUDIT = 'INSERT INTO audit_log (at, client, request_id, action, subject, detail) VALUES (?, ?, ?, ?, ?, ?)';

function auditParams(index: number): string[] {
  return [
    new Date(Date.UTC(2026, 0, 1) + index * 1000).toISOString(),
    'bench',
    `bench-${index.toString(16).padStart(10, '0')}`,
    'settings.set',
    `settings/key-${index % 500}`,
    JSON.stringify({ note: `row ${index}` }),
  ];
}

function privateFolder(prefix: string): string {
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  fs.chmodSync(folder, 0o700);
  return folder;
}

/** Store files to start from: `snapshot` has ROWS audit rows folded in; `replay` adds a full journal on top. */
interface Templates {
  readonly snapshot: string;
  readonly replay: string;
  readonly journalRecords: number;
}

/** Builds both templates with the product's own schema (untimed). */
async function prepareTemplates(root: string): Promise<Templates> {
  const work = path.join(root, 'work');
  fs.mkdirSync(work, { mode: 0o700 });
  const files = dataPaths(work);
  const store = await Store.open({
    database: files.database,
    journal: files.journal,
    migrations: MIGRATIONS,
    snapshotAfterBytes: Number.MAX_SAFE_INTEGER,
  });
  try {
    for (let start = 0; start < ROWS; start += 10_000) {
      store.transaction((tx) => {
        for (let index = start; index < start + 10_000; index++) tx.run(INSERT_AUDIT, auditParams(index));
      });
    }
    store.snapshot();
    const snapshot = path.join(root, 'snapshot');
    fs.mkdirSync(snapshot, { mode: 0o700 });
    // With the checksum the store records beside each snapshot, as a real data folder has it.
    fs.copyFileSync(files.database, path.join(snapshot, 'zavhoz.db'));
    fs.copyFileSync(snapshotChecksumOf(files.database), path.join(snapshot, path.basename(snapshotChecksumOf(files.database))));

    // Single-row transactions, like the daemon's real writes, until the journal is as long as it ever gets.
    let journalRecords = 0;
    while (fs.statSync(files.journal).size < JOURNAL_BYTES) {
      for (let index = 0; index < 1_000; index++, journalRecords++) {
        store.transaction((tx) => tx.run(INSERT_AUDIT, auditParams(ROWS + journalRecords)));
      }
    }
    const replay = path.join(root, 'replay');
    fs.mkdirSync(replay, { mode: 0o700 });
    fs.copyFileSync(files.database, path.join(replay, 'zavhoz.db'));
    fs.copyFileSync(snapshotChecksumOf(files.database), path.join(replay, path.basename(snapshotChecksumOf(files.database))));
    fs.copyFileSync(files.journal, path.join(replay, 'zavhoz.journal'));
    return { snapshot, replay, journalRecords };
  } finally {
    store.close();
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/** One cold start: total (spawn → status answered), the part after the daemon said it was ready, and its CPU time. */
interface StartTiming {
  readonly total: number;
  readonly afterReady: number;
  readonly cpu: number | undefined;
}

/**
 * The CPU time (ms, every thread still alive, Linux only) a process has used so far. On a machine that other work
 * keeps busy, wall times stretch with the load and the ratio to the baseline with them; CPU time stretches much less,
 * so these rows show how far the daemon's own work is from the goal.
 */
function cpuMilliseconds(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const tasks = fs.readdirSync(`/proc/${pid}/task`);
    let nanoseconds = 0;
    for (const task of tasks) nanoseconds += Number(fs.readFileSync(`/proc/${pid}/task/${task}/schedstat`, 'utf8').split(' ')[0]);
    return Number.isFinite(nanoseconds) ? nanoseconds / 1e6 : undefined;
  } catch {
    return undefined;
  }
}

/** Starts a daemon on a copy of `template` (or an empty folder), asks for its status, stops it. */
async function coldStart(template: string | undefined): Promise<StartTiming> {
  const home = privateFolder('zavhoz-bench-start-');
  if (template) for (const name of fs.readdirSync(template)) fs.copyFileSync(path.join(template, name), path.join(home, name));
  const started = process.hrtime.bigint();
  const daemon = await startTestDaemon({ home });
  try {
    const ready = process.hrtime.bigint();
    const client = await daemon.connect('bench');
    await client.request(DaemonStatus, {});
    const total = elapsedMs(started);
    const afterReady = elapsedMs(ready);
    const cpu = cpuMilliseconds(daemon.pid());
    client.close();
    return { total, afterReady, cpu };
  } finally {
    await daemon.dispose();
  }
}

/** The baseline: spawn the bare echo server, connect, one answered line (wall and CPU time). */
async function echoStart(): Promise<{ total: number; cpu: number | undefined }> {
  const home = privateFolder('zavhoz-bench-start-');
  const started = process.hrtime.bigint();
  const echo = await startEchoServer(home);
  try {
    const client = await echo.connect();
    await client.request({ jsonrpc: '2.0', id: 1, method: DaemonStatus.method, params: {} });
    const total = elapsedMs(started);
    const cpu = cpuMilliseconds(echo.pid);
    client.close();
    return { total, cpu };
  } finally {
    await echo.stop();
    fs.rmSync(home, { recursive: true, force: true });
  }
}

/** The CPU row of a variant (no goal: the goal is on wall time), when the platform tells CPU times. */
function cpuRow(name: string, runs: readonly StartTiming[], baselineCpu: readonly number[]): ReturnType<typeof ratioRow>[] {
  const cpu = runs.flatMap((run) => (run.cpu === undefined ? [] : [run.cpu]));
  if (cpu.length === 0 || baselineCpu.length === 0) return [];
  return [ratioRow(`${name}: CPU time spawn → status (all threads)`, median(cpu), median(baselineCpu))];
}

/** Measures cold starts; see the module comment. */
export async function benchStartup(): Promise<BenchSection> {
  const root = privateFolder('zavhoz-bench-templates-');
  try {
    const templates = await prepareTemplates(root);
    const variants = [
      { name: 'empty folder', template: undefined, count: RUNS, goal: true, runs: [] as StartTiming[] },
      { name: `${ROWS / 1000}k rows in snapshot`, template: templates.snapshot, count: RUNS, goal: true, runs: [] as StartTiming[] },
      {
        name: `${ROWS / 1000}k rows + ${templates.journalRecords} journal records to replay (${REPLAY_RUNS} runs)`,
        template: templates.replay,
        count: REPLAY_RUNS,
        goal: false,
        runs: [] as StartTiming[],
      },
    ];
    const baseline: number[] = [];
    const baselineCpu: number[] = [];
    // One untimed round warms the page cache for node, the bundle and the WASM; then the variants take turns.
    for (let round = 0; round <= RUNS; round++) {
      const echo = await echoStart();
      if (round > 0) {
        baseline.push(echo.total);
        if (echo.cpu !== undefined) baselineCpu.push(echo.cpu);
      }
      for (const variant of variants) {
        // The slow variant needs no warm-up round of its own: the others have warmed the same files.
        if (variant.runs.length >= variant.count || (round === 0 && variant.count < RUNS)) continue;
        const timing = await coldStart(variant.template);
        if (round > 0) variant.runs.push(timing);
      }
    }
    const baselineMedian = median(baseline);
    const emptyMedian = median(variants[0]?.runs.map((run) => run.total) ?? []);
    const rows = variants.flatMap((variant) => {
      const total = median(variant.runs.map((run) => run.total));
      return [
        ratioRow(`${variant.name}: spawn → status`, total, baselineMedian, variant.goal ? MAX_START_RATIO : undefined),
        {
          name: `${variant.name}: of which after ready (connect, initialize, status)`,
          value: formatMs(median(variant.runs.map((run) => run.afterReady))),
        },
        ...(variant.template ? [{ name: `${variant.name}: vs empty folder`, value: formatRatio(total / emptyMedian), ratio: total / emptyMedian }] : []),
        ...cpuRow(variant.name, variant.runs, baselineCpu),
      ];
    });
    return { title: `Daemon cold start (median of ${RUNS}; baseline: bare Node echo server spawn → first answer)`, rows };
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}
