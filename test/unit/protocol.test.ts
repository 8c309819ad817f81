import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Duplex, PassThrough } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { CancellationTokenSource, ResponseError } from 'vscode-jsonrpc/node';
import { z } from 'zod';
import { DaemonClient } from '../../daemon/client/client.js';
import { ZavhozError } from '../../daemon/core/errors.js';
import { Logger } from '../../daemon/core/logger.js';
import { Redactor } from '../../daemon/core/redactor.js';
import { defineNotification, defineRequest, result } from '../../daemon/protocol/define.js';
import { ErrorCodes } from '../../daemon/protocol/errors.js';
import { PROTOCOL_VERSION } from '../../daemon/protocol/lifecycle.js';
import { Router } from '../../daemon/server/router.js';
import { Session } from '../../daemon/server/session.js';
import { waitUntil } from '../harness/processes.js';

// Test-only requests: they exercise the mechanism (validation, errors, cancellation) without adding to the product.
const Echo = defineRequest('test/echo', z.strictObject({ text: z.string().max(10), count: z.number().int() }), result<{ text: string; count: number }>());
const Fail = defineRequest('test/fail', z.strictObject({ kind: z.enum(['domain', 'crash', 'secret']) }), result<never>());
const Slow = defineRequest('test/slow', z.strictObject({}), result<{ finished: boolean }>());
const Changed = defineNotification('test/didChange', z.strictObject({ what: z.string() }));

const TOKEN = 'a'.repeat(64);
const SECRET = 'canary-value-7f3k9x2m';

function duplexPair(): [Duplex, Duplex] {
  const toServer = new PassThrough();
  const toClient = new PassThrough();
  return [Duplex.from({ readable: toClient, writable: toServer }), Duplex.from({ readable: toServer, writable: toClient })];
}

describe('protocol over an in-memory stream pair', () => {
  let folder: string;
  let logger: Logger;
  let router: Router;
  const redactor = new Redactor();
  const sessions: Session[] = [];

  before(() => {
    folder = fs.mkdtempSync(path.join(os.tmpdir(), 'zavhoz-protocol-'));
    logger = new Logger({ file: path.join(folder, 'daemon.log'), redactor });
    router = new Router(redactor, logger.child({ component: 'rpc' }));
    redactor.register(SECRET);
    router.handle(Echo, (params) => params);
    router.handle(Fail, (params) => {
      if (params.kind === 'domain') throw new ZavhozError(ErrorCodes.NotFound, 'Server web-1 not found. Run zavhoz server list.');
      if (params.kind === 'secret') throw new ZavhozError(ErrorCodes.InvalidInput, `bad value ${SECRET}`);
      throw new TypeError('cannot read properties of undefined');
    });
    router.handle(Slow, async (_params, context) => {
      await new Promise<void>((resolve) => context.cancellation.onCancellationRequested(() => resolve()));
      throw new ResponseError(ErrorCodes.RequestCancelled, 'The request was cancelled.');
    });
  });

  after(() => {
    for (const session of sessions) session.close();
    logger.close();
    fs.rmSync(folder, { recursive: true, force: true });
  });

  /** A session over an in-memory pair; `stallAfterRefusal` blocks its loop for a while right after it logs a refusal. */
  function serve(stallAfterRefusal = 0): Duplex {
    const [clientEnd, serverEnd] = duplexPair();
    const log = logger.child({ component: 'daemon' });
    if (stallAfterRefusal > 0) {
      const warn = log.warn.bind(log);
      log.warn = (...args: Parameters<typeof log.warn>) => {
        // After the refusal is thrown, before the loop turns again: as a machine under load may hold the daemon.
        queueMicrotask(() => {
          const until = Date.now() + stallAfterRefusal;
          while (Date.now() < until);
        });
        warn(...args);
      };
    }
    const session = new Session(serverEnd, sessions.length + 1, {
      router,
      token: TOKEN,
      log,
      describe: () => ({ daemonVersion: 'test', pid: process.pid, dataFolder: folder }),
      onClose: () => undefined,
    });
    sessions.push(session);
    return clientEnd;
  }

  async function client(): Promise<DaemonClient> {
    return DaemonClient.overStream(serve(), { clientName: 'test', token: TOKEN });
  }

  test('a typed request round-trips and initialize reports the protocol version', async () => {
    const connected = await client();
    assert.equal(connected.info.protocolVersion, PROTOCOL_VERSION);
    assert.deepEqual(await connected.request(Echo, { text: 'hello', count: 3 }), { text: 'hello', count: 3 });
    connected.close();
  });

  test('params are validated at the boundary with a message naming the field', async () => {
    const connected = await client();
    await assert.rejects(connected.request(Echo, { text: 'far too long for the cap', count: 1 }), (error: ResponseError<unknown>) => {
      assert.equal(error.code, ErrorCodes.InvalidParams);
      assert.match(error.message, /text/);
      return true;
    });
    const loose = { text: 'x', count: 1.5 };
    await assert.rejects(connected.request(Echo, loose), { code: ErrorCodes.InvalidParams });
    const extra = { text: 'x', count: 1, surprise: true } as unknown as { text: string; count: number };
    await assert.rejects(connected.request(Echo, extra), { code: ErrorCodes.InvalidParams });
    const missing = { text: 'x' } as unknown as { text: string; count: number };
    await assert.rejects(connected.request(Echo, missing), /count/);
    connected.close();
  });

  test('domain errors keep their code and message; crashes become InternalError without internals', async () => {
    const connected = await client();
    await assert.rejects(connected.request(Fail, { kind: 'domain' }), {
      code: ErrorCodes.NotFound,
      message: 'Server web-1 not found. Run zavhoz server list.',
    });
    await assert.rejects(connected.request(Fail, { kind: 'crash' }), (error: ResponseError<unknown>) => {
      assert.equal(error.code, ErrorCodes.InternalError);
      assert.doesNotMatch(error.message, /undefined|TypeError/);
      assert.match(error.message, /request/);
      return true;
    });
    connected.close();
  });

  test('error messages pass the redactor', async () => {
    const connected = await client();
    await assert.rejects(connected.request(Fail, { kind: 'secret' }), (error: ResponseError<unknown>) => {
      assert.ok(!error.message.includes(SECRET));
      assert.match(error.message, /\[REDACTED\]/);
      return true;
    });
    connected.close();
    assert.ok(!fs.readFileSync(path.join(folder, 'daemon.log'), 'utf8').includes(SECRET));
  });

  test('an unknown method gets MethodNotFound', async () => {
    const connected = await client();
    const Unknown = defineRequest('test/nothing', z.strictObject({}), result<unknown>());
    await assert.rejects(connected.request(Unknown, {}), { code: ErrorCodes.MethodNotFound });
    connected.close();
  });

  test('a cancelled request answers RequestCancelled', async () => {
    const connected = await client();
    const source = new CancellationTokenSource();
    const pending = connected.request(Slow, {}, { token: source.token });
    setTimeout(() => source.cancel(), 20);
    await assert.rejects(pending, { code: ErrorCodes.RequestCancelled });
    // The connection keeps serving after a cancellation.
    assert.deepEqual(await connected.request(Echo, { text: 'after', count: 1 }), { text: 'after', count: 1 });
    connected.close();
  });

  test('nothing runs before initialize, and a wrong token or version is refused', async () => {
    await assert.rejects(DaemonClient.overStream(serve(), { clientName: 'test', token: 'b'.repeat(64) }), {
      code: ErrorCodes.Unauthorized,
    });
    await assert.rejects(DaemonClient.overStream(serve(), { clientName: 'test', token: '' }), { code: ErrorCodes.Unauthorized });
    await assert.rejects(DaemonClient.overStream(serve(), { clientName: 'Bad Name!', token: TOKEN }), {
      code: ErrorCodes.InvalidParams,
    });
  });

  test('a refused client hears why even when the daemon stalls right after refusing it', async () => {
    // The connection used to be closed by a 50 ms timer that a stall could fire before the answer was written: the
    // client then never heard why (over this in-memory pair it waited for ever).
    await assert.rejects(DaemonClient.overStream(serve(120), { clientName: 'test', token: 'c'.repeat(64) }), {
      code: ErrorCodes.Unauthorized,
    });
    assert.equal(sessions.at(-1)?.client, undefined);
  });

  test('several listeners of one notification on one client all hear it', async () => {
    const connected = await client();
    const heard: string[] = [];
    const done = new Promise<void>((resolve) => {
      connected.onNotification(Changed, (params) => heard.push(`a:${params.what}`));
      const second = connected.onNotification(Changed, (params) => {
        heard.push(`b:${params.what}`);
        second.dispose();
        resolve();
      });
    });
    sessions.at(-1)!.notify(Changed, { what: 'x' });
    await done;
    sessions.at(-1)!.notify(Changed, { what: 'y' });
    // Both handlers of one notification run in the same dispatch: once a has heard y, b would have too.
    await waitUntil('a to hear y', () => (heard.includes('a:y') ? true : undefined), 5_000);
    assert.deepEqual(heard, ['a:x', 'b:x', 'a:y']);
    connected.close();
  });

  test('notifications reach every initialized client', async () => {
    const first = await client();
    const second = await client();
    const seen: string[] = [];
    const arrived = new Promise<void>((resolve) => {
      let count = 0;
      for (const [name, connected] of [['first', first], ['second', second]] as const) {
        connected.onNotification(Changed, (params) => {
          seen.push(`${name}:${params.what}`);
          if (++count === 2) resolve();
        });
      }
    });
    for (const session of sessions) session.notify(Changed, { what: 'servers' });
    await arrived;
    assert.deepEqual(seen.sort(), ['first:servers', 'second:servers']);
    first.close();
    second.close();
  });
});
