/**
 * The audit log keeps handles and names, never values: a command line recorded with an entry (`zavhoz exec`'s loan
 * of a secret, a human's approval of a command line for agents) is stored with every vault value in it masked, even
 * when the person typed a value on that command line.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { ApprovedCommands } from '../../daemon/agentaccess/commands.js';
import { AuditLog } from '../../daemon/audit/auditLog.js';
import { Logger } from '../../daemon/core/logger.js';
import { REDACTED, Redactor } from '../../daemon/core/redactor.js';
import { resolveExecSecrets } from '../../daemon/exec/resolve.js';
import { EmbeddedDatabase } from '../../daemon/store/embedded.js';
import { MIGRATIONS } from '../../daemon/store/schema.js';
import { Store } from '../../daemon/store/store.js';
import { FileBackend } from '../../daemon/vault/fileBackend.js';
import { Vault } from '../../daemon/vault/vault.js';

const CALLER = { client: 'cli', requestId: 'req-audit-1' };
const VALUE = 'canary-db-pass-Q7vX2mK9';

describe('audit log: a value typed on a recorded command line', () => {
  let folder: string;
  let store: Store;
  let redactor: Redactor;
  let logger: Logger;
  let audit: AuditLog;
  let vault: Vault;

  beforeEach(async () => {
    folder = fs.mkdtempSync(path.join(os.tmpdir(), 'zavhoz-leak-audit-'));
    store = await Store.open({ database: path.join(folder, 'zavhoz.db'), journal: path.join(folder, 'zavhoz.journal'), migrations: MIGRATIONS });
    redactor = new Redactor();
    logger = new Logger({ file: path.join(folder, 'daemon.log'), redactor });
    // As the daemon's wiring builds it: one audit log, masking with the daemon's redactor.
    audit = new AuditLog(EmbeddedDatabase.of(store), undefined, redactor);
    const backend = await FileBackend.open(path.join(folder, 'vault.enc'), 'leak-audit master key, long enough');
    vault = new Vault({ store: EmbeddedDatabase.of(store), audit, redactor, notifier: { notify: () => undefined }, log: logger.child({ component: 'vault' }), openBackend: async () => backend });
  });
  afterEach(() => {
    vault.stop();
    logger.close();
    store.close();
    fs.rmSync(folder, { recursive: true, force: true });
  });

  /** Everything the audit log holds, as stored and as `audit/list` answers it. */
  const auditText = async (): Promise<string> => JSON.stringify(await audit.list({ limit: 1000 })) + JSON.stringify(store.all('SELECT * FROM audit_log'));

  test('zavhoz exec with the value on its command line: the exec entry masks it', async () => {
    const secret = await vault.set({ name: 'DB_PASSWORD', type: 'password', project: 'shop', value: VALUE }, CALLER);
    // The person put the password in the URL as well as asking for it by handle.
    const command = ['psql', `postgres://app:${VALUE}@db.internal/shop`, '-c', 'select 1'];
    const values = await resolveExecSecrets(vault, { secrets: [{ name: 'PGPASSWORD', handle: secret.handle }], command }, CALLER);
    assert.equal(values[0]?.value, VALUE, 'the command still gets the value');
    const text = await auditText();
    assert.ok(text.includes('"exec"'), 'the loan is audited');
    assert.ok(text.includes(REDACTED), 'the command line is recorded with the value masked');
    assert.ok(!text.includes(VALUE), `the audit log holds the value: ${text}`);
  });

  test('a command line for agents that holds a value is not approved: the store, the audit log and ps would show it', async () => {
    await vault.set({ name: 'API_TOKEN', type: 'token', project: 'shop', value: VALUE }, CALLER);
    const commands = new ApprovedCommands(EmbeddedDatabase.of(store), audit, redactor);
    await assert.rejects(
      () => commands.approve('shop', ['curl', '-H', `Authorization: Bearer ${VALUE}`, 'https://api.example.com/me'], CALLER),
      (error: Error) => /\$API_TOKEN|\$NAME/.test(error.message) && !error.message.includes(VALUE),
    );
    assert.deepEqual(await commands.list('shop'), [], 'nothing approved');
    const stored = JSON.stringify(store.all('SELECT * FROM agent_commands')) + (await auditText());
    assert.ok(!stored.includes(VALUE), `the store holds the value: ${stored}`);
    // The same command line with the variable instead of the value is approved as usual.
    const approved = await commands.approve('shop', ['sh', '-c', 'curl -H "Authorization: Bearer $API_TOKEN" https://api.example.com/me'], CALLER);
    assert.equal((await commands.list('shop'))[0]?.id, approved.id);
  });
});
