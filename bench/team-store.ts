/**
 * The team store (PostgreSQL 15 on loopback, fsync on, started by the test harness) against the embedded store
 * (sql.js + fdatasync'ed journal) in the same run: the p50 of a durable transaction round trip, one single-row write
 * and one shaped like an allocation (read the server, insert the allocation, update the server's counters). The
 * issue's goal for allocation is ≤ 3× the embedded store. Also allocations per second from 4 daemons' pools at once.
 * The embedded store is called through its synchronous API here (the asynchronous Database adapter adds one
 * resolved promise). The daemon's Allocator is measured too, on both stores: on PostgreSQL it takes the allocation
 * lock and reads the chosen server's ports afresh, what keeps members' daemons from handing out one port twice.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Allocator } from '../daemon/allocation/allocator.js';
import type { Notifier } from '../daemon/core/notifier.js';
import { EmbeddedDatabase } from '../daemon/store/embedded.js';
import { PostgresDatabase } from '../daemon/store/postgres/database.js';
import { MIGRATIONS } from '../daemon/store/schema.js';
import { Store } from '../daemon/store/store.js';
import { startPostgres } from '../test/harness/postgres.js';
import { removeFolder } from '../test/harness/processes.js';
import { type BenchRow, type BenchSection, ratioRow } from './report.js';
import { interleaved, summarize, timeAsync, timeSync } from './stats.js';

const COUNT = 600;
const WARMUP = 60;
/** The goal: allocation on PostgreSQL within 3× of the embedded store. */
const MAX_RATIO = 3;
const CONCURRENT_MEMBERS = 4;
const CONCURRENT_EACH = 250;

const INSERT_AUDIT = 'INSERT INTO audit_log (at, client, request_id, action, subject, detail) VALUES (?, ?, ?, ?, ?, ?)';
const READ_SERVER = 'SELECT * FROM servers WHERE handle = ?';
const INSERT_ALLOCATION = 'INSERT INTO allocations (project, module, server, port, ram_mb, created_at) VALUES (?, ?, ?, ?, ?, ?)';
const UPDATE_SERVER = 'UPDATE servers SET reserved_ram_mb = reserved_ram_mb + ?, allocation_count = allocation_count + ?, updated_at = ? WHERE handle = ?';
const ROOMY_SERVERS = 'UPDATE servers SET available_ram_mb = 1000000000, available_disk_mb = 1000000';
/** The allocator's notifications go nowhere here. */
const SILENT: Notifier = { notify: () => undefined };
const INSERT_SERVER =
  "INSERT INTO servers (handle, name, host, ssh_port, ssh_user, status, created_at, updated_at) VALUES (?, ?, '127.0.0.1', 22, 'root', 'ready', ?, ?)";

function auditParams(index: number): [string, string, string, string, string, string] {
  return [new Date().toISOString(), 'bench', `req-${index}`, 'bench-write', `subject-${index % 97}`, '{}'];
}

function allocationParams(index: number, server: string): [string, string, string, number, number, string] {
  return [`bench-${index}`, 'app', server, 10_000 + index, 64, new Date().toISOString()];
}

/** Servers (one per member) to allocate on, in the store given. */
function seedServers(count: number): [string, string, string, string][] {
  const now = new Date().toISOString();
  return Array.from({ length: count }, (_, index) => [`srv_bench${index}`, `bench ${index}`, now, now]);
}

export async function benchTeamStore(): Promise<BenchSection> {
  const server = await startPostgres();
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'zavhoz-bench-team-'));
  const stores: PostgresDatabase[] = [];
  let embedded: Store | undefined;
  try {
    const login = await server.createDatabase('zavhoz_bench');
    const { password, ...where } = login;
    const open = async (): Promise<PostgresDatabase> => {
      const store = await PostgresDatabase.open({ connection: { ...where, password: () => Promise.resolve(password) }, migrations: MIGRATIONS });
      stores.push(store);
      return store;
    };
    const team = await open();
    const local = await Store.open({ database: path.join(folder, 'zavhoz.db'), journal: path.join(folder, 'zavhoz.journal'), migrations: MIGRATIONS });
    embedded = local;
    const servers = seedServers(CONCURRENT_MEMBERS);
    await team.transaction(async (tx) => {
      for (const row of servers) await tx.run(INSERT_SERVER, row);
    });
    local.transaction((tx) => {
      for (const row of servers) tx.run(INSERT_SERVER, row);
    });

    let teamWrites = 0;
    let localWrites = 0;
    const [teamWrite, localWrite] = await interleaved(
      [
        () => timeAsync(() => team.transaction((tx) => tx.run(INSERT_AUDIT, auditParams(teamWrites++)))),
        () => timeSync(() => local.transaction((tx) => tx.run(INSERT_AUDIT, auditParams(localWrites++)))),
      ],
      { count: COUNT, warmup: WARMUP },
    );
    let teamAllocations = 0;
    let localAllocations = 0;
    const [teamAllocation, localAllocation] = await interleaved(
      [
        () =>
          timeAsync(() =>
            team.transaction(async (tx) => {
              const index = teamAllocations++;
              await tx.get(READ_SERVER, ['srv_bench0']);
              await tx.run(INSERT_ALLOCATION, allocationParams(index, 'srv_bench0'));
              await tx.run(UPDATE_SERVER, [64, 1, new Date().toISOString(), 'srv_bench0']);
            }),
          ),
        () =>
          timeSync(() =>
            local.transaction((tx) => {
              const index = localAllocations++;
              tx.get(READ_SERVER, ['srv_bench0']);
              tx.run(INSERT_ALLOCATION, allocationParams(index, 'srv_bench0'));
              tx.run(UPDATE_SERVER, [64, 1, new Date().toISOString(), 'srv_bench0']);
            }),
          ),
      ],
      { count: COUNT, warmup: WARMUP },
    );

    // The daemon's own Allocator (the allocation lock, and on PostgreSQL the server's ports read afresh each time).
    await team.transaction((tx) => tx.run(ROOMY_SERVERS));
    local.transaction((tx) => tx.run(ROOMY_SERVERS));
    const teamAllocator = new Allocator(team, SILENT);
    const localAllocator = new Allocator(EmbeddedDatabase.of(local), SILENT);
    let realTeam = 0;
    let realLocal = 0;
    const [teamReal, localReal] = await interleaved(
      [
        () => timeAsync(() => teamAllocator.allocate({ project: `real-team-${realTeam++}`, minRamMb: 1, minDiskMb: 0 })),
        () => timeAsync(() => localAllocator.allocate({ project: `real-local-${realLocal++}`, minRamMb: 1, minDiskMb: 0 })),
      ],
      { count: COUNT, warmup: WARMUP },
    );

    // 4 daemons (one pool each) allocating at once, each on its own server.
    const members = [team, ...(await Promise.all(Array.from({ length: CONCURRENT_MEMBERS - 1 }, open)))];
    const started = Date.now();
    await Promise.all(
      members.map(async (member, position) => {
        const handle = `srv_bench${position}`;
        for (let index = 0; index < CONCURRENT_EACH; index++) {
          await member.transaction(async (tx) => {
            await tx.get(READ_SERVER, [handle]);
            await tx.run(INSERT_ALLOCATION, allocationParams(100_000 + position * CONCURRENT_EACH + index, handle));
            await tx.run(UPDATE_SERVER, [64, 1, new Date().toISOString(), handle]);
          });
        }
      }),
    );
    const seconds = (Date.now() - started) / 1000;
    const perSecond = (CONCURRENT_MEMBERS * CONCURRENT_EACH) / seconds;

    // 4 daemons' Allocators at once, all choosing among the same servers: the lock makes them take turns.
    const allocators = members.map((member) => new Allocator(member, SILENT));
    const realStarted = Date.now();
    const handed = await Promise.all(
      allocators.map((allocator, position) =>
        Promise.all(Array.from({ length: CONCURRENT_EACH }, (_, index) => allocator.allocate({ project: `four-${position}-${index}`, minRamMb: 1, minDiskMb: 0 }))),
      ),
    );
    const realPerSecond = (CONCURRENT_MEMBERS * CONCURRENT_EACH) / ((Date.now() - realStarted) / 1000);
    const pairs = new Set(handed.flat().flatMap((result) => result.allocations.map((allocation) => `${allocation.server}:${allocation.port}`)));
    if (pairs.size !== CONCURRENT_MEMBERS * CONCURRENT_EACH) throw new Error(`4 daemons' allocators handed out ${CONCURRENT_MEMBERS * CONCURRENT_EACH - pairs.size} duplicate ports`);

    const write = { team: summarize(teamWrite ?? []), local: summarize(localWrite ?? []) };
    const allocation = { team: summarize(teamAllocation ?? []), local: summarize(localAllocation ?? []) };
    const real = { team: summarize(teamReal ?? []), local: summarize(localReal ?? []) };
    const rows: BenchRow[] = [
      ratioRow('Allocator.allocate p50 (PostgreSQL vs embedded)', real.team.p50, real.local.p50, MAX_RATIO),
      ratioRow('Allocator.allocate p99', real.team.p99, real.local.p99),
      ratioRow('allocation-shaped transaction p50 (PostgreSQL vs embedded)', allocation.team.p50, allocation.local.p50, MAX_RATIO),
      ratioRow('allocation-shaped transaction p99', allocation.team.p99, allocation.local.p99),
      ratioRow('single-row transaction p50', write.team.p50, write.local.p50),
      ratioRow('single-row transaction p99', write.team.p99, write.local.p99),
      { name: `allocation-shaped transactions per second, ${CONCURRENT_MEMBERS} daemons at once (${CONCURRENT_MEMBERS * CONCURRENT_EACH} in all)`, value: perSecond.toFixed(0) },
      { name: `Allocator.allocate per second, ${CONCURRENT_MEMBERS} daemons at once on shared servers (${CONCURRENT_MEMBERS * CONCURRENT_EACH}, no duplicate port)`, value: realPerSecond.toFixed(0) },
    ];
    return { title: 'team store: PostgreSQL 15 on loopback vs the embedded store', rows };
  } finally {
    for (const store of stores) await store.close().catch(() => undefined);
    embedded?.close();
    removeFolder(folder);
    await server.stop();
  }
}
