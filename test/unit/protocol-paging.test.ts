/**
 * Paging and the size limits over in-memory stream pairs, as protocol-connection.test.ts does: the daemon's real
 * session, router and list handlers over a real store; a client that pages while rows are added sees every row
 * that was there once and none twice; answers over the message limit are refused by the daemon and survived by
 * the client; a lost connection is one clear error.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { z } from 'zod';
import { DaemonClient, DaemonConnectionLostError } from '../../daemon/client/client.js';
import { Logger } from '../../daemon/core/logger.js';
import type { Notifier } from '../../daemon/core/notifier.js';
import type { ConnectionNotifier } from '../../daemon/deploy/runLog.js';
import { dataPaths } from '../../daemon/core/paths.js';
import { Redactor } from '../../daemon/core/redactor.js';
import { registerHandlers } from '../../daemon/handlers/index.js';
import { PAGE_BYTES } from '../../daemon/handlers/paging.js';
import { defineRequest, result } from '../../daemon/protocol/define.js';
import {
  AllocationsAllocate,
  AllocationsList,
  ErrorCodes,
  Initialize,
  MAX_MESSAGE_BYTES,
  type NotificationDefinition,
  PROTOCOL_VERSION,
  ServersAdd,
  ServersList,
  ServicesStatus,
} from '../../daemon/protocol/index.js';
import { Router } from '../../daemon/server/router.js';
import { Session } from '../../daemon/server/session.js';
import { MIGRATIONS } from '../../daemon/store/schema.js';
import { Store } from '../../daemon/store/store.js';
import { connectionOverStream } from '../../daemon/transport/connection.js';
import { wireServices } from '../../daemon/wiring/index.js';
import { streamPair } from './streamPair.js';
import { EmbeddedDatabase } from '../../daemon/store/embedded.js';

const TOKEN = 'p'.repeat(64);


/** A request no client sends, registered only here: it answers a result of the asked size. */
const Oversize = defineRequest('test/oversize', z.strictObject({ bytes: z.number().int() }), result<{ readonly filler: string }>());

interface Stack {
  connect(): Promise<DaemonClient>;
  /** Marks servers ready, as a check over SSH would (these have no SSH server behind them). */
  markReady(handles: readonly string[]): void;
  close(): void;
}

async function buildStack(folder: string): Promise<Stack> {
  const paths = dataPaths(folder);
  const redactor = new Redactor();
  const logger = new Logger({ file: paths.log, redactor });
  const store = await Store.open({ database: paths.database, journal: paths.journal, migrations: MIGRATIONS });
  const router = new Router(redactor, logger.child({ component: 'rpc' }));
  const sessions = new Set<Session>();
  const notifier: Notifier & ConnectionNotifier & { subscribeLog(): void } = {
    notify<P>(definition: NotificationDefinition<P>, params: P) {
      for (const session of sessions) session.notify(definition, params);
    },
    notifyConnection: () => false,
    subscribeLog: () => undefined,
  };
  const stoppers: (() => unknown)[] = [];
  const services = await wireServices({
    paths,
    store: EmbeddedDatabase.of(store),
    redactor,
    logger,
    log: logger.child({ component: 'daemon' }),
    server: notifier,
    lifecycle: { onShutdown: (stop) => stoppers.push(stop), requestShutdown: () => undefined },
    environment: { ZAVHOZ_VAULT: 'file', ZAVHOZ_MASTER_KEY: 'protocol-paging test master key, long enough' },
  });
  registerHandlers(router, services);
  router.handle(Oversize, (params) => ({ filler: 'x'.repeat(params.bytes) }));
  let nextId = 1;
  return {
    async connect() {
      const [clientEnd, daemonEnd] = streamPair();
      const session = new Session(daemonEnd, nextId++, {
        router,
        token: TOKEN,
        log: logger.child({ component: 'daemon' }),
        describe: () => ({ daemonVersion: 'test', pid: process.pid, dataFolder: folder }),
        onClose: (closed) => sessions.delete(closed),
      });
      sessions.add(session);
      return DaemonClient.overStream(clientEnd, { clientName: 'test', token: TOKEN });
    },
    markReady(handles) {
      store.transaction((tx) => {
        for (const handle of handles) tx.run("UPDATE servers SET status = 'ready', available_ram_mb = 4096, available_disk_mb = 40960 WHERE handle = ?", [handle]);
      });
    },
    close() {
      for (const session of [...sessions]) session.close();
      for (const stop of stoppers.reverse()) void stop();
      store.close();
      logger.close();
    },
  };
}

/** A daemon stand-in that answers `initialize`, then whatever `answer` does with each other request. */
function fakeDaemon(daemonEnd: Duplex, answer: (method: string) => unknown): void {
  const connection = connectionOverStream(daemonEnd, Number.MAX_SAFE_INTEGER);
  connection.onRequest((method) => {
    if (method === Initialize.method) return { protocolVersion: PROTOCOL_VERSION, daemonVersion: 'fake', pid: 1, dataFolder: '/nowhere' };
    return answer(method);
  });
  connection.listen();
}

describe('list paging over the real request stack', () => {
  let folder: string;
  let stack: Stack;
  let client: DaemonClient;

  before(async () => {
    folder = fs.mkdtempSync(path.join(os.tmpdir(), 'zavhoz-paging-'));
    stack = await buildStack(folder);
    client = await stack.connect();
  });

  after(() => {
    client.close();
    stack.close();
    fs.rmSync(folder, { recursive: true, force: true });
  });

  test('pages never skip or repeat a row while rows are added before and after the cursor', async () => {
    // Even handles now; odd ones are added while paging, on both sides of every page boundary.
    for (let index = 0; index < 400; index += 2) await client.request(ServersAdd, { handle: `s${String(index).padStart(4, '0')}`, host: '10.0.0.1' });
    const seen: string[] = [];
    let added = 1;
    for await (const page of client.pages(ServersList, { limit: 37 })) {
      seen.push(...page.servers.map((server) => server.handle));
      for (let step = 0; step < 10 && added < 400; step++, added += 2) {
        await client.request(ServersAdd, { handle: `s${String(added).padStart(4, '0')}`, host: '10.0.0.2' });
      }
    }
    assert.equal(new Set(seen).size, seen.length, 'no row twice');
    assert.deepEqual(seen, [...seen].sort(), 'in handle order');
    for (let index = 0; index < 400; index += 2) assert.ok(seen.includes(`s${String(index).padStart(4, '0')}`), `s${index} was there from the start`);
  });

  test('a page is cut by encoded size: fewer rows than the limit, a cursor, and every row in the end', async () => {
    const labels = Array.from({ length: 32 }, (_, index) => `${'l'.repeat(60)}${String(index).padStart(4, '0')}`);
    for (let index = 0; index < 300; index++) await client.request(ServersAdd, { handle: `wide${String(index).padStart(4, '0')}`, host: '10.0.1.1', labels });
    const first = await client.request(ServersList, { limit: 1000 });
    assert.ok(first.servers.length < 1000 && first.nextCursor !== undefined, `${first.servers.length} rows`);
    assert.ok(Buffer.byteLength(JSON.stringify(first.servers)) <= PAGE_BYTES + 4096);
    const all = await client.listAll(ServersList, { limit: 1000 }, (page) => page.servers);
    assert.equal(all.filter((server) => server.handle.startsWith('wide')).length, 300);
  });

  test('services/status pages by project name: every allocated project once, in order, a cursor of another list refused', async () => {
    const servers = ['status-a', 'status-b'];
    // Port 9 of loopback: nothing answers there, and these servers have no SSH key: each read fails at once.
    for (const handle of servers) await client.request(ServersAdd, { handle, host: '127.0.0.1', sshPort: 9 });
    stack.markReady(servers);
    const projects = Array.from({ length: 7 }, (_, index) => `paged-${String.fromCharCode(103 - index)}`);
    for (const project of projects) await client.request(AllocationsAllocate, { project, minRamMb: 64, minDiskMb: 64 });
    const pages: string[][] = [];
    for await (const page of client.pages(ServicesStatus, { limit: 3 })) {
      pages.push(page.projects.map((row) => row.project));
      for (const row of page.projects) assert.equal(row.state, 'unreachable', JSON.stringify(row));
    }
    assert.deepEqual(pages.map((page) => page.length), [3, 3, 1]);
    assert.deepEqual(pages.flat(), [...projects].sort(), 'in project order, none twice, none left out');
    const one = await client.request(ServicesStatus, { project: 'paged-d', limit: 1 });
    assert.deepEqual(one.projects.map((row) => row.project), ['paged-d']);
    assert.equal(one.nextCursor, undefined);
    await assert.rejects(client.request(ServicesStatus, { cursor: (await client.request(AllocationsList, { limit: 1 })).nextCursor ?? '' }), (error: { code?: number }) => error.code === ErrorCodes.InvalidParams);
  });

  test('an empty list is one page without a cursor; a foreign cursor is InvalidParams', async () => {
    const empty = await client.request(AllocationsList, { project: 'nothing-here' });
    assert.deepEqual(empty, { allocations: [] });
    await assert.rejects(client.request(ServersList, { cursor: 'bm90LWEtY3Vyc29y' }), (error: { code?: number }) => error.code === ErrorCodes.InvalidParams);
    await assert.rejects(client.request(AllocationsList, { cursor: (await client.request(ServersList, { limit: 1 })).nextCursor ?? '' }), (error: { code?: number }) => error.code === ErrorCodes.InvalidParams);
  });

  test('an answer over the message limit is refused with MessageTooLarge, and the connection goes on', async () => {
    await assert.rejects(client.request(Oversize, { bytes: MAX_MESSAGE_BYTES }), (error: { code?: number; message: string }) => {
      assert.equal(error.code, ErrorCodes.MessageTooLarge);
      assert.match(error.message, /test\/oversize would be \d+ bytes/);
      return true;
    });
    assert.deepEqual(await client.request(Oversize, { bytes: 10 }), { filler: 'x'.repeat(10) });
  });
});

describe('a client never crashes', () => {
  test('an oversize message from the daemon: one clear error, no unhandled rejection', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const [clientEnd, daemonEnd] = streamPair();
      fakeDaemon(daemonEnd, () => ({ filler: 'y'.repeat(2 * MAX_MESSAGE_BYTES) }));
      const client = await DaemonClient.overStream(clientEnd, { clientName: 'test', token: TOKEN });
      await assert.rejects(client.request(ServersList, {}), (error) => {
        assert.ok(error instanceof DaemonConnectionLostError, String(error));
        assert.match(error.message, /refused \(Message of \d+ bytes exceeds the \d+-byte limit\.\)/);
        return true;
      });
      await assert.rejects(client.request(ServersList, {}), DaemonConnectionLostError);
      client.close();
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.deepEqual(unhandled, []);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  test('the daemon going away mid-request: DaemonConnectionLostError with one line that says what to do', async () => {
    const [clientEnd, daemonEnd] = streamPair();
    fakeDaemon(daemonEnd, () => {
      setTimeout(() => daemonEnd.destroy(), 10);
      return new Promise(() => undefined);
    });
    const client = await DaemonClient.overStream(clientEnd, { clientName: 'test', token: TOKEN });
    await assert.rejects(client.request(ServersList, {}), (error) => {
      assert.ok(error instanceof DaemonConnectionLostError, String(error));
      assert.match(error.message, /lost before it answered.*Run the command again/);
      assert.doesNotMatch(error.message, /\n/);
      return true;
    });
    client.close();
  });
});
