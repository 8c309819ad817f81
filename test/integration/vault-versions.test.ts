/**
 * Kept secret versions on both real backends (a private gnome-keyring, and the encrypted file): a version a release
 * retains outlives rotations, the 7-day expiry and deploys, and leaves the backend when the release lets go; a
 * crash after the commit of a drop or a delete is finished by the next start (a child process SIGKILLs itself at
 * the keeper's fault point, as the daemon does); a folder of the single-previous layout loads.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, afterEach, before, beforeEach, describe, test } from 'node:test';
import { AuditLog } from '../../daemon/audit/auditLog.js';
import { EmbeddedDatabase } from '../../daemon/store/embedded.js';
import { Logger } from '../../daemon/core/logger.js';
import { REDACTED, Redactor } from '../../daemon/core/redactor.js';
import { MIGRATIONS } from '../../daemon/store/schema.js';
import { Store } from '../../daemon/store/store.js';
import type { SecretUse, SecretVersionRef } from '../../daemon/vault/api.js';
import { accountOf, versionAccountOf } from '../../daemon/vault/backend.js';
import { vaultConfigFromEnvironment } from '../../daemon/vault/config.js';
import { Vault } from '../../daemon/vault/vault.js';
import { ROOT } from '../harness/daemon.js';
import { type KeyringSession, startKeyring } from '../harness/keyring.js';
import { BACKENDS, TEST_MASTER_KEY, keychainAccounts } from './vault-support.js';

const CALLER = { client: 'test', requestId: 'req-versions' };
const USE: SecretUse = { client: 'deploy', requestId: 'run-rollback', action: 'rollback' };
const DAY_MS = 86_400_000;

/** What the child process runs: one vault call on the folder, with the keeper's fault point armed. */
const CHILD_SCRIPT = `
import path from 'node:path';
import { AuditLog } from './daemon/audit/auditLog.js';
import { Logger } from './daemon/core/logger.js';
import { Redactor } from './daemon/core/redactor.js';
import { EmbeddedDatabase } from './daemon/store/embedded.js';
import { MIGRATIONS } from './daemon/store/schema.js';
import { Store } from './daemon/store/store.js';
import { vaultConfigFromEnvironment } from './daemon/vault/config.js';
import { Vault } from './daemon/vault/vault.js';


const folder = process.env.VERSIONS_TEST_FOLDER;
const store = await Store.open({ database: path.join(folder, 'zavhoz.db'), journal: path.join(folder, 'zavhoz.journal'), migrations: MIGRATIONS });
const redactor = new Redactor();
const logger = new Logger({ file: path.join(folder, 'child.log'), redactor });
const vault = new Vault({ store: EmbeddedDatabase.of(store), audit: new AuditLog(EmbeddedDatabase.of(store)), redactor, notifier: { notify() {} }, log: logger.child({ component: 'vault' }), ...vaultConfigFromEnvironment(folder, redactor) });
const target = process.env.VERSIONS_TEST_TARGET;
if (process.env.VERSIONS_TEST_ACTION === 'release') await vault.releaseHolder(target);
else await vault.remove(target, { client: 'test', requestId: 'child' });
process.stdout.write('finished without the fault');
`;

for (const backendName of BACKENDS) {
  describe(`vault versions (${backendName} backend)`, () => {
    let keyring: KeyringSession | undefined;
    let folder: string;
    let store: Store;
    let redactor: Redactor;
    let logger: Logger;
    let vault: Vault;
    const savedEnvironment = { ...process.env };

    const environment = (): NodeJS.ProcessEnv =>
      keyring ? { ...keyring.env } : { PATH: process.env.PATH, ZAVHOZ_VAULT: 'file', ZAVHOZ_MASTER_KEY: TEST_MASTER_KEY };
    const open = async (): Promise<void> => {
      store = await Store.open({ database: path.join(folder, 'zavhoz.db'), journal: path.join(folder, 'zavhoz.journal'), migrations: MIGRATIONS });
      redactor = new Redactor();
      logger = new Logger({ file: path.join(folder, 'daemon.log'), redactor });
      const config = vaultConfigFromEnvironment(folder, redactor, environment());
      vault = new Vault({ store: EmbeddedDatabase.of(store), audit: new AuditLog(EmbeddedDatabase.of(store)), redactor, notifier: { notify: () => undefined }, log: logger.child({ component: 'vault' }), ...config });
    };
    const close = (): void => {
      vault.stop();
      logger.close();
      store.close();
    };
    /** Account names the backend holds for `handle` (keychain: read by a separate process; file: vault.enc). */
    const accountsOf = async (handle: string): Promise<string[]> => {
      let all: string[];
      if (keyring) all = await keychainAccounts(keyring.env);
      else {
        const file = path.join(folder, 'vault.enc');
        all = fs.existsSync(file) ? Object.keys((JSON.parse(fs.readFileSync(file, 'utf8')) as { entries: object }).entries) : [];
      }
      return all.filter((account) => account.startsWith(handle)).sort();
    };
    const valueOf = (ref: SecretVersionRef): Promise<string> => vault.withVersion(ref, USE, (value) => value);
    /** Runs one vault call in a child process that SIGKILLs itself at `fault`; resolves with how it ended. */
    const crashChild = (action: 'release' | 'delete', target: string, fault: string): Promise<{ signal: NodeJS.Signals | null; stdout: string; stderr: string }> =>
      new Promise((resolve, reject) => {
        const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', CHILD_SCRIPT], {
          cwd: ROOT,
          env: { ...environment(), VERSIONS_TEST_FOLDER: folder, VERSIONS_TEST_ACTION: action, VERSIONS_TEST_TARGET: target, ZAVHOZ_TEST_FAULT: fault },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
        child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
        child.on('error', reject);
        child.on('close', (_code, signal) => resolve({ signal, stdout, stderr }));
      });

    before(async () => {
      if (backendName === 'keychain') {
        keyring = await startKeyring();
        // The keychain library reaches the Secret Service through the session bus named in this process's environment.
        Object.assign(process.env, keyring.env);
      }
    });
    after(async () => {
      // eslint-disable-next-line @typescript-eslint/no-dynamic-delete -- deleting is how a variable is unset in process.env
    for (const key of Object.keys(process.env)) if (!(key in savedEnvironment)) delete process.env[key];
      Object.assign(process.env, savedEnvironment);
      await keyring?.stop();
    });
    beforeEach(async () => {
      folder = fs.mkdtempSync(path.join(os.tmpdir(), 'zavhoz-versions-'));
      await open();
    });
    afterEach(() => {
      close();
      fs.rmSync(folder, { recursive: true, force: true });
    });

    test('a retained v1 outlives 3 rotations, the 7-day expiry and a deploy, and leaves the backend when released', async () => {
      const secret = await vault.set({ name: 'DB_PASSWORD', type: 'text', value: 'keychain-version-one' }, CALLER);
      const [v1] = await vault.currentVersions([secret.handle]);
      assert.ok(v1);
      assert.equal(v1.version, 1);
      await vault.retain('rel_first', [v1]);
      for (const value of ['keychain-version-two', 'keychain-version-three', 'keychain-version-four']) await vault.rotate({ handle: secret.handle, value }, CALLER);
      assert.equal((await vault.get(secret.handle)).version, 4);
      assert.deepEqual(await accountsOf(secret.handle), [secret.handle, ...[1, 2, 3].map((version) => versionAccountOf(secret.handle, version))]);

      store.transaction((tx) => tx.run('UPDATE secret_versions SET kept_until = ?', [new Date(Date.now() - DAY_MS).toISOString()]));
      await vault.expirePrevious();
      assert.equal(await valueOf(v1), 'keychain-version-one', 'after the 7-day expiry');
      await vault.confirmDeployed([secret.handle]);
      assert.equal(await valueOf(v1), 'keychain-version-one', 'after a successful deploy');
      assert.deepEqual(await accountsOf(secret.handle), [secret.handle, versionAccountOf(secret.handle, 1)]);
      assert.equal(redactor.redact('keychain-version-one keychain-version-two'), `${REDACTED} keychain-version-two`);

      await vault.releaseHolder('rel_first');
      assert.deepEqual(await accountsOf(secret.handle), [secret.handle]);
      assert.equal(redactor.redact('keychain-version-one'), 'keychain-version-one', 'no longer masked once gone');
      assert.equal(redactor.redact('keychain-version-four'), REDACTED);
      await assert.rejects(() => valueOf(v1), /Version 1 of .* is no longer kept/);
    });

    test('a crash after a release commits is finished on the next start: the version leaves the backend', async () => {
      const secret = await vault.set({ name: 'CRASH_RELEASE', type: 'text', value: 'crash-release-one' }, CALLER);
      const [v1] = await vault.currentVersions([secret.handle]);
      assert.ok(v1);
      await vault.retain('rel_crash', [v1]);
      await vault.rotate({ handle: secret.handle, value: 'crash-release-two' }, CALLER);
      await vault.confirmDeployed([secret.handle]);
      close();
      const ended = await crashChild('release', 'rel_crash', 'vault-drop-after-commit');
      assert.equal(ended.signal, 'SIGKILL', `the child was to die at the fault point: ${ended.stdout} ${ended.stderr}`);
      assert.deepEqual(await accountsOf(secret.handle), [secret.handle, versionAccountOf(secret.handle, 1)], 'killed between the commit and the removal');

      await open();
      await assert.rejects(() => valueOf(v1), /no longer kept/, 'the commit stands');
      assert.deepEqual(await accountsOf(secret.handle), [secret.handle], 'the start finished the removal');
      assert.equal(store.all('SELECT id FROM vault_pending').length, 0);
      assert.equal(redactor.redact('crash-release-one'), 'crash-release-one');
    });

    test('a crash after deleting a secret with kept versions is finished on the next start; its releases are told it was deleted', async () => {
      const secret = await vault.set({ name: 'CRASH_DELETE', type: 'text', value: 'crash-delete-one' }, CALLER);
      const [v1] = await vault.currentVersions([secret.handle]);
      assert.ok(v1);
      await vault.retain('rel_deleted', [v1]);
      await vault.rotate({ handle: secret.handle, value: 'crash-delete-two' }, CALLER);
      await vault.rotate({ handle: secret.handle, value: 'crash-delete-three' }, CALLER);
      assert.equal((await accountsOf(secret.handle)).length, 3);
      close();
      const ended = await crashChild('delete', secret.handle, 'vault-delete-after-commit');
      assert.equal(ended.signal, 'SIGKILL', `the child was to die at the fault point: ${ended.stdout} ${ended.stderr}`);

      await open();
      await assert.rejects(() => valueOf(v1), /was deleted from the vault/);
      assert.deepEqual(await accountsOf(secret.handle), []);
      assert.equal(store.all('SELECT holder FROM secret_holds').length, 0);
      assert.equal(store.all('SELECT id FROM vault_pending').length, 0);
    });

    test('a folder of the single-previous layout loads: #previous becomes version 1 in its own account', async () => {
      // Migrations 1-6, rows and accounts as Zavhoz wrote them before numbered versions.
      close();
      for (const file of ['zavhoz.db', 'zavhoz.journal']) fs.rmSync(path.join(folder, file), { force: true });
      store = await Store.open({ database: path.join(folder, 'zavhoz.db'), journal: path.join(folder, 'zavhoz.journal'), migrations: MIGRATIONS.slice(0, 6) });
      const backend = await vaultConfigFromEnvironment(folder, new Redactor(), environment()).openBackend();
      const folderId = `old${crypto.randomBytes(6).toString('hex')}`;
      const handle = `sec_${folderId.slice(3, 11).replace(/[^a-z2-7]/g, 'a')}`;
      const key = crypto.randomBytes(32);
      await backend.write(`fingerprint-key.${folderId}`, key.toString('base64'));
      const fingerprint = (value: string): string => crypto.createHmac('sha256', key).update(value, 'utf8').digest('hex');
      const at = new Date().toISOString();
      const keptUntil = new Date(Date.now() + DAY_MS).toISOString();
      store.transaction((tx) => {
        tx.run('INSERT INTO vault_meta (key, value) VALUES (?, ?), (?, ?)', ['folder_id', folderId, 'backend', backend.kind]);
        tx.run(
          `INSERT INTO secrets (handle, name, type, category, project, tags, origin, generated_length, has_passphrase, fingerprint, created_at, updated_at,
             last_used_at, expires_at, rotation_days, previous_fingerprint, previous_has_passphrase, previous_kept_until)
           VALUES (?, 'OLD_LAYOUT', 'text', 'other', NULL, '[]', 'user', NULL, 0, ?, ?, ?, NULL, NULL, NULL, ?, 0, ?)`,
          [handle, fingerprint('old-layout-current'), at, at, fingerprint('old-layout-previous'), keptUntil],
        );
      });
      await backend.write(handle, 'old-layout-current');
      await backend.write(accountOf(handle, 'previous'), 'old-layout-previous');
      store.close();

      await open();
      assert.deepEqual((await vault.get(handle)).previous, { version: 1, fingerprint: fingerprint('old-layout-previous'), keptUntil });
      assert.equal(await valueOf({ handle, version: 1, fingerprint: fingerprint('old-layout-previous') }), 'old-layout-previous');
      assert.equal(await vault.withValue(handle, USE, (value) => value), 'old-layout-current');
      assert.deepEqual(await accountsOf(handle), [handle, versionAccountOf(handle, 1)]);
      assert.equal(redactor.redact('old-layout-previous'), REDACTED);
      await backend.remove(`fingerprint-key.${folderId}`);
    });
  });
}
