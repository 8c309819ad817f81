/**
 * The vault's domain rules against a real store (sql.js + journal) and the real encrypted-file backend; the
 * keychain backend and the daemon process are covered by test/integration/vault*.test.ts.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import ssh2 from 'ssh2';
import { AuditLog } from '../../daemon/audit/auditLog.js';
import { ZavhozError } from '../../daemon/core/errors.js';
import { Logger } from '../../daemon/core/logger.js';
import type { Notifier } from '../../daemon/core/notifier.js';
import { REDACTED, Redactor } from '../../daemon/core/redactor.js';
import type { NotificationDefinition } from '../../daemon/protocol/define.js';
import { ErrorCodes } from '../../daemon/protocol/errors.js';
import { MIGRATIONS } from '../../daemon/store/schema.js';
import { Store } from '../../daemon/store/store.js';
import { accountOf, type SecretBackend, versionAccountOf } from '../../daemon/vault/backend.js';
import { FileBackend } from '../../daemon/vault/fileBackend.js';
import { Vault } from '../../daemon/vault/vault.js';
import { EmbeddedDatabase } from '../../daemon/store/embedded.js';

const CALLER = { client: 'test', requestId: 'req-1' };
const MASTER_KEY = 'unit-test master key, long enough';

/** Records notifications instead of sending them (a stand-in for the daemon's socket server). */
class RecordingNotifier implements Notifier {
  readonly sent: { method: string; params: unknown }[] = [];
  notify<P>(definition: NotificationDefinition<P>, params: P): void {
    this.sent.push({ method: definition.method, params });
  }
}

/** The real file backend, with one write that can be made to fail (a keychain that errors half-way). */
class FailingBackend implements SecretBackend {
  readonly kind = 'file' as const;
  failOn: string | undefined;
  constructor(readonly inner: FileBackend) {}
  read(account: string): Promise<string | undefined> {
    return this.inner.read(account);
  }
  async write(account: string, value: string): Promise<void> {
    if (account === this.failOn) throw new ZavhozError(ErrorCodes.KeychainUnavailable, 'simulated keychain failure');
    await this.inner.write(account, value);
  }
  remove(account: string): Promise<boolean> {
    return this.inner.remove(account);
  }
  readMany(accounts: readonly string[]): Promise<Map<string, string>> {
    return this.inner.readMany(accounts);
  }
}

async function refusal(work: () => Promise<unknown>, code: number, pattern?: RegExp): Promise<ZavhozError> {
  try {
    await work();
  } catch (error) {
    assert.ok(error instanceof ZavhozError, String(error));
    assert.equal(error.code, code, error.message);
    if (pattern) assert.match(error.message, pattern);
    return error;
  }
  assert.fail('expected a refusal');
}

describe('vault (store + encrypted file backend)', () => {
  let folder: string;
  let store: Store;
  let backend: FailingBackend;
  let redactor: Redactor;
  let notifier: RecordingNotifier;
  let logger: Logger;
  let vault: Vault;

  const openStore = (): Promise<Store> =>
    Store.open({ database: path.join(folder, 'zavhoz.db'), journal: path.join(folder, 'zavhoz.journal'), migrations: MIGRATIONS });
  const newVault = (): Vault =>
    new Vault({ store: EmbeddedDatabase.of(store), audit: new AuditLog(EmbeddedDatabase.of(store)), redactor, notifier, log: logger.child({ component: 'vault' }), openBackend: async () => backend });
  const valueOf = (handle: string): Promise<string> => vault.withValue(handle, { ...CALLER, action: 'test' }, (value) => value);
  const accounts = (): string[] => Object.keys((JSON.parse(fs.readFileSync(path.join(folder, 'vault.enc'), 'utf8')) as { entries: object }).entries).sort();
  const pendingRows = (): number => store.all('SELECT id FROM vault_pending').length;

  beforeEach(async () => {
    folder = fs.mkdtempSync(path.join(os.tmpdir(), 'zavhoz-vault-'));
    store = await openStore();
    backend = new FailingBackend(await FileBackend.open(path.join(folder, 'vault.enc'), MASTER_KEY));
    redactor = new Redactor();
    notifier = new RecordingNotifier();
    logger = new Logger({ file: path.join(folder, 'daemon.log'), redactor });
    vault = newVault();
  });
  afterEach(() => {
    vault.stop();
    logger.close();
    store.close();
    fs.rmSync(folder, { recursive: true, force: true });
  });

  test('a stored value is lent to withValue, masked in logs, audited as a use, and announced by handle only', async () => {
    const secret = await vault.set({ name: 'API_TOKEN', type: 'token', category: 'api_key', project: 'shop', tags: ['prod'], value: 'canary-unit-value-1' }, CALLER);
    assert.match(secret.handle, /^sec_[a-z2-7]{8}$/);
    assert.equal(secret.fingerprint.length, 64);
    assert.equal(redactor.redact('leaked canary-unit-value-1 here'), `leaked ${REDACTED} here`);
    assert.equal(await vault.withValue(secret.handle, { client: 'deploy', requestId: 'run-7', action: 'deploy', detail: { project: 'shop' } }, (value) => value.length), 19);
    const use = (await new AuditLog(EmbeddedDatabase.of(store)).list({ subject: secret.handle }))[0];
    assert.deepEqual({ action: use?.action, client: use?.client, requestId: use?.requestId }, { action: 'deploy', client: 'deploy', requestId: 'run-7' });
    assert.ok((await vault.get(secret.handle)).lastUsedAt);
    assert.deepEqual(notifier.sent, [{ method: 'secrets/didChange', params: { handles: [secret.handle], change: 'created' } }]);
    assert.ok(!JSON.stringify(await vault.list()).includes('canary-unit-value-1'));
    assert.equal(await vault.has(secret.handle), true);
    assert.equal(await vault.has('sec_aaaaaaaa'), false);
  });

  test('bad input is refused and leaves no trace in the backend, the store or the pending table', async () => {
    const before = accounts();
    const cases: [() => Promise<unknown>, RegExp][] = [
      [() => vault.set({ name: 'EMPTY', type: 'text', value: '' }, CALLER), /is empty/],
      [() => vault.set({ name: 'BLANK', type: 'text', value: '   \n ' }, CALLER), /only whitespace/],
      [() => vault.set({ name: 'SHORT', type: 'password', value: 'abc' }, CALLER), /shorter than 4/],
      [() => vault.set({ name: 'HUGE', type: 'text', value: 'x'.repeat(64 * 1024 + 1) }, CALLER), /65537 bytes/],
      [() => vault.set({ name: 'lower_case', type: 'text', value: 'valid value' }, CALLER), /not a valid secret name/],
      [() => vault.set({ name: 'KEY', type: 'private_key', value: 'canary-not-a-key-at-all' }, CALLER), /not a private key/],
      [() => vault.set({ name: 'PUB', type: 'private_key', value: ssh2.utils.generateKeyPairSync('ed25519').public }, CALLER), /not a private key/],
      [() => vault.set({ name: 'TOKEN', type: 'token', value: 'a value', passphrase: 'pass phrase' }, CALLER), /only a private_key takes a passphrase/],
    ];
    for (const [work, pattern] of cases) {
      const error = await refusal(work, ErrorCodes.InvalidInput, pattern);
      assert.ok(!error.message.includes('canary-not-a-key'));
    }
    assert.deepEqual(await vault.list(), []);
    assert.deepEqual(accounts(), before);
    assert.equal(pendingRows(), 0);
  });

  test('private keys: PEM (PKCS#8, PKCS#1), OpenSSH, and encrypted ones only with the right passphrase', async () => {
    const pkcs8 = crypto.generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const pkcs1 = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
    const openssh = ssh2.utils.generateKeyPairSync('ed25519').private;
    const encrypted = ssh2.utils.generateKeyPairSync('ed25519', { passphrase: 'right passphrase', cipher: 'aes256-ctr', rounds: 2 }).private;
    const encryptedPem = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'pem passphrase' }).toString();
    for (const [name, value] of [['PKCS8_KEY', pkcs8], ['PKCS1_KEY', pkcs1], ['OPENSSH_KEY', openssh]] as const) {
      await vault.set({ name, type: 'private_key', value }, CALLER);
    }
    await refusal(() => vault.set({ name: 'ENC_KEY', type: 'private_key', value: encrypted }, CALLER), ErrorCodes.InvalidInput, /is encrypted: give its passphrase/);
    await refusal(() => vault.set({ name: 'ENC_KEY', type: 'private_key', value: encrypted, passphrase: 'wrong passphrase' }, CALLER), ErrorCodes.InvalidInput, /does not open the key/);
    await refusal(() => vault.set({ name: 'ENC_PEM', type: 'private_key', value: encryptedPem }, CALLER), ErrorCodes.InvalidInput, /is encrypted/);
    await refusal(() => vault.set({ name: 'ENC_PEM', type: 'private_key', value: encryptedPem, passphrase: 'wrong one' }, CALLER), ErrorCodes.InvalidInput, /does not open/);
    const withPassphrase = await vault.set({ name: 'ENC_KEY', type: 'private_key', value: encrypted, passphrase: 'right passphrase' }, CALLER);
    await vault.set({ name: 'ENC_PEM', type: 'private_key', value: encryptedPem, passphrase: 'pem passphrase' }, CALLER);
    assert.equal(withPassphrase.hasPassphrase, true);
    assert.ok(accounts().includes(accountOf(withPassphrase.handle, 'current', 'passphrase')));
    assert.equal(await vault.withPassphrase(withPassphrase.handle, { ...CALLER, action: 'ssh' }, (passphrase) => passphrase), 'right passphrase');
    assert.equal(redactor.redact('right passphrase'), REDACTED);
    const revealed = await vault.reveal(withPassphrase.handle, CALLER);
    assert.deepEqual([revealed.value, revealed.passphrase], [encrypted, 'right passphrase']);
    assert.equal((await vault.list()).length, 5);
  });

  test('one name per scope: the same name again is refused with the rotate hint, another project may have it', async () => {
    const first = await vault.set({ name: 'DB_URL', type: 'text', value: 'postgres://one' }, CALLER);
    const error = await refusal(() => vault.set({ name: 'DB_URL', type: 'text', value: 'postgres://two' }, CALLER), ErrorCodes.AlreadyExists);
    assert.match(error.message, new RegExp(`zavhoz secret rotate ${first.handle}`));
    await vault.set({ name: 'DB_URL', type: 'text', project: 'blog', value: 'postgres://two' }, CALLER);
    assert.deepEqual((await vault.list({ project: 'blog' })).map((secret) => secret.project), [null, 'blog']);
  });

  test('rotation keeps the previous value until a deploy confirms the new one', async () => {
    const generated = await vault.generate({ name: 'DB_PASSWORD', type: 'password', length: 40 }, CALLER);
    const old = await valueOf(generated.handle);
    assert.match(old, /^[A-Za-z0-9]{40}$/);
    const rotated = await vault.rotate({ handle: generated.handle }, CALLER);
    const fresh = await valueOf(generated.handle);
    assert.match(fresh, /^[A-Za-z0-9]{40}$/);
    assert.notEqual(fresh, old);
    assert.equal(rotated.previous?.fingerprint, generated.fingerprint);
    assert.ok(Date.parse(rotated.previous.keptUntil) > Date.now() + 6 * 86_400_000);
    assert.deepEqual([generated.version, rotated.version, rotated.previous.version], [1, 2, 1]);
    assert.equal(await backend.read(versionAccountOf(generated.handle, 1)), old);
    assert.equal(redactor.redact(old), REDACTED, 'the previous value stays masked while kept');
    assert.ok(!accounts().some((account) => account.includes('#next')));
    assert.equal(pendingRows(), 0);

    await vault.confirmDeployed([generated.handle]);
    assert.equal((await vault.get(generated.handle)).previous, null);
    assert.equal(await backend.read(versionAccountOf(generated.handle, 1)), undefined);
    assert.equal(redactor.redact(old), old, 'a dropped value is no longer masked');
  });

  test('previous versions older than 7 days are dropped', async () => {
    const secret = await vault.generate({ name: 'OLD_TOKEN', type: 'token' }, CALLER);
    await vault.rotate({ handle: secret.handle }, CALLER);
    store.transaction((tx) => tx.run('UPDATE secret_versions SET kept_until = ? WHERE handle = ?', ['2000-01-01T00:00:00.000Z', secret.handle]));
    await vault.expirePrevious();
    assert.equal((await vault.get(secret.handle)).previous, null);
    assert.equal(await backend.read(versionAccountOf(secret.handle, 1)), undefined);
    assert.ok((await new AuditLog(EmbeddedDatabase.of(store)).list({ subject: secret.handle })).some((entry) => entry.action === 'drop-previous'));
  });

  test('a typed-in secret is not rotated to a made-up value; with a new value it is', async () => {
    const secret = await vault.set({ name: 'TELEGRAM_BOT_TOKEN', type: 'token', value: 'user-typed-token-1' }, CALLER);
    await refusal(() => vault.rotate({ handle: secret.handle }, CALLER), ErrorCodes.InvalidInput, /holds a value you gave/);
    await vault.rotate({ handle: secret.handle, value: 'user-typed-token-2' }, CALLER);
    assert.equal(await valueOf(secret.handle), 'user-typed-token-2');
    const asked = await vault.rotate({ handle: secret.handle, generate: true, length: 20 }, CALLER);
    assert.equal(asked.origin, 'generated');
    assert.match(await valueOf(secret.handle), /^[A-Za-z0-9_-]{20}$/);
    const text = await vault.set({ name: 'NOTES', type: 'text', value: 'some notes' }, CALLER);
    await refusal(() => vault.rotate({ handle: text.handle, generate: true }, CALLER), ErrorCodes.InvalidInput, /generates passwords and tokens only/);
    await refusal(() => vault.rotate({ handle: text.handle, value: 'new notes', generate: true }, CALLER), ErrorCodes.InvalidInput, /not both/);
    await refusal(() => vault.rotate({ handle: 'sec_aaaaaaaa' }, CALLER), ErrorCodes.NotFound, /zavhoz secret list/);
  });

  test('import is all or nothing, then creates, rotates and leaves equal values alone', async () => {
    await refusal(() => vault.importDotenv({ content: 'GOOD=fine-value\nBAD=abc\n' }, CALLER), ErrorCodes.InvalidInput, /\.env line 2: .*shorter than 4/);
    assert.deepEqual(await vault.list(), []);
    const first = await vault.importDotenv({ content: 'A_KEY=value-one\nB_KEY="multi\nline"\n', project: 'shop' }, CALLER);
    assert.deepEqual(first.created, ['A_KEY', 'B_KEY']);
    const firstFingerprint = (await vault.get(first.handles.B_KEY ?? '')).fingerprint;
    const second = await vault.importDotenv({ content: 'A_KEY=value-one\nB_KEY=changed-value\nC_KEY=new-value\n', project: 'shop' }, CALLER);
    assert.deepEqual([second.created, second.updated, second.unchanged], [['C_KEY'], ['B_KEY'], ['A_KEY']]);
    assert.equal(second.handles.A_KEY, first.handles.A_KEY);
    assert.equal(await valueOf(second.handles.B_KEY ?? ''), 'changed-value');
    assert.equal((await vault.get(second.handles.B_KEY ?? '')).previous?.fingerprint, firstFingerprint);
    assert.deepEqual((await new AuditLog(EmbeddedDatabase.of(store)).list()).filter((entry) => entry.action === 'import').length, 4);
  });

  test('a backend failure half-way through an import undoes the values already written', async () => {
    await vault.set({ name: 'EXISTING', type: 'text', value: 'existing-value' }, CALLER);
    const before = accounts();
    // Handles are random, so fail on whichever third account the import writes.
    const inner = backend.inner;
    let writes = 0;
    backend.write = async (account, value) => {
      if (++writes === 3) throw new ZavhozError(ErrorCodes.KeychainUnavailable, 'simulated keychain failure');
      await inner.write(account, value);
    };
    await refusal(() => vault.importDotenv({ content: 'ONE=value-one\nTWO=value-two\nEXISTING=new-existing\nFOUR=value-four\n' }, CALLER), ErrorCodes.KeychainUnavailable);
    assert.deepEqual(accounts(), before);
    assert.deepEqual((await vault.list()).map((secret) => secret.name), ['EXISTING']);
    assert.equal(pendingRows(), 0);
    assert.equal(redactor.redact('value-one'), 'value-one', 'values that never landed are not left masked');
  });

  test('a restarted vault masks every stored value and finishes a rotation interrupted after its commit', async () => {
    const secret = await vault.generate({ name: 'SESSION_SECRET', type: 'token' }, CALLER);
    const old = await valueOf(secret.handle);
    await vault.rotate({ handle: secret.handle }, CALLER);
    const fresh = await valueOf(secret.handle);
    // Put the backend back where a crash right after the commit leaves it: current still old, new one staged.
    await backend.inner.write(accountOf(secret.handle), old);
    await backend.inner.write(accountOf(secret.handle, 'next'), fresh);
    await backend.inner.remove(versionAccountOf(secret.handle, 1));
    store.transaction((tx) => tx.run("INSERT INTO vault_pending (handle, operation, state, created_at) VALUES (?, 'replace', 'committed', ?)", [secret.handle, new Date().toISOString()]));

    redactor = new Redactor();
    vault = newVault();
    assert.equal(await valueOf(secret.handle), fresh);
    assert.equal(await backend.read(versionAccountOf(secret.handle, 1)), old);
    assert.equal(await backend.read(accountOf(secret.handle, 'next')), undefined);
    assert.equal(pendingRows(), 0);
    assert.equal(redactor.redact(`${old} ${fresh}`), `${REDACTED} ${REDACTED}`);
  });

  test('a restarted vault rolls back a create that never committed', async () => {
    store.transaction((tx) => tx.run("INSERT INTO vault_pending (handle, operation, state, created_at) VALUES ('sec_zzzzzzzz', 'create', 'prepared', ?)", [new Date().toISOString()]));
    await backend.inner.write('sec_zzzzzzzz', 'orphan-value');
    vault = newVault();
    assert.deepEqual(await vault.list(), []);
    await vault.generate({ name: 'ANYTHING', type: 'token' }, CALLER);
    assert.equal(await backend.read('sec_zzzzzzzz'), undefined);
    assert.equal(pendingRows(), 0);
  });
});
