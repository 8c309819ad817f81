/**
 * Where the time of one durable write goes: the real Store transaction, with the journal's two system calls timed
 * from outside (by wrapping `fs.writeSync` and `fs.fdatasyncSync` for the duration of the measurement), so the
 * rest (sql.js, JSON encoding, sha256) is what remains. Next to it: the better-sqlite3 transaction, and a bare
 * append + fdatasync — the floor any journal design pays on this disk — on a growing file and on a pre-zeroed
 * one (appending changes the file size, which makes ext4 commit metadata on every fdatasync).
 */
import Database from 'better-sqlite3';
import crypto from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import initSqlJs from 'sql.js';
import type { Migration } from '../daemon/store/migrations.js';
import { Store } from '../daemon/store/store.js';
import { type BenchRow, type BenchSection, formatMs } from './report.js';
import { elapsedMs, summarize, timeSync } from './stats.js';

const WRITES = 2_000;
const WARMUP = 200;
const ROWS = 10_000;
const LINE_BYTES = 200;

const ITEMS: Migration = {
  version: 1,
  description: 'bench items',
  statements: ['CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL, value TEXT NOT NULL, updated_at TEXT NOT NULL)'],
};
const INSERT = 'INSERT INTO items (name, value, updated_at) VALUES (?, ?, ?)';

function insertParams(index: number): [string, string, string] {
  return [`item-${index}`, `value-${index}-`.padEnd(64, 'v'), new Date(Date.UTC(2026, 0, 1) + index * 1000).toISOString()];
}

/** The same work as journal.ts does to encode one record (JSON, sha256 checksum, bytes). */
function encodeLikeJournal(seq: number, params: readonly string[]): Buffer {
  const json = JSON.stringify({ seq, ops: [[INSERT, params]] });
  const checksum = crypto.createHash('sha256').update(json).digest('hex').slice(0, 16);
  return Buffer.from(`${checksum} ${json}\n`);
}

/** Time spent inside the wrapped system calls since the last reset, in milliseconds. */
interface SyscallClock {
  write: number;
  fdatasync: number;
  restore(): void;
}

/** Wraps fs.writeSync and fs.fdatasyncSync (which the journal calls through the shared `fs` module object). */
function clockSyscalls(): SyscallClock {
  const mutableFs = fs as unknown as { writeSync: (...args: unknown[]) => number; fdatasyncSync: (fd: number) => void };
  const originalWrite = mutableFs.writeSync;
  const originalSync = mutableFs.fdatasyncSync;
  const clock: SyscallClock = {
    write: 0,
    fdatasync: 0,
    restore() {
      mutableFs.writeSync = originalWrite;
      mutableFs.fdatasyncSync = originalSync;
    },
  };
  mutableFs.writeSync = (...args: unknown[]): number => {
    const started = process.hrtime.bigint();
    try {
      return Reflect.apply(originalWrite, fs, args);
    } finally {
      clock.write += elapsedMs(started);
    }
  };
  mutableFs.fdatasyncSync = (fd: number): void => {
    const started = process.hrtime.bigint();
    try {
      originalSync.call(fs, fd);
    } finally {
      clock.fdatasync += elapsedMs(started);
    }
  };
  return clock;
}

/** Times `count` appends (or overwrites, if the file is pre-zeroed) of one line, each followed by fdatasync. */
function bareAppends(file: string, preZeroed: boolean, count: number): number[] {
  const fd = fs.openSync(file, 'w', 0o600);
  try {
    if (preZeroed) {
      fs.writeSync(fd, Buffer.alloc((count + WARMUP) * LINE_BYTES));
      fs.fsyncSync(fd);
    }
    const line = Buffer.alloc(LINE_BYTES, 'j');
    let position = 0;
    const samples: number[] = [];
    for (let index = 0; index < count + WARMUP; index++) {
      const sample = timeSync(() => {
        fs.writeSync(fd, line, 0, line.length, position);
        fs.fdatasyncSync(fd);
      });
      position += line.length;
      if (index >= WARMUP) samples.push(sample);
    }
    return samples;
  } finally {
    fs.closeSync(fd);
  }
}

/** Breaks one durable write down; see the module comment. */
export async function benchStoreProfile(): Promise<BenchSection> {
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'zavhoz-bench-profile-'));
  fs.chmodSync(folder, 0o700);
  const store = await Store.open({ database: path.join(folder, 'zavhoz.db'), journal: path.join(folder, 'zavhoz.journal'), migrations: [ITEMS] });
  const baseline = new Database(path.join(folder, 'baseline.sqlite'));
  try {
    baseline.pragma('journal_mode = WAL');
    baseline.pragma('synchronous = FULL');
    baseline.exec(ITEMS.statements[0] ?? '');
    const insert = baseline.prepare(INSERT);
    const baselineInsert = baseline.transaction((params: readonly string[]) => void insert.run(...params));
    store.transaction((tx) => {
      for (let index = 0; index < ROWS; index++) tx.run(INSERT, insertParams(index));
    });
    baseline.transaction(() => {
      for (let index = 0; index < ROWS; index++) insert.run(...insertParams(index));
    })();
    store.snapshot();
    // A second sql.js database doing the Store's statements alone, to split "the rest" into its parts.
    const SQL = await initSqlJs({ locateFile: () => createRequire(import.meta.url).resolve('sql.js/dist/sql-wasm.wasm') });
    const replica = new SQL.Database();
    replica.run(ITEMS.statements[0] ?? '');
    const replicaInsert = replica.prepare(INSERT);
    const sqlOnly: number[] = [];
    const encodeOnly: number[] = [];

    const totals: number[] = [];
    const fdatasyncs: number[] = [];
    const writes: number[] = [];
    const rest: number[] = [];
    const baselineTotals: number[] = [];
    const clock = clockSyscalls();
    try {
      for (let index = 0; index < WRITES + WARMUP; index++) {
        clock.write = 0;
        clock.fdatasync = 0;
        const params = insertParams(ROWS + index);
        const total = timeSync(() => store.transaction((tx) => tx.run(INSERT, params)));
        const write = clock.write;
        const fdatasync = clock.fdatasync;
        // Outside the wrapped calls: better-sqlite3 syncs in native code, so the wrappers do not see it.
        const baselineTotal = timeSync(() => baselineInsert(params));
        // Right after an fdatasync, like inside the Store: caches are as cold as they are there.
        const sql = timeSync(() => {
          replica.run('BEGIN');
          replicaInsert.run(params);
          replica.getRowsModified();
          replica.run('COMMIT');
        });
        const encode = timeSync(() => encodeLikeJournal(ROWS + index, params));
        if (index < WARMUP) continue;
        sqlOnly.push(sql);
        encodeOnly.push(encode);
        totals.push(total);
        fdatasyncs.push(fdatasync);
        writes.push(write);
        rest.push(total - write - fdatasync);
        baselineTotals.push(baselineTotal);
      }
    } finally {
      clock.restore();
      replicaInsert.free();
      replica.close();
    }
    const growing = summarize(bareAppends(path.join(folder, 'growing.bin'), false, WRITES));
    const preZeroed = summarize(bareAppends(path.join(folder, 'prezeroed.bin'), true, WRITES));

    const total = summarize(totals);
    const share = (name: string, samples: number[]): BenchRow => {
      const p50 = summarize(samples).p50;
      return { name: `${name} p50 (ratio: share of ours)`, value: formatMs(p50), ratio: p50 / total.p50 };
    };
    const baselineStats = summarize(baselineTotals);
    return {
      title: `Durable write breakdown @ ${ROWS / 1000}k rows, INSERT (${WRITES} transactions, alternating ours / baseline)`,
      rows: [
        { name: 'Store.transaction total p50 (baseline: better-sqlite3)', value: formatMs(total.p50), baseline: formatMs(baselineStats.p50), ratio: total.p50 / baselineStats.p50 },
        share('of which fdatasync', fdatasyncs),
        share('of which write()', writes),
        share('of which the rest (sql.js, JSON, sha256)', rest),
        share('  ≈ sql.js BEGIN + INSERT + COMMIT (replica)', sqlOnly),
        share('  ≈ JSON + sha256 record encoding (replica)', encodeOnly),
        { name: 'better-sqlite3 total minus bare append+fdatasync p50', value: formatMs(baselineStats.p50 - growing.p50) },
        { name: `bare ${LINE_BYTES}-byte append + fdatasync p50 (baseline: pre-zeroed file)`, value: formatMs(growing.p50), baseline: formatMs(preZeroed.p50), ratio: growing.p50 / preZeroed.p50 },
        { name: 'same, p99', value: formatMs(growing.p99), baseline: formatMs(preZeroed.p99), ratio: growing.p99 / preZeroed.p99 },
      ],
    };
  } finally {
    store.close();
    baseline.close();
    fs.rmSync(folder, { recursive: true, force: true });
  }
}
