/**
 * The vault through a real daemon process, on both backends: the CLI and protocol operations, bad input,
 * crash-safety (the daemon SIGKILLs itself between the keychain write and the store commit), start-up masking,
 * and the keychain's failure modes (locked, locked at start, missing) and the file vault's (wrong key, tampering).
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { dataPaths } from '../../daemon/core/paths.js';
import { ErrorCodes, errorCodeName } from '../../daemon/protocol/errors.js';
import { DaemonStatus } from '../../daemon/protocol/lifecycle.js';
import { type SecretMetadata, SecretsGenerate, SecretsList, SecretsReveal, SecretsSet } from '../../daemon/protocol/secrets.js';
import type { ServerInfo } from '../../daemon/protocol/servers.js';
import { cliJson, cliOk, startTestDaemon } from '../harness/daemon.js';
import { BACKENDS, TEST_MASTER_KEY, type VaultDaemon, responseError, startVaultDaemon, waitForExit, waitForLogRecord } from './vault-support.js';

for (const backend of BACKENDS) {
  describe(`vault through the daemon (${backend} backend)`, () => {
    let vault: VaultDaemon;

    before(async () => {
      vault = await startVaultDaemon(backend);
    });
    after(async () => {
      await vault.dispose();
    });

    const cli = (args: string[], input?: string): ReturnType<VaultDaemon['daemon']['cli']> =>
      vault.daemon.cli(args, input === undefined ? {} : { input });
    const reveal = (handle: string): Promise<string> => cliOk(vault.daemon, ['secret', 'reveal', handle, '--yes']);

    test('set, list, get, reveal, rotate, import, delete and audit list work from the CLI', async () => {
      const set = await cli(['secret', 'set', 'TELEGRAM_BOT_TOKEN', '--type', 'token', '--category', 'telegram_bot', '--project', 'bot', '--tag', 'prod'], 'first-token-value\n');
      assert.equal(set.code, 0, set.stderr);
      const handle = set.stdout.trim();
      assert.match(handle, /^sec_[a-z2-7]{8}$/);
      assert.equal(await reveal(handle), 'first-token-value', 'the newline echo adds is not part of the value');

      const listed = await cliJson<SecretMetadata[]>(vault.daemon, ['secret', 'list', '--project', 'bot']);
      assert.deepEqual(listed.map((secret) => [secret.handle, secret.name, secret.category, secret.tags]), [[handle, 'TELEGRAM_BOT_TOKEN', 'telegram_bot', ['prod']]]);
      assert.match((await cli(['secret', 'get', handle])).stdout, /name\s+TELEGRAM_BOT_TOKEN/);

      const rotated = await cli(['secret', 'rotate', handle], 'second-token-value\n');
      assert.equal(rotated.code, 0, rotated.stderr);
      assert.match(rotated.stdout, /to version 2;/);
      assert.equal(await reveal(handle), 'second-token-value');
      assert.match((await cli(['secret', 'get', handle])).stdout, /version\s+2\nfingerprint[\s\S]*previous\s+version 1, kept until /);

      const generated = await cliJson<SecretMetadata>(vault.daemon, ['secret', 'set', 'DB_PASSWORD', '--type', 'password', '--project', 'bot', '--generate', '--length', '48']);
      const password = await reveal(generated.handle);
      assert.match(password, /^[A-Za-z0-9]{48}$/);
      assert.equal((await cli(['secret', 'rotate', generated.handle])).code, 0);
      assert.notEqual(await reveal(generated.handle), password);

      const envFile = path.join(vault.daemon.home, 'import.env');
      fs.writeFileSync(envFile, '# imported\r\nexport API_KEY=key-from-file\r\nMULTI="line one\nline two"\r\n');
      const imported = await cli(['secret', 'import', envFile, '--project', 'bot']);
      assert.equal(imported.code, 0, imported.stderr);
      assert.match(imported.stdout, /^API_KEY → sec_[a-z2-7]{8} \(created\)\nMULTI → sec_[a-z2-7]{8} \(created\)\n$/);
      const multi = (await cliJson<SecretMetadata[]>(vault.daemon, ['secret', 'list'])).find((secret) => secret.name === 'MULTI');
      assert.equal(await reveal(multi?.handle ?? ''), 'line one\nline two');

      const deleted = await cli(['secret', 'delete', handle]);
      assert.equal(deleted.code, 0, deleted.stderr);
      const gone = await cli(['secret', 'reveal', handle, '--yes']);
      assert.equal(gone.code, 1);
      assert.match(gone.stderr, /not found.*\[NotFound\]/);

      const audit = await cliJson<{ action: string; subject: string; client: string }[]>(vault.daemon, ['audit', 'list', '--subject', handle]);
      assert.deepEqual(audit.map((entry) => entry.action), ['delete', 'reveal', 'rotate', 'reveal', 'create']);
      assert.ok(audit.every((entry) => entry.client === 'cli'));
    });

    test('reveal without --yes and set without a value are refused as usage errors', async () => {
      const noYes = await cli(['secret', 'reveal', 'sec_aaaaaaaa']);
      assert.equal(noYes.code, 2);
      assert.match(noYes.stderr, /--yes/);
      const noType = await cli(['secret', 'set', 'X_VALUE'], 'value');
      assert.equal(noType.code, 2);
      assert.match(noType.stderr, /--type is required/);
    });

    test('secret set --expires and --rotate-every round-trip through get and list', async () => {
      const set = await cliJson<SecretMetadata>(vault.daemon, ['secret', 'set', 'EXPIRING_TOKEN', '--type', 'token', '--project', 'dated', '--expires', '2027-01-31', '--rotate-every', '90'], 'expiring-token-value');
      assert.equal(set.expiresAt, '2027-01-31T00:00:00.000Z');
      assert.equal(set.rotationDays, 90);
      const got = await cliJson<SecretMetadata>(vault.daemon, ['secret', 'get', set.handle]);
      assert.equal(got.expiresAt, '2027-01-31T00:00:00.000Z');
      assert.equal(got.rotationDays, 90);
      const listed = (await cliJson<SecretMetadata[]>(vault.daemon, ['secret', 'list', '--project', 'dated'])).find((secret) => secret.handle === set.handle);
      assert.deepEqual([listed?.expiresAt, listed?.rotationDays], ['2027-01-31T00:00:00.000Z', 90]);
      const human = await cli(['secret', 'get', set.handle]);
      assert.match(human.stdout, /expires\s+2027-01-31T00:00:00\.000Z/);
      assert.match(human.stdout, /rotate every 90 days/);

      const plain = await cliJson<SecretMetadata>(vault.daemon, ['secret', 'set', 'UNDATED_TOKEN', '--type', 'token', '--project', 'dated'], 'undated-token-value');
      assert.deepEqual([plain.expiresAt, plain.rotationDays], [null, null]);

      const badDate = await cli(['secret', 'set', 'BAD_DATE', '--type', 'token', '--expires', 'next tuesday'], 'bad-date-value');
      assert.equal(badDate.code, 2);
      assert.match(badDate.stderr, /--expires must be a date/);
      const badInterval = await cli(['secret', 'set', 'BAD_INTERVAL', '--type', 'token', '--rotate-every', '0'], 'bad-interval-value');
      assert.notEqual(badInterval.code, 0);
      assert.match(badInterval.stderr, /Rotation period \(days\) must be at least 1/);
      const names = (await cliJson<SecretMetadata[]>(vault.daemon, ['secret', 'list'])).map((secret) => secret.name);
      assert.ok(!names.includes('BAD_DATE') && !names.includes('BAD_INTERVAL'), 'refused secrets are not stored');
    });

    test('bad input over the protocol is refused with a clear code and nothing is stored', async () => {
      const client = await vault.daemon.connect('test');
      try {
        const before = { secrets: (await client.request(SecretsList, {})).secrets.length, accounts: await vault.accounts() };
        const cases: [Promise<unknown>, number, RegExp][] = [
          [client.request(SecretsSet, { name: 'EMPTY_VALUE', type: 'text', value: '' }), ErrorCodes.InvalidInput, /empty/],
          [client.request(SecretsSet, { name: 'TINY_VALUE', type: 'text', value: 'abc' }), ErrorCodes.InvalidInput, /shorter than 4/],
          [client.request(SecretsSet, { name: 'HUGE_VALUE', type: 'text', value: 'h'.repeat(70_000) }), ErrorCodes.InvalidInput, /64 KiB/],
          [client.request(SecretsSet, { name: 'NOT_A_KEY', type: 'private_key', value: 'just some text' }), ErrorCodes.InvalidInput, /not a private key/],
          [client.request(SecretsSet, { name: 'bad name', type: 'text', value: 'valid value' }), ErrorCodes.InvalidParams, /environment variable name/],
          [client.request(SecretsReveal, { handle: 'sec_aaaaaaaa', confirm: true }), ErrorCodes.NotFound, /not found/],
          [client.request(SecretsReveal, { handle: 'sec_aaaaaaaa', confirm: false as true }), ErrorCodes.InvalidParams, /confirm/],
          [client.request(SecretsGenerate, { name: 'SHORT_GEN', type: 'password', length: 8 }), ErrorCodes.InvalidParams, /length/],
        ];
        for (const [request, code, pattern] of cases) {
          const error = await responseError(() => request);
          assert.equal(errorCodeName(error.code), errorCodeName(code), error.message);
          assert.match(error.message, pattern);
        }
        assert.equal((await client.request(SecretsList, {})).secrets.length, before.secrets);
        assert.deepEqual(await vault.accounts(), before.accounts);
      } finally {
        client.close();
      }
    });

    test('a crash between the keychain write and the store commit leaves no secret and no keychain entry', async () => {
      const before = await vault.accounts();
      await vault.restart({ ZAVHOZ_TEST_FAULT: 'vault-after-keychain' });
      const pid = vault.daemon.pid();
      const crashed = await cli(['secret', 'set', 'HALF_WRITTEN', '--type', 'token'], 'half-written-value');
      assert.notEqual(crashed.code, 0);
      await waitForExit(pid);
      const restarted = new Date().toISOString();
      await vault.restart();
      assert.ok(!(await cliJson<SecretMetadata[]>(vault.daemon, ['secret', 'list'])).some((secret) => secret.name === 'HALF_WRITTEN'));
      await waitForLogRecord(vault.daemon.home, 'the rolled-back create', (line) => line.message === 'finished an interrupted vault write' && line.outcome === 'rolled back' && String(line.time) >= restarted);
      assert.deepEqual(await vault.accounts(), before);
      // The name is free again: the failed write left nothing behind.
      assert.equal((await cli(['secret', 'set', 'HALF_WRITTEN', '--type', 'token'], 'second-try-value')).code, 0);
    });

    test('a crash after a rotation commits finishes the rotation on restart, previous value kept', async () => {
      const secret = await cliJson<SecretMetadata>(vault.daemon, ['secret', 'set', 'ROTATED', '--type', 'text'], 'value-before-rotation');
      await vault.restart({ ZAVHOZ_TEST_FAULT: 'vault-after-commit' });
      const pid = vault.daemon.pid();
      assert.notEqual((await cli(['secret', 'rotate', secret.handle], 'value-after-rotation')).code, 0);
      await waitForExit(pid);
      await vault.restart();
      assert.equal(await reveal(secret.handle), 'value-after-rotation');
      const after = await cliJson<SecretMetadata>(vault.daemon, ['secret', 'get', secret.handle]);
      assert.equal(after.previous?.fingerprint, secret.fingerprint);
      const accounts = await vault.accounts();
      assert.ok(accounts.includes(`${secret.handle}@v1`));
      assert.ok(!accounts.some((account) => account.endsWith('#next')));
    });

    test('a crash after a delete commits removes the keychain entries on restart', async () => {
      const secret = await cliJson<SecretMetadata>(vault.daemon, ['secret', 'set', 'DELETED_SOON', '--type', 'text'], 'value-to-delete');
      assert.ok((await vault.accounts()).includes(secret.handle));
      await vault.restart({ ZAVHOZ_TEST_FAULT: 'vault-delete-after-commit' });
      const pid = vault.daemon.pid();
      assert.notEqual((await cli(['secret', 'delete', secret.handle])).code, 0);
      await waitForExit(pid);
      await vault.restart();
      assert.ok(!(await cliJson<SecretMetadata[]>(vault.daemon, ['secret', 'list'])).some((listed) => listed.handle === secret.handle), 'the delete was committed');
      await waitForLogRecord(vault.daemon.home, 'the finished delete', (line) => line.message === 'finished an interrupted vault write' && line.handle === secret.handle);
      assert.ok(!(await vault.accounts()).some((account) => account.startsWith(secret.handle)));
    });

    test('after a restart every stored value is masked again, before any request touches it', async () => {
      // A value shaped like a project name, so an error message can be made to quote it on purpose.
      const value = `MaskedAfterRestart${Date.now()}`;
      await cliJson<SecretMetadata>(vault.daemon, ['secret', 'set', 'MASK_CHECK', '--type', 'text'], value);
      const restarted = new Date().toISOString();
      await vault.restart();
      // The vault masks in the background at start; its log line says when that is done, and how many it masked.
      const ready = await waitForLogRecord(vault.daemon.home, '"vault ready" after the restart', (line) => line.message === 'vault ready' && String(line.time) >= restarted);
      assert.ok(Number(ready.secrets) > 0, 'the daemon logged how many secrets it masked at start');
      assert.equal((await cli(['secret', 'set', 'ECHOED', '--type', 'text', '--project', value], 'some-value')).code, 0);
      const again = await cli(['secret', 'set', 'ECHOED', '--type', 'text', '--project', value], 'other-value');
      assert.equal(again.code, 1);
      assert.match(again.stderr, /already exists in project \[REDACTED\]/);
    });
  });
}

describe('vault with a locked or missing OS keychain', () => {
  let vault: VaultDaemon;

  before(async () => {
    vault = await startVaultDaemon('keychain');
  });
  after(async () => {
    await vault.dispose();
  });

  test('a locked keychain fails operations with KeychainLocked and how to unlock; after unlock they work', async () => {
    const stored = await vault.daemon.cli(['secret', 'set', 'LOCK_TEST', '--type', 'token'], { input: 'value-while-unlocked' });
    const handle = stored.stdout.trim();
    await vault.keyring?.lock();
    const revealed = await vault.daemon.cli(['secret', 'reveal', handle, '--yes']);
    assert.equal(revealed.code, 1);
    assert.match(revealed.stderr, /keychain is locked: unlock your login keyring.*\[KeychainLocked\]/);
    const set = await vault.daemon.cli(['secret', 'set', 'WHILE_LOCKED', '--type', 'token'], { input: 'value-while-locked' });
    assert.match(set.stderr, /\[KeychainLocked\]/);
    const listed = await vault.daemon.cli(['secret', 'list']);
    assert.equal(listed.code, 0, 'metadata needs no keychain');
    assert.doesNotMatch(listed.stdout, /WHILE_LOCKED/);
    await vault.keyring?.unlock();
    assert.equal((await vault.daemon.cli(['secret', 'reveal', handle, '--yes'])).stdout, 'value-while-unlocked');
  });

  test('a keychain locked at start does not stop the daemon; values are masked once it is unlocked', async () => {
    const value = `LockedAtStart${Date.now()}`;
    assert.equal((await vault.daemon.cli(['secret', 'set', 'LOCKED_START', '--type', 'text'], { input: value })).code, 0);
    await vault.keyring?.lock();
    await vault.restart();
    const client = await vault.daemon.connect('test');
    try {
      assert.ok((await client.request(DaemonStatus, {})).pid > 0);
      const error = await responseError(() => client.request(SecretsSet, { name: 'AFTER_LOCKED_START', type: 'text', value: 'another-value' }));
      assert.equal(error.code, ErrorCodes.KeychainLocked);
      await vault.keyring?.unlock();
      await client.request(SecretsList, {});
      await client.request(SecretsSet, { name: 'MASK_PROBE', type: 'text', value: 'probe-value', project: value });
      const echoed = await responseError(() => client.request(SecretsSet, { name: 'MASK_PROBE', type: 'text', value: 'probe-value', project: value }));
      assert.match(echoed.message, /in project \[REDACTED\]/);
    } finally {
      client.close();
    }
  });

  test('without a Secret Service the daemon says so and how to opt in to the file vault; nothing falls back silently', async () => {
    const daemon = await startTestDaemon({ env: { DBUS_SESSION_BUS_ADDRESS: `unix:path=${path.join(vault.daemon.home, 'no-such-bus')}`, ZAVHOZ_VAULT: undefined } });
    try {
      const result = await daemon.cli(['secret', 'set', 'NO_KEYCHAIN', '--type', 'token'], { input: 'value-without-keychain' });
      assert.equal(result.code, 1);
      assert.match(result.stderr, /no OS keychain reachable: start a Secret Service \(gnome-keyring\) or opt in to the file vault with ZAVHOZ_VAULT=file and ZAVHOZ_MASTER_KEY.*\[KeychainUnavailable\]/);
      assert.doesNotMatch((await daemon.cli(['secret', 'list'])).stdout, /NO_KEYCHAIN/);
      assert.ok(!fs.existsSync(path.join(daemon.home, 'vault.enc')));
    } finally {
      await daemon.dispose();
    }
  });
});

describe('file vault failure modes', () => {
  let vault: VaultDaemon;

  before(async () => {
    vault = await startVaultDaemon('file');
    assert.equal((await vault.daemon.cli(['secret', 'set', 'FILE_SECRET', '--type', 'token'], { input: 'file-secret-value' })).code, 0);
  });
  after(async () => {
    await vault.dispose();
  });

  test('a wrong master key gives VaultKeyInvalid, a missing one says what to set', async () => {
    await vault.restart({ ZAVHOZ_MASTER_KEY: `${TEST_MASTER_KEY}-but-wrong` });
    const wrong = await vault.daemon.cli(['secret', 'set', 'OTHER', '--type', 'token'], { input: 'other-value' });
    assert.match(wrong.stderr, /ZAVHOZ_MASTER_KEY does not open the vault file.*\[VaultKeyInvalid\]/);
    await vault.restart({ ZAVHOZ_MASTER_KEY: undefined });
    const missing = await vault.daemon.cli(['secret', 'set', 'OTHER', '--type', 'token'], { input: 'other-value' });
    assert.match(missing.stderr, /ZAVHOZ_VAULT=file needs ZAVHOZ_MASTER_KEY.*\[VaultKeyInvalid\]/);
  });

  test('a tampered vault file gives VaultTampered', async () => {
    await vault.daemon.stop();
    const file = path.join(vault.daemon.home, 'vault.enc');
    const json = JSON.parse(fs.readFileSync(file, 'utf8')) as { entries: Record<string, { data: string }> };
    const [account, entry] = Object.entries(json.entries).find(([name]) => name.startsWith('sec_')) ?? [];
    assert.ok(account && entry);
    const bytes = Buffer.from(entry.data, 'base64');
    bytes[0] = (bytes[0] ?? 0) ^ 0xff;
    entry.data = bytes.toString('base64');
    fs.writeFileSync(file, JSON.stringify(json));
    await vault.restart();
    const result = await vault.daemon.cli(['secret', 'reveal', account, '--yes']);
    assert.match(result.stderr, /was changed outside Zavhoz.*\[VaultTampered\]/);
  });

  test('a folder whose secrets are in the file vault refuses to run on the keychain', async () => {
    await vault.restart({ ZAVHOZ_VAULT: undefined, ZAVHOZ_MASTER_KEY: undefined });
    const result = await vault.daemon.cli(['secret', 'set', 'OTHER', '--type', 'token'], { input: 'other-value' });
    assert.match(result.stderr, /keeps its secrets in the vault file.*Restart the daemon with ZAVHOZ_VAULT=file.*\[PreconditionFailed\]/);
  });
});

describe('file vault with its master key in a file', () => {
  let keyFolder: string;
  let keyFile: string;
  let vault: VaultDaemon;

  before(async () => {
    keyFolder = fs.mkdtempSync(path.join(os.tmpdir(), 'zavhoz-key-'));
    keyFile = path.join(keyFolder, 'master-key');
    fs.writeFileSync(keyFile, `${TEST_MASTER_KEY}\n`, { mode: 0o600 });
    vault = await startVaultDaemon('file', { ZAVHOZ_MASTER_KEY: undefined, ZAVHOZ_MASTER_KEY_FILE: keyFile });
  });
  after(async () => {
    await vault.dispose();
    fs.rmSync(keyFolder, { recursive: true, force: true });
  });

  test('the vault works with ZAVHOZ_MASTER_KEY_FILE, and the key is nowhere in the daemon\'s environment', async () => {
    const set = await vault.daemon.cli(['secret', 'set', 'KEY_FILE_SECRET', '--type', 'token'], { input: 'value-under-a-key-file' });
    assert.equal(set.code, 0, set.stderr);
    const handle = set.stdout.trim();
    assert.equal((await vault.daemon.cli(['secret', 'reveal', handle, '--yes'])).stdout, 'value-under-a-key-file');
    assert.ok((await vault.accounts()).includes(handle), 'the value is in vault.enc');
    const environ = fs.readFileSync(`/proc/${vault.daemon.pid()}/environ`, 'utf8');
    assert.ok(environ.includes(`ZAVHOZ_MASTER_KEY_FILE=${keyFile}`));
    assert.ok(!environ.includes(TEST_MASTER_KEY), 'only the path is in the environment');

    // The file holds the key itself (its final newline aside): the same key given the old way opens the vault.
    await vault.restart({ ZAVHOZ_MASTER_KEY: TEST_MASTER_KEY, ZAVHOZ_MASTER_KEY_FILE: undefined });
    assert.equal((await vault.daemon.cli(['secret', 'reveal', handle, '--yes'])).stdout, 'value-under-a-key-file');
  });

  test('a key file others can read (0644) is refused with what to do, and nothing is stored', async () => {
    fs.chmodSync(keyFile, 0o644);
    await vault.restart({ ZAVHOZ_MASTER_KEY: undefined, ZAVHOZ_MASTER_KEY_FILE: keyFile });
    const refused = await vault.daemon.cli(['secret', 'set', 'LOOSE_KEY', '--type', 'token'], { input: 'value-never-stored' });
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, new RegExp(`master key file ${keyFile} has mode 0644: .*It must be 0600 or stricter\\. Run \`chmod 600 ${keyFile}\`.*\\[VaultKeyInvalid\\]`));

    fs.chmodSync(keyFile, 0o600);
    await vault.restart({ ZAVHOZ_MASTER_KEY: undefined, ZAVHOZ_MASTER_KEY_FILE: keyFile });
    const names = JSON.parse((await vault.daemon.cli(['secret', 'list', '--json'])).stdout) as SecretMetadata[];
    assert.deepEqual(names.map((secret) => secret.name), ['KEY_FILE_SECRET']);
  });
});

describe('error text the daemon stores is masked like its answers', () => {
  let vault: VaultDaemon;

  before(async () => {
    vault = await startVaultDaemon('file');
  });
  after(async () => {
    await vault.dispose();
  });

  test('a failed health check stores and returns its error with the vault\'s values masked', async () => {
    // A port nothing listens on: the check fails at once with "Nothing answers on 127.0.0.1:PORT".
    const closed = net.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as net.AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const address = `127.0.0.1:${port}`;

    const { privateKey } = crypto.generateKeyPairSync('ed25519', { privateKeyEncoding: { type: 'pkcs8', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } });
    const key = await vault.daemon.cli(['secret', 'set', 'CHECK_KEY', '--type', 'private_key'], { input: privateKey });
    assert.equal(key.code, 0, key.stderr);
    // A secret whose value the error text will quote: the address stands in for a value an SSH error might echo.
    assert.equal((await vault.daemon.cli(['secret', 'set', 'QUOTED_VALUE', '--type', 'text'], { input: address })).code, 0);
    const added = await vault.daemon.cli(['server', 'add', 'masked_check', '--host', '127.0.0.1', '--ssh-port', String(port), '--ssh-user', 'root', '--ssh-key-secret', key.stdout.trim()]);
    assert.equal(added.code, 0, added.stderr);

    const checked = await vault.daemon.cli(['server', 'check', 'masked_check']);
    assert.equal(checked.code, 1);
    assert.match(checked.stderr, /Nothing answers on \[REDACTED\]/);
    const shown = JSON.parse((await vault.daemon.cli(['server', 'show', 'masked_check', '--json'])).stdout) as ServerInfo;
    assert.match(shown.lastCheckError ?? '', /^Nothing answers on \[REDACTED\] \(ECONNREFUSED\)/);
    const listed = (await vault.daemon.cli(['server', 'list', '--json'])).stdout;
    assert.ok(!listed.includes(address), 'servers/list answers the masked text');

    await vault.daemon.stop();
    const paths = dataPaths(vault.daemon.home);
    for (const file of [paths.database, paths.journal, `${paths.database}.prev`]) {
      if (fs.existsSync(file)) assert.ok(!fs.readFileSync(file, 'latin1').includes(address), `${file} holds the masked text only`);
    }
  });
});
