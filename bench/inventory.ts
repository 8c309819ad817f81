/**
 * Inventory and allocation: the cost of one durable `allocate` (choice + ports + insert, fdatasync'ed) with 100 and
 * with 10,000 allocations already on the same server, the port search alone at both sizes (the fsync of the durable
 * write would hide a search that grows with the allocations), and a provider
 * sync of 1,000 servers against the Time4VPS test double on loopback (first sync with every detail fetched, then a
 * sync that changes nothing).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Allocator } from '../daemon/allocation/allocator.js';
import { PortMap } from '../daemon/allocation/ports.js';
import { Inventory } from '../daemon/inventory/inventory.js';
import { ProviderSync } from '../daemon/inventory/sync.js';
import { Time4vpsProvider } from '../daemon/providers/time4vps.js';
import { SettingsService } from '../daemon/settings/settings.js';
import { MIGRATIONS } from '../daemon/store/schema.js';
import { Store } from '../daemon/store/store.js';
import { startFakeTime4vps, makeServers } from '../test/fakes/time4vps.js';
import { MemorySecrets, RecordingNotifier } from '../test/unit/allocationSupport.js';
import { type BenchRow, type BenchSection, formatMs, formatRatio } from './report.js';
import { median, summarize, timeAsync, timeSync } from './stats.js';

const SIZES = [100, 10_000] as const;
const ALLOCATIONS = 1_000;
const WARMUP = 50;
/** The p50 at 10,000 existing allocations may be at most this much above the p50 at 100. */
const MAX_FLATNESS = 1.5;
/** Port searches per timed batch: one search takes well under a microsecond, below the timer's useful resolution. */
const SEARCH_BATCH = 10_000;
const SEARCH_BATCHES = 50;
/** The port search alone is measured in nanoseconds, where a shared machine's noise is larger: a wider bound. */
const MAX_SEARCH_FLATNESS = 2;
const SYNC_SERVERS = 1_000;
const SYNC_RUNS = 3;

async function openStore(folder: string): Promise<Store> {
  return Store.open({ database: path.join(folder, 'zavhoz.db'), journal: path.join(folder, 'zavhoz.journal'), migrations: MIGRATIONS });
}

/** One server with room for everything, `existing` allocations on it (ports 8000 up), then a restart. */
async function prepared(folder: string, existing: number): Promise<{ store: Store; allocator: Allocator }> {
  const setup = await openStore(folder);
  const notifier = new RecordingNotifier();
  const settings = new SettingsService(setup, notifier);
  new Inventory(setup, settings, notifier, new Allocator(setup, notifier), new MemorySecrets(new Map())).add({
    handle: 'bench_1', host: '127.0.0.1', sshPort: 22, sshUser: 'root', labels: [],
  });
  const now = new Date().toISOString();
  setup.transaction((tx) => {
    for (let index = 0; index < existing; index++) {
      tx.run('INSERT INTO allocations (project, module, server, port, ram_mb, created_at) VALUES (?, ?, ?, ?, ?, ?)', [`fill-${index}`, 'app', 'bench_1', 8000 + index, 1, now]);
    }
    tx.run("UPDATE servers SET status = 'in_use', available_ram_mb = 10000000, available_disk_mb = 1000000, reserved_ram_mb = ?, allocation_count = ? WHERE handle = 'bench_1'", [existing, existing]);
  });
  setup.close();
  // A restart, as in the daemon: the allocator rebuilds its port map from the table.
  const store = await openStore(folder);
  return { store, allocator: new Allocator(store, new RecordingNotifier()) };
}

async function allocationRows(): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const p50s: number[] = [];
  for (const size of SIZES) {
    const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'zavhoz-bench-alloc-'));
    try {
      const { store, allocator } = await prepared(folder, size);
      for (let index = 0; index < WARMUP; index++) allocator.allocate({ project: `warm-${index}`, minRamMb: 1, minDiskMb: 0 });
      const samples: number[] = [];
      const started = process.hrtime.bigint();
      for (let index = 0; index < ALLOCATIONS; index++) {
        samples.push(timeSync(() => allocator.allocate({ project: `new-${index}`, minRamMb: 1, minDiskMb: 0 })));
      }
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const summary = summarize(samples);
      p50s.push(summary.p50);
      rows.push(
        { name: `allocate, ${size.toLocaleString('en')} existing: throughput`, value: `${Math.round(ALLOCATIONS / seconds)} /s` },
        { name: `allocate, ${size.toLocaleString('en')} existing: p50 / p99`, value: `${formatMs(summary.p50)} / ${formatMs(summary.p99)}` },
      );
      // The decision alone, without the durable write: an idempotent repeat reads and answers only.
      const repeat = summarize(Array.from({ length: 500 }, (_, index) => timeSync(() => allocator.allocate({ project: `new-${index}`, minRamMb: 1, minDiskMb: 0 }))));
      rows.push({ name: `allocate again (idempotent, no write), ${size.toLocaleString('en')} existing: p50`, value: formatMs(repeat.p50) });
      store.close();
    } finally {
      fs.rmSync(folder, { recursive: true, force: true });
    }
  }
  const [small, large] = p50s;
  if (small !== undefined && large !== undefined) {
    const ratio = large / small;
    rows.push({
      name: 'allocate p50: 10,000 existing vs 100',
      value: formatRatio(ratio),
      ratio,
      goal: `≤ ${MAX_FLATNESS}× (port search does not scan allocations)`,
      ok: ratio <= MAX_FLATNESS,
    });
  }
  return rows;
}

/**
 * The port search by itself, as the allocator runs it on a map rebuilt from the table (ports 8000 up taken, a few
 * more seen listening): time per search and how many candidates it looked at, at each size.
 */
async function portSearchRows(): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const perSearch: number[] = [];
  const steps: number[] = [];
  for (const size of SIZES) {
    const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'zavhoz-bench-ports-'));
    try {
      const { store } = await prepared(folder, size);
      const ports = new PortMap();
      ports.load(store.all<{ server: string; port: number }>('SELECT server, port FROM allocations'));
      store.close();
      const listening = new Set([22, 80, 443, 8000 + size, 8001 + size]);
      const skip = (port: number): boolean => listening.has(port);
      let found = ports.firstFree('bench_1', skip);
      steps.push(ports.lastSearchSteps);
      const samples: number[] = [];
      for (let batch = 0; batch < SEARCH_BATCHES; batch++) {
        samples.push(
          timeSync(() => {
            for (let index = 0; index < SEARCH_BATCH; index++) found = ports.firstFree('bench_1', skip);
          }) / SEARCH_BATCH,
        );
      }
      if (found !== 8002 + size) throw new Error(`port search found ${String(found)}, expected ${8002 + size}`);
      const p50 = summarize(samples).p50;
      perSearch.push(p50);
      rows.push({
        name: `port search (PortMap.firstFree), ${size.toLocaleString('en')} existing: p50 per search, candidates looked at`,
        value: `${(p50 * 1e6).toFixed(0)} ns, ${ports.lastSearchSteps}`,
      });
    } finally {
      fs.rmSync(folder, { recursive: true, force: true });
    }
  }
  const [small, large] = perSearch;
  const [fewSteps, manySteps] = steps;
  if (small !== undefined && large !== undefined && fewSteps !== undefined && manySteps !== undefined) {
    const ratio = large / small;
    rows.push(
      {
        name: 'port search p50: 10,000 existing vs 100',
        value: formatRatio(ratio),
        ratio,
        goal: `≤ ${MAX_SEARCH_FLATNESS}× (a scan of the allocations would be ~100×)`,
        ok: ratio <= MAX_SEARCH_FLATNESS,
      },
      {
        name: 'port search candidates: 10,000 existing vs 100',
        value: `${manySteps} vs ${fewSteps}`,
        goal: 'no more at 10,000',
        ok: manySteps <= fewSteps,
      },
    );
  }
  return rows;
}

async function syncRows(): Promise<BenchRow[]> {
  const login = 'bench-login';
  const password = 'bench-password-value';
  const fake = await startFakeTime4vps({ login, password, servers: makeServers(SYNC_SERVERS) });
  const secrets = new MemorySecrets(new Map([['sec_login', login], ['sec_password', password]]));
  const provider = new Time4vpsProvider({ apiBase: fake.url, loginSecret: 'sec_login', passwordSecret: 'sec_password', secrets });
  const call = { client: 'bench', requestId: 'bench-sync' };
  const first: number[] = [];
  const noop: number[] = [];
  try {
    for (let run = 0; run < SYNC_RUNS; run++) {
      const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'zavhoz-bench-sync-'));
      const store = await openStore(folder);
      try {
        const sync = new ProviderSync(store, () => [], new RecordingNotifier());
        first.push(await timeAsync(() => sync.sync(provider, call)));
        noop.push(await timeAsync(() => sync.sync(provider, call)));
      } finally {
        store.close();
        fs.rmSync(folder, { recursive: true, force: true });
      }
    }
  } finally {
    await fake.stop();
  }
  return [
    { name: `sync ${SYNC_SERVERS.toLocaleString('en')} servers, first (list + ${SYNC_SERVERS} details, one transaction): median of ${SYNC_RUNS}`, value: formatMs(median(first)) },
    { name: `sync ${SYNC_SERVERS.toLocaleString('en')} servers, nothing changed (list only, no write): median of ${SYNC_RUNS}`, value: formatMs(median(noop)) },
  ];
}

/** The inventory section of `npm run bench`. */
export async function benchInventory(): Promise<BenchSection> {
  return { title: 'inventory: allocation and provider sync', rows: [...(await allocationRows()), ...(await portSearchRows()), ...(await syncRows())] };
}
