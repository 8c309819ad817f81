/**
 * (b) Durable write cost: one single-row transaction through our Store (sql.js + fdatasync'ed journal) against the
 * same transaction through better-sqlite3 in WAL mode with `synchronous=FULL`, both on files in the same folder, at
 * 100, 10,000 and 100,000 existing rows. Also the cost of folding the journal into a snapshot at the largest size.
 */
import Database from 'better-sqlite3';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Migration } from '../daemon/store/migrations.js';
import { type SqlValue, Store } from '../daemon/store/store.js';
import { type BenchRow, type BenchSection, formatRatio, ratioRow } from './report.js';
import { interleaved, median, summarize, timeSync } from './stats.js';

/** Row counts the write cost is measured at. */
const SIZES = [100, 10_000, 100_000] as const;
/** The size the journal fold is measured at. */
const LARGEST = SIZES[2];
const WRITES = 2_000;
const WARMUP = 200;
/** Goals from the issue: within 2× of the baseline at every size, and flat as the database grows. */
const MAX_RATIO = 2;
const MAX_FLATNESS = 1.5;
const FOLDS = 5;

/** The bench's own schema: a table shaped like the product's (integer key, a name, a value, a time). */
const ITEMS_MIGRATION: Migration = {
  version: 1,
  description: 'bench items',
  statements: ['CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL, value TEXT NOT NULL, updated_at TEXT NOT NULL)'],
};
const CREATE_ITEMS = ITEMS_MIGRATION.statements[0] ?? '';
const INSERT = 'INSERT INTO items (name, value, updated_at) VALUES (?, ?, ?)';
const UPDATE = 'UPDATE items SET value = ?, updated_at = ? WHERE id = ?';
const FILL_CHUNK = 10_000;

/** Parameters of the `index`-th inserted row: deterministic, so both stores do identical work. */
function insertParams(index: number): [string, string, string] {
  return [`item-${index}`, `value-${index}-`.padEnd(64, 'v'), new Date(Date.UTC(2026, 0, 1) + index * 1000).toISOString()];
}

/** Parameters of the `index`-th update of a table with `size` rows: a pseudo-random existing row. */
function updateParams(index: number, size: number): [string, string, number] {
  const id = ((index * 2_654_435_761) % size) + 1;
  return [`updated-${index}-`.padEnd(64, 'u'), new Date(Date.UTC(2026, 6, 1) + index * 1000).toISOString(), id];
}

/** Both stores, filled to the same row count. */
interface Contenders {
  readonly ours: Store;
  readonly baseline: Database.Database;
  readonly baselineInsert: (params: readonly SqlValue[]) => void;
  readonly baselineUpdate: (params: readonly SqlValue[]) => void;
  readonly folder: string;
  close(): void;
}

async function openContenders(size: number): Promise<Contenders> {
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'zavhoz-bench-store-'));
  fs.chmodSync(folder, 0o700);
  const ours = await Store.open({
    database: path.join(folder, 'zavhoz.db'),
    journal: path.join(folder, 'zavhoz.journal'),
    migrations: [ITEMS_MIGRATION],
  });
  const baseline = new Database(path.join(folder, 'baseline.sqlite'));
  baseline.pragma('journal_mode = WAL');
  baseline.pragma('synchronous = FULL');
  baseline.exec(CREATE_ITEMS);
  const insert = baseline.prepare(INSERT);
  const update = baseline.prepare(UPDATE);
  const baselineInsert = baseline.transaction((params: readonly SqlValue[]) => void insert.run(...params));
  const baselineUpdate = baseline.transaction((params: readonly SqlValue[]) => void update.run(...params));

  // Fill both (untimed), in chunks so no single journal record is huge, then fold our journal into the snapshot
  // so the timed writes start from the steady state of a store of this size.
  for (let start = 0; start < size; start += FILL_CHUNK) {
    const end = Math.min(size, start + FILL_CHUNK);
    ours.transaction((tx) => {
      for (let index = start; index < end; index++) tx.run(INSERT, insertParams(index));
    });
    baseline.transaction(() => {
      for (let index = start; index < end; index++) insert.run(...insertParams(index));
    })();
  }
  ours.snapshot();
  baseline.pragma('wal_checkpoint(TRUNCATE)');
  return {
    ours,
    baseline,
    baselineInsert,
    baselineUpdate,
    folder,
    close() {
      ours.close();
      baseline.close();
      fs.rmSync(folder, { recursive: true, force: true });
    },
  };
}

/** Samples of one kind of write at one size, for both stores, in milliseconds. */
interface Samples {
  readonly ours: number[];
  readonly baseline: number[];
}

/** Timings of one size. */
interface SizeResult {
  readonly size: number;
  readonly insert: Samples;
  readonly update: Samples;
}

/**
 * Times inserts, then updates, on every size at once: the six contenders (ours and the baseline at each size) take
 * turns in blocks, so a change in the machine's background load hits every size alike and flatness stays readable.
 */
async function measureSizes(all: readonly Contenders[]): Promise<SizeResult[]> {
  const insertContenders = all.flatMap((contenders, position) => {
    let oursNext = SIZES[position] ?? 0;
    let baselineNext = oursNext;
    return [
      () => timeSync(() => contenders.ours.transaction((tx) => tx.run(INSERT, insertParams(oursNext++)))),
      () => timeSync(() => contenders.baselineInsert(insertParams(baselineNext++))),
    ];
  });
  const updateContenders = all.flatMap((contenders, position) => {
    const size = SIZES[position] ?? 1;
    let oursNext = 0;
    let baselineNext = 0;
    return [
      () => timeSync(() => contenders.ours.transaction((tx) => tx.run(UPDATE, updateParams(oursNext++, size)))),
      () => timeSync(() => contenders.baselineUpdate(updateParams(baselineNext++, size))),
    ];
  });
  const inserts = await interleaved(insertContenders, { count: WRITES, warmup: WARMUP });
  const updates = await interleaved(updateContenders, { count: WRITES, warmup: WARMUP });
  return all.map((_contenders, position) => ({
    size: SIZES[position] ?? 0,
    insert: { ours: inserts[2 * position] ?? [], baseline: inserts[2 * position + 1] ?? [] },
    update: { ours: updates[2 * position] ?? [], baseline: updates[2 * position + 1] ?? [] },
  }));
}

/**
 * The fold rewrites the whole database; the baseline's nearest equivalent is a WAL checkpoint of the same writes.
 * Both happen off the acknowledging path, but ours blocks the daemon's event loop while it runs.
 */
function measureFold(contenders: Contenders, size: number): { ours: number[]; baseline: number[]; snapshotBytes: number } {
  const fold = { ours: [] as number[], baseline: [] as number[], snapshotBytes: 0 };
  for (let round = 0; round < FOLDS; round++) {
    for (let index = 0; index < 100; index++) {
      const params = updateParams(WRITES + round * 100 + index, size);
      contenders.ours.transaction((tx) => tx.run(UPDATE, params));
      contenders.baselineUpdate(params);
    }
    fold.ours.push(timeSync(() => contenders.ours.snapshot()));
    fold.baseline.push(timeSync(() => contenders.baseline.pragma('wal_checkpoint(TRUNCATE)')));
  }
  fold.snapshotBytes = fs.statSync(path.join(contenders.folder, 'zavhoz.db')).size;
  return fold;
}

function sizeLabel(size: number): string {
  return size >= 1000 ? `${size / 1000}k` : String(size);
}

/** Measures durable writes; see the module comment. */
export async function benchStore(): Promise<BenchSection> {
  const all: Contenders[] = [];
  let results: SizeResult[];
  let fold: ReturnType<typeof measureFold> | undefined;
  try {
    for (const size of SIZES) all.push(await openContenders(size));
    results = await measureSizes(all);
    const largest = all.at(-1);
    if (largest) fold = measureFold(largest, LARGEST);
  } finally {
    for (const contenders of all) contenders.close();
  }

  const rows: BenchRow[] = [];
  for (const kind of ['insert', 'update'] as const) {
    for (const result of results) {
      const ours = summarize(result[kind].ours);
      const baseline = summarize(result[kind].baseline);
      rows.push(ratioRow(`${kind} @ ${sizeLabel(result.size)} rows p50`, ours.p50, baseline.p50, MAX_RATIO));
      rows.push(ratioRow(`${kind} @ ${sizeLabel(result.size)} rows p99`, ours.p99, baseline.p99));
    }
    const first = results[0];
    const last = results.at(-1);
    if (first && last) {
      const flatness = summarize(last[kind].ours).p50 / summarize(first[kind].ours).p50;
      const baselineFlatness = summarize(last[kind].baseline).p50 / summarize(first[kind].baseline).p50;
      rows.push({
        name: `${kind} flatness: p50 @ ${sizeLabel(last.size)} / p50 @ ${sizeLabel(first.size)}`,
        value: formatRatio(flatness),
        baseline: formatRatio(baselineFlatness),
        ratio: flatness,
        goal: `ratio ≤ ${MAX_FLATNESS}×`,
        ok: flatness <= MAX_FLATNESS,
      });
    }
  }
  if (fold) {
    const label = sizeLabel(LARGEST);
    rows.push(ratioRow(`snapshot fold @ ${label} rows (median of ${FOLDS}; baseline: WAL checkpoint)`, median(fold.ours), median(fold.baseline)));
    rows.push({ name: `snapshot file @ ${label} rows`, value: `${(fold.snapshotBytes / 1024 / 1024).toFixed(1)} MiB` });
  }
  return { title: `Durable write: Store (sql.js + journal) vs better-sqlite3 WAL synchronous=FULL (${WRITES} single-row transactions, ${WARMUP} warm-up)`, rows };
}
