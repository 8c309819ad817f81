/**
 * The daemon's real request stack — sessions, router, every capability's handlers over a real store and the real
 * encrypted-file vault — driven by a client over an in-memory stream pair, as vscode-languageserver-node's
 * connection tests do. No socket, keychain, sshd or daemon process: this is the fast tier's view of the protocol
 * (handshake, validation, errors, cancellation). test/integration/daemon.test.ts covers the same over a real socket.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import ssh2 from 'ssh2';
import { CancellationTokenSource, type MessageConnection, RequestType, ResponseError } from 'vscode-jsonrpc/node';
import { DaemonClient } from '../../daemon/client/client.js';
import { Logger } from '../../daemon/core/logger.js';
import type { LogLevel } from '../../daemon/core/logger.js';
import type { Notifier } from '../../daemon/core/notifier.js';
import { dataPaths } from '../../daemon/core/paths.js';
import { Redactor } from '../../daemon/core/redactor.js';
import { registerHandlers } from '../../daemon/handlers/index.js';
import { registerLifecycleHandlers } from '../../daemon/handlers/lifecycle.js';
import * as protocol from '../../daemon/protocol/index.js';
import {
  DaemonPing,
  ErrorCodes,
  Initialize,
  type NotificationDefinition,
  PROTOCOL_VERSION,
  SecretsSet,
  ServersAdd,
  ServersCheck,
  ServersList,
  ServersShow,
  SettingsDidChange,
  SettingsGet,
  SettingsSet,
} from '../../daemon/protocol/index.js';
import { Router } from '../../daemon/server/router.js';
import { Session } from '../../daemon/server/session.js';
import type { Lifecycle } from '../../daemon/wiring/services.js';
import { wireServices } from '../../daemon/wiring/index.js';
import { MIGRATIONS } from '../../daemon/store/schema.js';
import { Store } from '../../daemon/store/store.js';
import { connectionOverStream } from '../../daemon/transport/connection.js';
import { waitUntil } from '../harness/processes.js';
import { streamPair } from './streamPair.js';
import { EmbeddedDatabase } from '../../daemon/store/embedded.js';

const TOKEN = 'c'.repeat(64);
const MASTER_KEY = 'protocol-connection test master key, long enough';
const CANARY = 'canary-wire-value-4q8z1p';

/** The params type of a request definition, for sending what a typed client never would. */
type ParamsOf<D> = D extends protocol.RequestDefinition<infer P, unknown> ? P : never;


/**
 * Stands in for the daemon's socket server (daemon/server/server.ts), which only adds a listening socket: it holds
 * the in-memory sessions and passes the services' notifications to them.
 */
class InMemorySessions implements Notifier {
  readonly sessions = new Set<Session>();
  private nextId = 1;

  constructor(private readonly options: { router: Router; log: Logger; folder: string }) {}

  /** Opens a session on the daemon's end of a new stream pair; returns the client's end. */
  connect(): Duplex {
    const [clientEnd, daemonEnd] = streamPair();
    const session = new Session(daemonEnd, this.nextId++, {
      router: this.options.router,
      token: TOKEN,
      log: this.options.log.child({ component: 'daemon' }),
      describe: () => ({ daemonVersion: 'test', pid: process.pid, dataFolder: this.options.folder }),
      onClose: (closed) => this.sessions.delete(closed),
    });
    this.sessions.add(session);
    return clientEnd;
  }

  notify<P>(definition: NotificationDefinition<P>, params: P): void {
    for (const session of this.sessions) session.notify(definition, params);
  }

  notifyConnection<P>(connectionId: number, definition: NotificationDefinition<P>, params: P): boolean {
    const session = [...this.sessions].find((candidate) => candidate.id === connectionId);
    session?.notify(definition, params);
    return session !== undefined;
  }

  subscribeLog(connectionId: number, level: LogLevel): void {
    for (const session of this.sessions) if (session.id === connectionId) session.logLevel = level;
  }

  close(): void {
    for (const session of [...this.sessions]) session.close();
  }
}

/** The daemon's request stack as daemon/daemon.ts builds it, minus the socket and the background timers. */
interface Stack {
  readonly router: Router;
  readonly sessions: InMemorySessions;
  readonly logFile: string;
  close(): void;
}

async function buildStack(folder: string): Promise<Stack> {
  const paths = dataPaths(folder);
  const redactor = new Redactor();
  const logger = new Logger({ file: paths.log, redactor });
  const log = logger.child({ component: 'daemon' });
  const store = await Store.open({ database: paths.database, journal: paths.journal, migrations: MIGRATIONS });
  const router = new Router(redactor, logger.child({ component: 'rpc' }));
  const sessions = new InMemorySessions({ router, log: logger, folder });
  const stoppers: (() => unknown)[] = [];
  const lifecycle: Lifecycle = { onShutdown: (stop) => stoppers.push(stop), requestShutdown: () => undefined };
  // The daemon's own composition, over the encrypted-file vault: the one vault backend that needs nothing from the OS.
  const services = await wireServices({
    paths,
    store: EmbeddedDatabase.of(store),
    redactor,
    logger,
    log,
    server: sessions,
    lifecycle,
    environment: { ZAVHOZ_VAULT: 'file', ZAVHOZ_MASTER_KEY: MASTER_KEY },
  });
  registerLifecycleHandlers(
    router,
    {
      status: () => ({
        pid: process.pid,
        daemonVersion: 'test',
        protocolVersion: PROTOCOL_VERSION,
        dataFolder: folder,
        startedAt: new Date().toISOString(),
        uptimeSeconds: 0,
        clients: [],
      }),
      subscribeLog: (connectionId, level) => sessions.subscribeLog(connectionId, level),
    },
    lifecycle,
  );
  registerHandlers(router, services);
  return {
    router,
    sessions,
    logFile: paths.log,
    close: () => {
      sessions.close();
      for (const stop of stoppers.reverse()) void stop();
      store.close();
      logger.close();
    },
  };
}

/** A bare JSON-RPC connection to a new session, for what DaemonClient never sends (another version, no initialize). */
function rawConnection(stack: Stack): { connection: MessageConnection; closed: Promise<void> } {
  const connection = connectionOverStream(stack.sessions.connect());
  const closed = new Promise<void>((resolve) => connection.onClose(() => resolve()));
  connection.listen();
  return { connection, closed };
}

/** Asserts that a promise rejects with a ResponseError of `code`, and returns it for more checks. */
async function refusal(pending: Promise<unknown>, code: number): Promise<ResponseError<unknown>> {
  try {
    await pending;
  } catch (error) {
    assert.ok(error instanceof ResponseError, `expected a ResponseError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    return error;
  }
  assert.fail(`expected a refusal with code ${code}`);
}

/** A host that accepts TCP connections and never answers: an SSH server that hangs during the handshake. */
async function silentHost(): Promise<{ port: number; greeted: () => net.Socket | undefined; close: () => Promise<void> }> {
  let greeting: net.Socket | undefined;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('data', (chunk: Buffer) => {
      if (chunk.toString('latin1').startsWith('SSH-2.0-')) greeting = socket;
    });
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    port,
    greeted: () => greeting,
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

describe('the daemon protocol over an in-memory stream pair', () => {
  let folder: string;
  let stack: Stack;

  before(async () => {
    folder = fs.mkdtempSync(path.join(os.tmpdir(), 'zavhoz-protocol-connection-'));
    stack = await buildStack(folder);
  });

  after(() => {
    stack.close();
    fs.rmSync(folder, { recursive: true, force: true });
  });

  const connect = (): Promise<DaemonClient> => DaemonClient.overStream(stack.sessions.connect(), { clientName: 'test', token: TOKEN });

  test('the daemon handles every request the protocol declares, and nothing else', () => {
    const declared = Object.values(protocol as Record<string, unknown>)
      .filter((value): value is { method: string; type: unknown } => typeof value === 'object' && value !== null && 'method' in value && 'type' in value)
      .filter((definition) => definition.type instanceof RequestType)
      .map((definition) => definition.method)
      .filter((method) => method !== Initialize.method) // answered by the session itself, before the router
      .sort();
    assert.deepEqual([...stack.router.methods()].sort(), declared);
  });

  test('the handshake reports the protocol version, then real handlers answer', async () => {
    const client = await connect();
    assert.equal(client.info.protocolVersion, PROTOCOL_VERSION);
    assert.deepEqual(await client.request(DaemonPing, { payload: 'hello' }), { payload: 'hello' });
    const settings = await client.request(SettingsGet, {});
    assert.equal(typeof settings.syncIntervalSeconds, 'number');
    client.close();
  });

  test('a client of another protocol version is refused with a clear error, and its connection is closed', async () => {
    const { connection, closed } = rawConnection(stack);
    const error = await refusal(
      connection.sendRequest(Initialize.type, { protocolVersion: PROTOCOL_VERSION + 1, clientName: 'vscode', token: TOKEN }),
      ErrorCodes.ProtocolMismatch,
    );
    assert.match(error.message, new RegExp(`client speaks ${PROTOCOL_VERSION + 1}, this daemon speaks ${PROTOCOL_VERSION}`));
    assert.match(error.message, /Update the older side/);
    assert.deepEqual(error.data, { clientVersion: PROTOCOL_VERSION + 1, daemonVersion: PROTOCOL_VERSION });
    await closed;
    connection.dispose();
  });

  test('nothing runs before initialize', async () => {
    const { connection } = rawConnection(stack);
    const error = await refusal(connection.sendRequest(SettingsSet.method, { key: 'syncIntervalSeconds', value: 123 }), ErrorCodes.NotInitialized);
    assert.match(error.message, /Send initialize/);
    connection.dispose();
    const client = await connect();
    assert.notEqual((await client.request(SettingsGet, {})).syncIntervalSeconds, 123);
    client.close();
  });

  test('params the schema refuses come back as InvalidParams naming the field, and nothing is stored', async () => {
    const client = await connect();
    const server = { handle: 'web-1', host: '10.0.0.5', sshPort: 22, sshUser: 'root', labels: [] };
    const badHandle = await refusal(client.request(ServersAdd, { ...server, handle: 'Web 1' }), ErrorCodes.InvalidParams);
    assert.match(badHandle.message, /^Invalid params for servers\/add: handle: a handle like "prod_vps_1"/);
    const stray = { ...server, password: 'x' };
    const strayError = await refusal(client.request(ServersAdd, stray), ErrorCodes.InvalidParams);
    assert.match(strayError.message, /password/);
    assert.deepEqual((await client.request(ServersList, { all: true })).servers, []);
    client.close();
  });

  test('a refused secret never comes back in the error, nor reaches the log', async () => {
    const client = await connect();
    const wrongType = { name: 'API_TOKEN', type: 'apikey', value: CANARY } as unknown as ParamsOf<typeof SecretsSet>;
    const schemaError = await refusal(client.request(SecretsSet, wrongType), ErrorCodes.InvalidParams);
    assert.match(schemaError.message, /type/);
    const domainError = await refusal(client.request(SecretsSet, { name: 'DEPLOY_KEY', type: 'private_key', value: CANARY }), ErrorCodes.InvalidInput);
    for (const error of [schemaError, domainError]) {
      assert.ok(!error.message.includes(CANARY), error.message);
      assert.ok(!JSON.stringify(error.data ?? null).includes(CANARY));
    }
    client.close();
    assert.ok(!fs.readFileSync(stack.logFile, 'utf8').includes(CANARY));
  });

  test('errors the domain raises keep their own codes: a bad setting value, an unknown server', async () => {
    const client = await connect();
    const badValue = await refusal(client.request(SettingsSet, { key: 'syncIntervalSeconds', value: 'soon' }), ErrorCodes.InvalidInput);
    assert.match(badValue.message, /syncIntervalSeconds/);
    const missing = await refusal(client.request(ServersShow, { handle: 'nowhere' }), ErrorCodes.NotFound);
    assert.match(missing.message, /nowhere/);
    client.close();
  });

  test('an unknown method gets MethodNotFound, and the connection keeps serving', async () => {
    const client = await connect();
    const { connection } = rawConnection(stack);
    await connection.sendRequest(Initialize.type, { protocolVersion: PROTOCOL_VERSION, clientName: 'raw', token: TOKEN });
    const error = await refusal(connection.sendRequest('servers/explode', {}), ErrorCodes.MethodNotFound);
    assert.match(error.message, /servers\/explode/);
    assert.deepEqual(await connection.sendRequest(DaemonPing.method, {}), {});
    connection.dispose();
    client.close();
  });

  test('a change a handler makes reaches every client as a notification', async () => {
    const first = await connect();
    const second = await connect();
    const heard: string[] = [];
    const both = new Promise<void>((resolve) => {
      for (const [name, client] of [['first', first], ['second', second]] as const) {
        client.onNotification(SettingsDidChange, (params) => {
          heard.push(`${name}:${params.key}`);
          if (heard.length === 2) resolve();
        });
      }
    });
    await first.request(SettingsSet, { key: 'healthCheckIntervalSeconds', value: 600 });
    await both;
    assert.deepEqual(heard.sort(), ['first:healthCheckIntervalSeconds', 'second:healthCheckIntervalSeconds']);
    first.close();
    second.close();
  });

  test('cancelling a health check ends its SSH attempt and answers RequestCancelled', async () => {
    const host = await silentHost();
    const client = await connect();
    try {
      const key = await client.request(SecretsSet, { name: 'STALLED_KEY', type: 'private_key', value: ssh2.utils.generateKeyPairSync('ed25519').private });
      await client.request(ServersAdd, { handle: 'stalled', host: '127.0.0.1', sshPort: host.port, sshUser: 'root', sshKeySecret: key.handle, labels: [] });
      const source = new CancellationTokenSource();
      const pending = client.request(ServersCheck, { handle: 'stalled' }, { token: source.token });
      // Cancel once the daemon's SSH client has said hello, so the cancellation reaches a handler that is waiting.
      const socket = await waitUntil('the SSH greeting', () => host.greeted(), 10_000);
      const ended = new Promise<void>((resolve) => socket.once('close', () => resolve()));
      source.cancel();
      const error = await refusal(pending, ErrorCodes.RequestCancelled);
      assert.match(error.message, /cancelled/);
      await ended;
      // A cancelled check records nothing: the server is not marked unreachable.
      assert.equal((await client.request(ServersShow, { handle: 'stalled' })).lastCheckError, null);
    } finally {
      client.close();
      await host.close();
    }
  });
});
