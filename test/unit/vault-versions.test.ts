/**
 * Numbered secret versions and the releases that keep them, against a real store (sql.js + journal) and the real
 * encrypted-file backend: what a release records, what it can restore, what the vault keeps for it and when it
 * lets go (backend accounts and masking included). The keychain and crash points: test/integration/vault-versions.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { AuditLog } from '../../daemon/audit/auditLog.js';
import { ZavhozError } from '../../daemon/core/errors.js';
import { Logger } from '../../daemon/core/logger.js';
import { REDACTED, Redactor } from '../../daemon/core/redactor.js';
import { ErrorCodes } from '../../daemon/protocol/errors.js';
import { MIGRATIONS } from '../../daemon/store/schema.js';
import { Store } from '../../daemon/store/store.js';
import type { SecretUse, SecretVersionRef } from '../../daemon/vault/api.js';
import { versionAccountOf } from '../../daemon/vault/backend.js';
import { FileBackend } from '../../daemon/vault/fileBackend.js';
import { Vault } from '../../daemon/vault/vault.js';
import { EmbeddedDatabase } from '../../daemon/store/embedded.js';

const CALLER = { client: 'test', requestId: 'req-1' };
const USE: SecretUse = { client: 'deploy', requestId: 'run-rollback', action: 'rollback', detail: { project: 'shop' } };
const MASTER_KEY = 'unit-test master key, long enough';
const DAY_MS = 86_400_000;

async function refusal(work: () => Promise<unknown>, code: number, pattern: RegExp): Promise<void> {
  await assert.rejects(work, (error: unknown) => {
    assert.ok(error instanceof ZavhozError, String(error));
    assert.equal(error.code, code, error.message);
    assert.match(error.message, pattern);
    return true;
  });
}

describe('vault versions (store + encrypted file backend)', () => {
  let folder: string;
  let store: Store;
  let backend: FileBackend;
  let redactor: Redactor;
  let logger: Logger;
  let vault: Vault;

  const newVault = (): Vault =>
    new Vault({
      store: EmbeddedDatabase.of(store),
      audit: new AuditLog(EmbeddedDatabase.of(store)),
      redactor,
      notifier: { notify: () => undefined },
      log: logger.child({ component: 'vault' }),
      openBackend: async () => backend,
    });
  const accounts = (): string[] => Object.keys((JSON.parse(fs.readFileSync(path.join(folder, 'vault.enc'), 'utf8')) as { entries: object }).entries).sort();
  const valueOf = (ref: SecretVersionRef): Promise<string> => vault.withVersion(ref, USE, (value) => value);
  /** Sets a secret to `values[0]` and rotates it to each next one, returning each version's reference. */
  const versions = async (name: string, values: readonly string[]): Promise<SecretVersionRef[]> => {
    const [first, ...rest] = values;
    const created = await vault.set({ name, type: 'text', value: first ?? '' }, CALLER);
    const refs = await vault.currentVersions([created.handle]);
    for (const value of rest) {
      await vault.rotate({ handle: created.handle, value }, CALLER);
      refs.push(...(await vault.currentVersions([created.handle])));
    }
    return refs;
  };
  const pastGrace = (): void => {
    store.transaction((tx) => tx.run('UPDATE secret_versions SET kept_until = ?', [new Date(Date.now() - DAY_MS).toISOString()]));
  };

  beforeEach(async () => {
    folder = fs.mkdtempSync(path.join(os.tmpdir(), 'zavhoz-versions-'));
    store = await Store.open({ database: path.join(folder, 'zavhoz.db'), journal: path.join(folder, 'zavhoz.journal'), migrations: MIGRATIONS });
    backend = await FileBackend.open(path.join(folder, 'vault.enc'), MASTER_KEY);
    redactor = new Redactor();
    logger = new Logger({ file: path.join(folder, 'daemon.log'), redactor });
    vault = newVault();
  });
  afterEach(() => {
    vault.stop();
    logger.close();
    store.close();
    fs.rmSync(folder, { recursive: true, force: true });
  });

  test('every rotation makes the next version; a release records each secret at its current version', async () => {
    const refs = await versions('API_TOKEN', ['token-version-one', 'token-version-two', 'token-version-three']);
    assert.deepEqual(
      refs.map((ref) => ref.version),
      [1, 2, 3],
    );
    const handle = refs[0]?.handle ?? '';
    const metadata = await vault.get(handle);
    assert.deepEqual([metadata.version, metadata.fingerprint, metadata.previous?.version], [3, refs[2]?.fingerprint, 2]);
    assert.equal((await vault.list())[0]?.version, 3);
    // What the notification seed records at start, read without the rest of the metadata: the same versions.
    assert.deepEqual(await vault.allCurrentVersions(), [{ handle, version: 3 }]);
    assert.equal(new Set(refs.map((ref) => ref.fingerprint)).size, 3);
    await refusal(async () => await vault.currentVersions([handle, 'sec_aaaaaaaa']), ErrorCodes.NotFound, /sec_aaaaaaaa not found/);
  });

  test('a retained v1 survives three rotations, the 7-day expiry and a deploy; releasing it removes and unmasks it', async () => {
    const values = ['pinned-value-one', 'pinned-value-two', 'pinned-value-three', 'pinned-value-four'];
    const refs = await versions('DB_PASSWORD', values.slice(0, 1));
    const [v1] = refs;
    assert.ok(v1);
    await vault.retain('rel_one', [v1]);
    for (const value of values.slice(1)) await vault.rotate({ handle: v1.handle, value }, CALLER);
    assert.equal((await vault.get(v1.handle)).version, 4);
    pastGrace();
    await vault.expirePrevious();
    assert.equal(await valueOf(v1), 'pinned-value-one', 'kept past the 7 days while a release holds it');
    await vault.confirmDeployed([v1.handle]);
    assert.equal(await valueOf(v1), 'pinned-value-one', 'kept past the next deploy while a release holds it');
    assert.deepEqual(accounts().filter((account) => account.startsWith(v1.handle)), [v1.handle, versionAccountOf(v1.handle, 1)]);
    assert.equal((await vault.get(v1.handle)).previous, null, 'a version only a release keeps is not the previous one');
    await refusal(() => valueOf({ ...v1, version: 2, fingerprint: v1.fingerprint }), ErrorCodes.NotFound, /Version 2 of .* is no longer kept .*current one is version 4/);
    assert.equal(redactor.redact('pinned-value-two'), 'pinned-value-two', 'dropped versions are no longer masked');
    assert.equal(redactor.redact('pinned-value-one'), REDACTED);

    await vault.releaseHolder('rel_one');
    assert.deepEqual(accounts().filter((account) => account.startsWith(v1.handle)), [v1.handle]);
    assert.equal(redactor.redact('pinned-value-one'), 'pinned-value-one', 'a released version is no longer masked');
    assert.equal(redactor.redact('pinned-value-four'), REDACTED);
    await refusal(() => valueOf(v1), ErrorCodes.NotFound, /Version 1 of .* is no longer kept/);
    const drops = (await new AuditLog(EmbeddedDatabase.of(store)).list({ subject: v1.handle })).filter((entry) => entry.action === 'drop-previous');
    assert.deepEqual(drops.map((entry) => [entry.detail.version, entry.detail.reason]).sort(), [[1, 'released'], [2, 'expired'], [3, 'expired']]);
    const uses = (await new AuditLog(EmbeddedDatabase.of(store)).list({ subject: v1.handle })).filter((entry) => entry.action === 'rollback');
    assert.ok(uses.length >= 2 && uses.every((entry) => entry.detail.version === 1 && entry.detail.project === 'shop'), 'each loan is audited with its version');
  });

  test('a version stays while any holder or its grace keeps it, and the current version is never removed', async () => {
    const [v1, v2] = await versions('SHARED', ['shared-value-one', 'shared-value-two']);
    assert.ok(v1 && v2);
    await vault.retain('rel_a', [v1]);
    await vault.retain('rel_b', [v1, v2]);
    await vault.releaseHolder('rel_a');
    assert.equal(await valueOf(v1), 'shared-value-one', 'rel_b still holds it');
    await vault.retain('rel_b', [v2]);
    assert.equal(await valueOf(v1), 'shared-value-one', 'still in its grace after the rotation');
    await vault.confirmDeployed([v1.handle]);
    await refusal(() => valueOf(v1), ErrorCodes.NotFound, /no longer kept/);
    await vault.releaseHolder('rel_b');
    await vault.releaseHolder('rel_unknown');
    assert.equal(await valueOf(v2), 'shared-value-two', 'the current version stays without any holder');
    assert.deepEqual(accounts().filter((account) => account.startsWith(v1.handle)), [v1.handle]);
  });

  test('a value shared by two versions stays masked until both are gone', async () => {
    const [v1, , v3] = await versions('FLIP', ['flip-value-a', 'flip-value-b', 'flip-value-a']);
    assert.ok(v1 && v3);
    assert.equal(v1.fingerprint, v3.fingerprint);
    await vault.confirmDeployed([v1.handle]);
    assert.equal(redactor.redact('flip-value-b'), 'flip-value-b');
    assert.equal(redactor.redact('flip-value-a'), REDACTED, 'v1 is gone but the current v3 has the same value');
  });

  test('retain refuses what the vault does not hold, and a wrong fingerprint is never lent', async () => {
    const [v1] = await versions('CHECKED', ['checked-value-one']);
    assert.ok(v1);
    await refusal(() => vault.retain('rel_x', [{ ...v1, version: 7 }]), ErrorCodes.NotFound, /Version 7 of .* no longer kept/);
    await refusal(() => vault.retain('rel_x', [{ handle: 'sec_aaaaaaaa', version: 1, fingerprint: 'f'.repeat(64) }]), ErrorCodes.NotFound, /was deleted/);
    await refusal(() => valueOf({ ...v1, fingerprint: '0'.repeat(64) }), ErrorCodes.NotFound, /holds another value than the one recorded/);
    assert.equal(store.all('SELECT holder FROM secret_holds').length, 0, 'a refused retain keeps nothing');
  });

  test('deleting a secret removes every version and every pin; a release that recorded it is told it was deleted', async () => {
    const [v1, v2] = await versions('GOING', ['going-value-one', 'going-value-two']);
    assert.ok(v1 && v2);
    await vault.retain('rel_one', [v1]);
    await vault.retain('rel_two', [v2]);
    await vault.remove(v1.handle, CALLER);
    assert.deepEqual(accounts().filter((account) => account.startsWith(v1.handle)), []);
    assert.equal(store.all('SELECT holder FROM secret_holds').length, 0);
    assert.equal(store.all('SELECT handle FROM secret_versions').length, 0);
    await refusal(() => valueOf(v1), ErrorCodes.NotFound, /was deleted from the vault/);
    await refusal(() => valueOf(v2), ErrorCodes.NotFound, /was deleted from the vault/);
    assert.equal(redactor.redact('going-value-one going-value-two'), 'going-value-one going-value-two');
    await vault.releaseHolder('rel_one');
  });

  test('a restarted vault masks every kept version and finishes a drop interrupted after its commit', async () => {
    const [v1, v2] = await versions('RESTARTED', ['restart-value-one', 'restart-value-two', 'restart-value-three']);
    assert.ok(v1 && v2);
    await vault.retain('rel_one', [v1]);
    redactor = new Redactor();
    vault = newVault();
    assert.equal(await vault.withValue(v1.handle, USE, (value) => value), 'restart-value-three');
    assert.equal(redactor.redact('restart-value-one restart-value-two'), `${REDACTED} ${REDACTED}`);

    // Where a crash right after the drop's commit leaves it: metadata gone, accounts still there, a committed row.
    store.transaction((tx) => {
      tx.run('DELETE FROM secret_versions WHERE handle = ? AND version = 2', [v2.handle]);
      tx.run("INSERT INTO vault_pending (handle, operation, state, created_at, version) VALUES (?, 'drop-version', 'committed', ?, 2)", [v2.handle, new Date().toISOString()]);
    });
    redactor = new Redactor();
    vault = newVault();
    assert.equal(await valueOf(v1), 'restart-value-one');
    assert.ok(!accounts().includes(versionAccountOf(v2.handle, 2)));
    assert.equal(redactor.redact('restart-value-two'), 'restart-value-two');
    assert.equal(store.all('SELECT id FROM vault_pending').length, 0);
  });

  test('a data folder of the single-previous layout loads: its previous value becomes version 1, the current version 2', async () => {
    // The schema (migrations 1-6), rows and accounts exactly as Zavhoz wrote them before numbered versions.
    store.close();
    for (const file of ['zavhoz.db', 'zavhoz.journal']) fs.rmSync(path.join(folder, file), { force: true });
    const database = { database: path.join(folder, 'zavhoz.db'), journal: path.join(folder, 'zavhoz.journal') };
    store = await Store.open({ ...database, migrations: MIGRATIONS.slice(0, 6) });
    const key = crypto.randomBytes(32);
    await backend.write('fingerprint-key.oldfolder', key.toString('base64'));
    const fingerprint = (value: string): string => crypto.createHmac('sha256', key).update(value, 'utf8').digest('hex');
    const at = new Date().toISOString();
    const keptUntil = new Date(Date.now() + 3 * DAY_MS).toISOString();
    const insert = (handle: string, name: string, value: string, previous: string | null): void =>
      store.transaction((tx) => {
        tx.run(
          `INSERT INTO secrets (handle, name, type, category, project, tags, origin, generated_length, has_passphrase, fingerprint, created_at, updated_at,
             last_used_at, expires_at, rotation_days, previous_fingerprint, previous_has_passphrase, previous_kept_until)
           VALUES (?, ?, 'text', 'other', NULL, '[]', 'user', NULL, 0, ?, ?, ?, NULL, NULL, NULL, ?, 0, ?)`,
          [handle, name, fingerprint(value), at, at, previous === null ? null : fingerprint(previous), previous === null ? null : keptUntil],
        );
      });
    store.transaction((tx) => tx.run("INSERT INTO vault_meta (key, value) VALUES ('folder_id', 'oldfolder'), ('backend', 'file')"));
    insert('sec_plainaaa', 'PLAIN', 'old-layout-plain', null);
    await backend.write('sec_plainaaa', 'old-layout-plain');
    insert('sec_rotatedb', 'ROTATED', 'old-layout-current', 'old-layout-previous');
    await backend.write('sec_rotatedb', 'old-layout-current');
    await backend.write('sec_rotatedb#previous', 'old-layout-previous');
    // A rotation the old code had committed but not moved into place when it stopped: current old, new one staged.
    insert('sec_midwayccc', 'MIDWAY', 'midway-new', 'midway-old');
    await backend.write('sec_midwayccc', 'midway-old');
    await backend.write('sec_midwayccc#next', 'midway-new');
    await backend.write('sec_midwayccc#previous', 'stale-previous-value');
    store.transaction((tx) => tx.run("INSERT INTO vault_pending (handle, operation, state, created_at) VALUES ('sec_midwayccc', 'replace', 'committed', ?)", [at]));
    store.close();

    store = await Store.open({ ...database, migrations: MIGRATIONS });
    vault = newVault();
    assert.deepEqual((await vault.get('sec_rotatedb')).previous, { version: 1, fingerprint: fingerprint('old-layout-previous'), keptUntil });
    assert.deepEqual(await Promise.all(['sec_plainaaa', 'sec_rotatedb', 'sec_midwayccc'].map(async (handle) => (await vault.get(handle)).version)), [1, 2, 2]);
    assert.equal(await valueOf({ handle: 'sec_rotatedb', version: 1, fingerprint: fingerprint('old-layout-previous') }), 'old-layout-previous');
    assert.equal(await vault.withValue('sec_rotatedb', USE, (value) => value), 'old-layout-current');
    assert.equal(await valueOf({ handle: 'sec_midwayccc', version: 1, fingerprint: fingerprint('midway-old') }), 'midway-old');
    assert.equal(await vault.withValue('sec_midwayccc', USE, (value) => value), 'midway-new');
    assert.deepEqual(
      accounts().filter((account) => account.startsWith('sec_')),
      ['sec_midwayccc', 'sec_midwayccc@v1', 'sec_plainaaa', 'sec_rotatedb', 'sec_rotatedb@v1'],
      'the old #previous accounts were moved or (the stale one) removed',
    );
    assert.equal(redactor.redact('old-layout-previous midway-old'), `${REDACTED} ${REDACTED}`);
    assert.equal(redactor.redact('stale-previous-value'), 'stale-previous-value');
    assert.equal(store.all('SELECT id FROM vault_pending').length, 0);
    // From here on they behave like any other kept version.
    await vault.confirmDeployed(['sec_rotatedb', 'sec_midwayccc']);
    assert.deepEqual(
      accounts().filter((account) => account.startsWith('sec_')),
      ['sec_midwayccc', 'sec_plainaaa', 'sec_rotatedb'],
    );
  });
});
