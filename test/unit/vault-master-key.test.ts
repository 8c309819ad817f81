/**
 * The file vault's master key: read from a private key file (preferred) or the environment, never left in the
 * daemon's environment for its children, masked by the redactor, and a key file others can read is refused.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ZavhozError } from '../../daemon/core/errors.js';
import { REDACTED, Redactor } from '../../daemon/core/redactor.js';
import { ErrorCodes } from '../../daemon/protocol/errors.js';
import { vaultConfigFromEnvironment } from '../../daemon/vault/config.js';
import { chooseMasterKey, readMasterKeyFile } from '../../daemon/vault/masterKey.js';

const KEY = 'unit-test master key from a file 0123';

/** Runs `work`, expecting a VaultKeyInvalid refusal, and returns its message. */
async function refusal(work: () => unknown): Promise<string> {
  try {
    await work();
  } catch (error) {
    assert.ok(error instanceof ZavhozError, String(error));
    assert.equal(error.code, ErrorCodes.VaultKeyInvalid, error.message);
    return error.message;
  }
  assert.fail('expected a refusal');
}

describe('file vault master key', () => {
  let folder: string;
  const keyFile = (name: string, content: string, mode: number): string => {
    const file = path.join(folder, name);
    fs.writeFileSync(file, content, { mode });
    fs.chmodSync(file, mode); // the umask may have taken bits away
    return file;
  };

  before(() => {
    folder = fs.mkdtempSync(path.join(os.tmpdir(), 'zavhoz-master-key-'));
  });
  after(() => fs.rmSync(folder, { recursive: true, force: true }));

  test('a 0600 key file gives the key without its final newline; 0400 is fine too', () => {
    assert.equal(readMasterKeyFile(keyFile('key-0600', `${KEY}\n`, 0o600)), KEY);
    assert.equal(readMasterKeyFile(keyFile('key-0400', `${KEY}\r\n`, 0o400)), KEY);
    assert.equal(readMasterKeyFile(keyFile('key-inner', `${KEY}\n\n`, 0o600)), `${KEY}\n`, 'only one final newline is dropped');
  });

  test('a key file others can read or write is refused, saying which mode it has and how to fix it', async () => {
    for (const mode of [0o644, 0o640, 0o604, 0o620]) {
      const file = keyFile(`key-${mode.toString(8)}`, KEY, mode);
      const message = await refusal(() => readMasterKeyFile(file));
      assert.match(message, new RegExp(`${file} has mode 0${mode.toString(8)}.*0600 or stricter.*chmod 600 ${file}`));
    }
  });

  test('a key file owned by another user is refused', { skip: process.getuid?.() !== 0 && 'needs root to chown' }, async () => {
    const file = keyFile('key-other-owner', KEY, 0o600);
    fs.chownSync(file, 65534, 65534);
    assert.match(await refusal(() => readMasterKeyFile(file)), /belongs to uid 65534, not to the user the daemon runs as/);
  });

  test('a relative path, a missing file, a folder and an empty file are refused clearly', async () => {
    assert.match(await refusal(() => readMasterKeyFile('relative/key')), /must be an absolute path/);
    assert.match(await refusal(() => readMasterKeyFile(path.join(folder, 'missing'))), /cannot be read: ENOENT/);
    assert.match(await refusal(() => readMasterKeyFile(folder)), /not a regular file/);
    assert.match(await refusal(() => readMasterKeyFile(keyFile('key-empty', '\n', 0o600))), /is empty/);
  });

  test('the key file is preferred; both at once or neither is refused', async () => {
    const file = keyFile('key-choice', KEY, 0o600);
    assert.deepEqual(chooseMasterKey(undefined, file), { value: KEY, source: `ZAVHOZ_MASTER_KEY_FILE (${file})` });
    assert.deepEqual(chooseMasterKey('from-the-environment-0123', undefined), { value: 'from-the-environment-0123', source: 'ZAVHOZ_MASTER_KEY' });
    assert.match(await refusal(() => chooseMasterKey('from-the-environment-0123', file)), /Both ZAVHOZ_MASTER_KEY_FILE and ZAVHOZ_MASTER_KEY are set/);
    assert.match(await refusal(() => chooseMasterKey(undefined, undefined)), /ZAVHOZ_VAULT=file needs ZAVHOZ_MASTER_KEY_FILE .* or ZAVHOZ_MASTER_KEY/);
  });

  test('the daemon takes both variables out of its environment, opens the vault with the file key and masks it', async () => {
    const file = keyFile('key-config', `${KEY}\n`, 0o600);
    const env: NodeJS.ProcessEnv = { ZAVHOZ_VAULT: 'file', ZAVHOZ_MASTER_KEY_FILE: file, PATH: '/usr/bin' };
    const redactor = new Redactor();
    const config = vaultConfigFromEnvironment(folder, redactor, env);
    assert.deepEqual(env, { ZAVHOZ_VAULT: 'file', PATH: '/usr/bin' }, 'children started with this environment learn nothing of the key');
    const backend = await config.openBackend();
    assert.equal(backend.kind, 'file');
    assert.equal(redactor.redact(`key=${KEY}`), `key=${REDACTED}`);

    const withVariable: NodeJS.ProcessEnv = { ZAVHOZ_VAULT: 'file', ZAVHOZ_MASTER_KEY: KEY };
    const sameVault = vaultConfigFromEnvironment(folder, new Redactor(), withVariable);
    assert.deepEqual(withVariable, { ZAVHOZ_VAULT: 'file' });
    assert.equal((await sameVault.openBackend()).kind, 'file', 'the file holds the key itself: the variable with the same key opens the same vault');
  });

  test('a vault whose key file is refused does not open, and says why', async () => {
    const file = keyFile('key-loose', KEY, 0o644);
    const config = vaultConfigFromEnvironment(folder, new Redactor(), { ZAVHOZ_VAULT: 'file', ZAVHOZ_MASTER_KEY_FILE: file });
    assert.match(await refusal(() => config.openBackend()), /has mode 0644/);
  });
});
