import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Duplex, PassThrough } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { DaemonClient } from '../../daemon/client/client.js';
import { Logger } from '../../daemon/core/logger.js';
import { Redactor } from '../../daemon/core/redactor.js';
import type { RequestParams, ValidatedParams } from '../../daemon/protocol/define.js';
import { DEFAULT_REF, DEFAULT_REGISTRY, DeployStart, RUN_TIMEOUT, type RunDetail, RunsLog } from '../../daemon/protocol/runs.js';
import { DEFAULT_SSH_PORT, DEFAULT_SSH_USER, ServersAdd } from '../../daemon/protocol/servers.js';
import { Router } from '../../daemon/server/router.js';
import { Session } from '../../daemon/server/session.js';

// Clients send a request schema's input (defaulted fields may be left out); the daemon's router validates and its
// handler gets the schema's output, defaults applied. So a default is written once, in daemon/protocol/.

const TOKEN = 'b'.repeat(64);

function duplexPair(): [Duplex, Duplex] {
  const toServer = new PassThrough();
  const toClient = new PassThrough();
  return [Duplex.from({ readable: toClient, writable: toServer }), Duplex.from({ readable: toServer, writable: toClient })];
}

// Type-level checks, enforced by `tsc -b`: a client may leave defaulted fields out, a handler never sees them missing.
const sent: RequestParams<typeof DeployStart> = { folder: '/srv/shop', project: 'shop', repository: 'owner/shop' };
// @ts-expect-error a handler's params are the schema's output: `registry`, `timeoutSeconds`, `ref`… are always there
const received: ValidatedParams<typeof DeployStart> = { folder: '/srv/shop', project: 'shop', repository: 'owner/shop' };
// @ts-expect-error a client still has to send what the schema requires
const incomplete: RequestParams<typeof DeployStart> = { folder: '/srv/shop', project: 'shop' };
void received;
void incomplete;

describe('protocol defaults are applied by the daemon, not restated by clients', () => {
  let folder: string;
  let logger: Logger;
  let router: Router;
  const seen: { deploy?: ValidatedParams<typeof DeployStart>; server?: ValidatedParams<typeof ServersAdd>; log?: ValidatedParams<typeof RunsLog> } = {};
  const sessions: Session[] = [];

  before(() => {
    folder = fs.mkdtempSync(path.join(os.tmpdir(), 'zavhoz-single-source-'));
    const redactor = new Redactor();
    logger = new Logger({ file: path.join(folder, 'daemon.log'), redactor });
    router = new Router(redactor, logger.child({ component: 'rpc' }));
    router.handle(DeployStart, (params) => {
      // Typed as the schema's output: no `?? default` is needed (or allowed to creep back in) here.
      const timeout: number = params.timeoutSeconds;
      const registry: string = params.registry;
      seen.deploy = { ...params, timeoutSeconds: timeout, registry };
      return { id: 'run_aaaaaaaaaa' } as RunDetail;
    });
    router.handle(ServersAdd, (params) => {
      seen.server = params;
      throw new Error('not stored: the test only looks at the params');
    });
    router.handle(RunsLog, (params) => {
      seen.log = params;
      return { lines: [], next: params.from, status: 'succeeded' as const };
    });
  });

  after(() => {
    for (const session of sessions) session.close();
    logger.close();
    fs.rmSync(folder, { recursive: true, force: true });
  });

  async function client(): Promise<DaemonClient> {
    const [clientEnd, serverEnd] = duplexPair();
    sessions.push(
      new Session(serverEnd, sessions.length + 1, {
        router,
        token: TOKEN,
        log: logger.child({ component: 'daemon' }),
        describe: () => ({ daemonVersion: 'test', pid: process.pid, dataFolder: folder }),
        onClose: () => undefined,
      }),
    );
    return DaemonClient.overStream(clientEnd, { clientName: 'test', token: TOKEN });
  }

  test('a deploy that names only folder, project and repository gets the schema defaults in the handler', async () => {
    const connected = await client();
    await connected.request(DeployStart, sent);
    assert.deepEqual(seen.deploy, {
      ...sent,
      ref: DEFAULT_REF,
      bindings: {},
      registry: DEFAULT_REGISTRY,
      timeoutSeconds: RUN_TIMEOUT.default,
      wait: false,
    });
    connected.close();
  });

  test('what a client does send wins over the default', async () => {
    const connected = await client();
    await connected.request(DeployStart, { ...sent, ref: 'v1.2.0', timeoutSeconds: 60, wait: false });
    assert.equal(seen.deploy?.ref, 'v1.2.0');
    assert.equal(seen.deploy?.timeoutSeconds, 60);
    assert.equal(seen.deploy?.registry, DEFAULT_REGISTRY);
    connected.close();
  });

  test('other areas behave the same: servers/add and runs/log', async () => {
    const connected = await client();
    await assert.rejects(connected.request(ServersAdd, { handle: 'web-1', host: '203.0.113.10' }));
    assert.deepEqual(seen.server, { handle: 'web-1', host: '203.0.113.10', sshPort: DEFAULT_SSH_PORT, sshUser: DEFAULT_SSH_USER, labels: [] });
    await connected.request(RunsLog, { id: 'run_aaaaaaaaaa' });
    assert.deepEqual(seen.log, { id: 'run_aaaaaaaaaa', from: 0, follow: false });
    connected.close();
  });
});
