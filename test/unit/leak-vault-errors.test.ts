/**
 * A write the backend refuses while quoting what it was sent: a team Vault whose policy check (Sentinel/EGP) or a
 * proxy in front of it answers with the request's data in its `errors`. The vault rolls the write back; the value
 * must stay masked until that error has left the daemon (the router redacts it after the vault threw).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { AuditLog } from '../../daemon/audit/auditLog.js';
import { Logger } from '../../daemon/core/logger.js';
import { Redactor } from '../../daemon/core/redactor.js';
import { EmbeddedDatabase } from '../../daemon/store/embedded.js';
import { MIGRATIONS } from '../../daemon/store/schema.js';
import { Store } from '../../daemon/store/store.js';
import type { SecretBackend } from '../../daemon/vault/backend.js';
import { FileBackend } from '../../daemon/vault/fileBackend.js';
import { VaultTransport } from '../../daemon/vault/hashicorp/http.js';
import { KvClient } from '../../daemon/vault/hashicorp/kv.js';
import { VaultSession } from '../../daemon/vault/hashicorp/session.js';
import { TeamAccounts } from '../../daemon/vault/hashicorp/teamBackend.js';
import { Vault } from '../../daemon/vault/vault.js';

const CALLER = { client: 'cli', requestId: 'req-leak-1' };
const VALUE = 'canary-team-value-R4nW8pZ2';

/**
 * A loopback Vault whose policy check refuses every KV write, quoting the data it was sent after `preamble` (a
 * verbose policy report puts it further on); removals pass.
 */
async function startEchoingVault(preamble: () => string): Promise<{ url: string; close: () => Promise<void> }> {
  const server = http.createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    request.on('end', () => {
      response.setHeader('content-type', 'application/json');
      if (request.url?.startsWith('/v1/auth/token/lookup-self')) {
        response.end(JSON.stringify({ data: { ttl: 0, renewable: false, policies: ['default'] } }));
        return;
      }
      if (request.method === 'DELETE') {
        // The roll-back's removal of what was never written.
        response.statusCode = 204;
        response.end();
        return;
      }
      response.statusCode = 400;
      response.end(JSON.stringify({ errors: [`1 error occurred:\n\t* policy "values-format" failed${preamble()} on request data ${body}`] }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

describe('vault: a refused write whose error quotes the value', () => {
  let folder: string;
  let store: Store;
  let redactor: Redactor;
  let logger: Logger;
  let vault: Vault;
  let echoing: Awaited<ReturnType<typeof startEchoingVault>>;
  let preamble = '';

  beforeEach(async () => {
    folder = fs.mkdtempSync(path.join(os.tmpdir(), 'zavhoz-leak-vault-'));
    preamble = '';
    echoing = await startEchoingVault(() => preamble);
    store = await Store.open({ database: path.join(folder, 'zavhoz.db'), journal: path.join(folder, 'zavhoz.journal'), migrations: MIGRATIONS });
    redactor = new Redactor();
    logger = new Logger({ file: path.join(folder, 'daemon.log'), redactor });
    const personal = await FileBackend.open(path.join(folder, 'vault.enc'), 'leak-vault master key, long enough');
    const team = new TeamAccounts(new KvClient(new VaultSession(new VaultTransport({ address: echoing.url, retry: { attempts: 1 } }), { kind: 'token', token: 'hvs.leak-test-token-0123' }, redactor), 'secret', 'zavhoz/acme'));
    // Every secret's accounts go to the team's Vault (as RoutedBackend sends a team secret's); the fingerprint key stays personal.
    const backend: SecretBackend = {
      kind: 'file',
      read: (account) => (account.startsWith('sec_') ? team.read(account) : personal.read(account)),
      write: async (account, value) => {
        if (account.startsWith('sec_')) await team.write(account, value);
        else await personal.write(account, value);
      },
      remove: (account) => (account.startsWith('sec_') ? team.remove(account) : personal.remove(account)),
      readMany: (accounts) => personal.readMany(accounts.filter((account) => !account.startsWith('sec_'))),
    };
    vault = new Vault({ store: EmbeddedDatabase.of(store), audit: new AuditLog(EmbeddedDatabase.of(store)), redactor, notifier: { notify: () => undefined }, log: logger.child({ component: 'vault' }), openBackend: async () => backend });
  });
  afterEach(async () => {
    vault.stop();
    logger.close();
    store.close();
    await echoing.close();
    fs.rmSync(folder, { recursive: true, force: true });
  });

  /** Writes the secret, which the fake Vault refuses; the error message as the router would answer it. */
  async function refusedAnswer(): Promise<string> {
    let thrown: Error | undefined;
    try {
      await vault.set({ name: 'API_TOKEN', type: 'token', value: VALUE }, CALLER);
    } catch (error) {
      thrown = error as Error;
    }
    assert.ok(thrown, 'the write was refused');
    assert.match(thrown.message, /refused/, 'the refusal is passed on');
    // What the router does with a ZavhozError before it answers (server/router.ts toResponseError).
    return redactor.redact(thrown.message);
  }

  test('secrets/set refused by Vault: the error the router answers with does not carry the value', async () => {
    const answered = await refusedAnswer();
    assert.ok(!answered.includes(VALUE), `the answer carries the value: ${answered}`);
    logger.close();
    assert.ok(!fs.readFileSync(path.join(folder, 'daemon.log'), 'utf8').includes(VALUE), 'the daemon log carries the value');
  });

  test('a long refusal cut where the value stands: no start of the value is left in the answer', async () => {
    // The value starts a few characters before the cut Zavhoz makes in Vault's errors (300 characters).
    const lead = '1 error occurred:\n\t* policy "values-format" failed on request data {"data":{"value":"'.length;
    preamble = ' (rule main = false; '.padEnd(300 - lead - 12, '.') + ')';
    const answered = await refusedAnswer();
    assert.ok(!answered.includes(VALUE.slice(0, 8)), `the answer carries the start of the value: ${answered}`);
    logger.close();
    assert.ok(!fs.readFileSync(path.join(folder, 'daemon.log'), 'utf8').includes(VALUE), 'the daemon log carries the value');
  });
});
