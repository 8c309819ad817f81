/**
 * Team secrets in HashiCorp Vault, through a real daemon, the CLI and a real keychain, against the loopback test
 * double of Vault's HTTP API (test/fakes/hashicorpVault.ts): `vault connect` keeps the token in the keychain,
 * `secret set --team` puts the value in Vault (not the keychain, not the store), `exec` gets it through the same
 * handle, a rotation makes the next version (Vault keeps the replaced one), ZAVHOZ_VAULT=hashicorp makes team the
 * default, a sealed Vault and a refused token say what to do while personal secrets keep working, and no value or
 * token reaches the store files, the journal, the logs, the audit log or the CLI's output.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { CliResult } from '../harness/daemon.js';
import { type FakeHashicorpVault, startFakeHashicorpVault } from '../fakes/hashicorpVault.js';
import { canary, keychainAccounts, startVaultDaemon, type VaultDaemon, waitForExit, waitForLogRecord } from './vault-support.js';

const PROJECT = 'team-shop';
const PREFIX = 'zavhoz/acme';

describe('team secrets in HashiCorp Vault (test double)', () => {
  let fake: FakeHashicorpVault;
  let vault: VaultDaemon;
  let folder: string;
  let token: string;
  const outputs: string[] = [];
  const values = new Map<string, string>();

  async function cli(args: readonly string[], input?: string): Promise<CliResult> {
    const result = await vault.daemon.cli(args, input === undefined ? {} : { input });
    outputs.push(`${args.join(' ')}\n${result.stdout}\n${result.stderr}`);
    return result;
  }

  async function json<T>(args: readonly string[], input?: string): Promise<T> {
    const result = await cli([...args, '--json'], input);
    assert.equal(result.code, 0, result.stderr);
    return JSON.parse(result.stdout) as T;
  }

  /** Runs a child through `zavhoz exec` that writes the sha256 of $NAME to a file; returns that digest. */
  async function digestThroughExec(name: string): Promise<{ result: CliResult; digest: string | undefined }> {
    const file = path.join(folder, `digest-${crypto.randomBytes(4).toString('hex')}`);
    const child = [process.execPath, '-e', `require('fs').writeFileSync(${JSON.stringify(file)}, require('crypto').createHash('sha256').update(process.env.${name} ?? '').digest('hex')); console.log(process.env.${name})`];
    const result = await cli(['exec', '--project', PROJECT, '--', ...child]);
    return { result, digest: fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : undefined };
  }

  const sha = (value: string): string => crypto.createHash('sha256').update(value).digest('hex');

  before(async () => {
    fake = await startFakeHashicorpVault();
    vault = await startVaultDaemon('keychain');
    folder = fs.mkdtempSync(path.join(os.tmpdir(), 'zavhoz-team-vault-'));
    token = fake.issueToken({ ttlSeconds: 3600 });
    values.set('token', token);
  });

  after(async () => {
    /* eslint-disable @typescript-eslint/no-unnecessary-condition -- before() may have failed before it assigned these */
    await vault?.dispose();
    await fake?.stop();
    if (folder) fs.rmSync(folder, { recursive: true, force: true });
    /* eslint-enable @typescript-eslint/no-unnecessary-condition */
  });

  test('without a connection, status says so and a team secret is refused saying how to connect', async () => {
    const status = await json<{ connected: boolean; state: string }>(['vault', 'status']);
    assert.equal(status.connected, false);
    assert.equal(status.state, 'not-connected');
    const refused = await cli(['secret', 'set', 'EARLY', '--type', 'token', '--team'], canary('Early'));
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /No team Vault is connected: connect one with zavhoz vault connect hashicorp/);
  });

  test('connect checks the token at once and keeps it in the keychain; status never shows it', async () => {
    const wrong = await cli(['vault', 'connect', 'hashicorp', '--address', fake.url, '--mount', 'secret', '--prefix', PREFIX, '--token-stdin'], 'hvs.not-a-real-token\n');
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /no longer accepts the token/);
    assert.ok(!wrong.stderr.includes('hvs.not-a-real-token'));

    const connected = await cli(['vault', 'connect', 'hashicorp', '--address', fake.url, '--mount', 'secret', '--prefix', PREFIX, '--token-stdin'], `${token}\n`);
    assert.equal(connected.code, 0, connected.stderr);
    assert.match(connected.stdout, /Connected\.\nteam vault {3}hashicorp at http:\/\/127\.0\.0\.1:\d+\nmount {8}secret, prefix zavhoz\/acme\nauth {9}token \(token valid \d+ s/);
    const status = await json<{ connected: boolean; state: string; auth: string; mount: string; prefix: string; address: string }>(['vault', 'status']);
    assert.deepEqual({ connected: status.connected, state: status.state, auth: status.auth, mount: status.mount, prefix: status.prefix, address: status.address }, {
      connected: true,
      state: 'ok',
      auth: 'token',
      mount: 'secret',
      prefix: PREFIX,
      address: fake.url,
    });
    const accounts = await keychainAccounts(vault.keyring!.env);
    assert.ok(accounts.some((account) => account.startsWith('team-vault.')), JSON.stringify(accounts));
  });

  let teamHandle = '';
  let personalHandle = '';

  test('secret set --team stores the value in Vault only; a personal one stays in the keychain; exec gets both by handle', async () => {
    const first = canary('TeamFirst');
    values.set('team v1', first);
    const team = await json<{ handle: string; location: string; version: number }>(['secret', 'set', 'API_TOKEN', '--type', 'token', '--project', PROJECT, '--team'], first);
    teamHandle = team.handle;
    assert.equal(team.location, 'team');
    assert.deepEqual(fake.secrets.get(`${PREFIX}/${teamHandle}/value`)?.map((version) => version.data?.value), [first], 'the value is in Vault, under the prefix');
    const accounts = await keychainAccounts(vault.keyring!.env);
    assert.ok(!accounts.some((account) => account.startsWith(teamHandle)), `no keychain entry for a team secret: ${JSON.stringify(accounts)}`);

    const mine = canary('Personal');
    values.set('personal', mine);
    const personal = await json<{ handle: string; location: string }>(['secret', 'set', 'MY_TOKEN', '--type', 'token', '--project', PROJECT], mine);
    personalHandle = personal.handle;
    assert.equal(personal.location, 'personal');
    assert.ok((await keychainAccounts(vault.keyring!.env)).includes(personalHandle));
    assert.ok(![...fake.secrets.keys()].some((key) => key.includes(personalHandle)), 'a personal value never goes to Vault');

    const imported = canary('Imported');
    values.set('imported', imported);
    const envFile = path.join(folder, '.env.team');
    fs.writeFileSync(envFile, `IMPORTED_TOKEN=${imported}\n`);
    const result = await json<{ handles: Record<string, string> }>(['secret', 'import', envFile, '--project', 'team-import', '--team']);
    const importedHandle = result.handles.IMPORTED_TOKEN ?? '';
    assert.equal(fake.secrets.get(`${PREFIX}/${importedHandle}/value`)?.at(-1)?.data?.value, imported, 'an import --team goes to Vault');
    fs.rmSync(envFile);
    assert.equal((await cli(['secret', 'delete', importedHandle])).code, 0);
    assert.equal(fake.secrets.has(`${PREFIX}/${importedHandle}/value`), false);

    const shown = await cli(['secret', 'get', teamHandle]);
    assert.match(shown.stdout, /^kept in {6}the team's Vault$/m);

    const api = await digestThroughExec('API_TOKEN');
    assert.equal(api.result.code, 0, api.result.stderr);
    assert.equal(api.digest, sha(first), 'the command got the team value');
    assert.equal(api.result.stdout, '[masked:API_TOKEN]\n');
    const own = await digestThroughExec('MY_TOKEN');
    assert.equal(own.digest, sha(mine));
  });

  test('a rotation makes the next version; Vault keeps the replaced one and its own history', async () => {
    const second = canary('TeamSecond');
    values.set('team v2', second);
    const rotated = await cli(['secret', 'rotate', teamHandle, '--json'], second);
    assert.equal(rotated.code, 0, rotated.stderr);
    assert.equal((JSON.parse(rotated.stdout) as { version: number }).version, 2);
    assert.deepEqual(fake.secrets.get(`${PREFIX}/${teamHandle}/value`)?.map((version) => version.data?.value), [values.get('team v1'), second], 'KV v2 history');
    assert.equal(fake.secrets.get(`${PREFIX}/${teamHandle}/v1`)?.at(-1)?.data?.value, values.get('team v1'), 'version 1 kept for rollbacks');
    assert.equal(fake.secrets.has(`${PREFIX}/${teamHandle}/next`), false, 'the staged value is gone');
    const api = await digestThroughExec('API_TOKEN');
    assert.equal(api.digest, sha(second));
  });

  test('a sealed Vault says so and how to unseal it; personal secrets keep working', async () => {
    fake.seal();
    try {
      const team = await cli(['exec', '--secret', `API_TOKEN=${teamHandle}`, '--', process.execPath, '-e', '']);
      assert.equal(team.code, 1);
      assert.match(team.stderr, new RegExp(`Vault at ${fake.url.replace(/[.]/g, '\\.')} is sealed: unseal it`));
      const own = await cli(['exec', '--secret', `MY_TOKEN=${personalHandle}`, '--', process.execPath, '-e', 'console.log(process.env.MY_TOKEN.length)']);
      assert.equal(own.code, 0, own.stderr);
      const status = await cli(['vault', 'status']);
      assert.equal(status.code, 1);
      assert.match(status.stdout, /^state {8}sealed: Vault at .* is sealed: unseal it/m);
    } finally {
      fake.unseal();
    }
  });

  test("a token whose policy does not cover the path is refused naming the path; a revoked one says how to replace it", async () => {
    const narrow = fake.issueToken({ ttlSeconds: 3600, allowedPrefix: 'elsewhere/' });
    values.set('narrow token', narrow);
    const refused = await cli(['vault', 'connect', 'hashicorp', '--address', fake.url, '--mount', 'secret', '--prefix', PREFIX, '--token-stdin'], narrow);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, new RegExp(`Vault refused the token for secret/${PREFIX}: check the token's policy`));
    const still = await digestThroughExec('API_TOKEN');
    assert.equal(still.digest, sha(values.get('team v2') ?? ''), 'a refused connect leaves the kept connection alone');

    fake.revoke(token);
    const revoked = await cli(['exec', '--secret', `API_TOKEN=${teamHandle}`, '--', process.execPath, '-e', '']);
    assert.equal(revoked.code, 1);
    assert.match(revoked.stderr, new RegExp(`no longer accepts the token \\(expired or revoked\\)|Vault refused the token for secret/${PREFIX}/${teamHandle}/value`));
    token = fake.issueToken({ ttlSeconds: 3600 });
    values.set('token 2', token);
    const again = await cli(['vault', 'connect', 'hashicorp', '--address', fake.url, '--mount', 'secret', '--prefix', PREFIX, '--token-stdin'], token);
    assert.equal(again.code, 0, again.stderr);
  });

  test('with ZAVHOZ_VAULT=hashicorp new secrets go to the team Vault unless --personal, and the connection survives a restart', async () => {
    await vault.restart({ ZAVHOZ_VAULT: 'hashicorp' });
    const defaulted = canary('Default');
    values.set('default', defaulted);
    const team = await json<{ handle: string; location: string }>(['secret', 'set', 'DEFAULT_TOKEN', '--type', 'token'], defaulted);
    assert.equal(team.location, 'team');
    assert.equal(fake.secrets.get(`${PREFIX}/${team.handle}/value`)?.at(-1)?.data?.value, defaulted);
    const kept = canary('KeptPersonal');
    values.set('kept personal', kept);
    const personal = await json<{ location: string }>(['secret', 'set', 'LOCAL_TOKEN', '--type', 'token', '--personal'], kept);
    assert.equal(personal.location, 'personal');
    const api = await digestThroughExec('API_TOKEN');
    assert.equal(api.digest, sha(values.get('team v2') ?? ''), 'the team secret still reads after the restart');
    const deleted = await cli(['secret', 'delete', team.handle]);
    assert.equal(deleted.code, 0, deleted.stderr);
    assert.ok(![...fake.secrets.keys()].some((key) => key.includes(team.handle)), 'deleted from Vault too');
  });

  test('AppRole: connect logs in at once and team secrets read with the token it obtains', async () => {
    const role = fake.addAppRole({ ttlSeconds: 600 });
    values.set('secret id', role.secretId);
    const elsewhere = await cli(['vault', 'connect', 'hashicorp', '--address', fake.url, '--mount', 'secret', '--prefix', 'zavhoz/other', '--approle', role.roleId, '--secret-id-stdin'], role.secretId);
    assert.equal(elsewhere.code, 1, 'a connection that does not reach the stored team values is refused');
    assert.match(elsewhere.stderr, /This Vault has no secret\/zavhoz\/other\/sec_[a-z2-7]{8}\/value, where the team secret sec_[a-z2-7]{8} keeps its value: 1 team secret\(s\) are stored under another address, mount or prefix/);
    const connected = await cli(['vault', 'connect', 'hashicorp', '--address', fake.url, '--mount', 'secret', '--prefix', PREFIX, '--approle', role.roleId, '--secret-id-stdin'], `${role.secretId}\n`);
    assert.equal(connected.code, 0, connected.stderr);
    assert.match(connected.stdout, /^auth {9}approle/m);
    const api = await digestThroughExec('API_TOKEN');
    assert.equal(api.digest, sha(values.get('team v2') ?? ''));
    for (const [key] of fake.tokens) values.set(`approle token ${key.slice(-6)}`, key);
  });

  test('a team write interrupted by a crash or a sealed Vault leaves no secret and no value in Vault', async () => {
    const paths = (): string[] => [...fake.secrets.keys()].sort();
    const before = paths();
    await vault.restart({ ZAVHOZ_TEST_FAULT: 'vault-after-keychain' });
    const pid = vault.daemon.pid();
    const half = canary('HalfWritten');
    values.set('half written', half);
    const crashed = await cli(['secret', 'set', 'HALF_WRITTEN', '--type', 'token', '--team'], half);
    assert.notEqual(crashed.code, 0);
    await waitForExit(pid);
    assert.equal(paths().length, before.length + 1, 'the value reached Vault before the crash');
    const restarted = new Date().toISOString();
    await vault.restart();
    await waitForLogRecord(vault.daemon.home, 'the rolled-back team create', (line) => line.message === 'finished an interrupted vault write' && line.outcome === 'rolled back' && String(line.time) >= restarted);
    assert.deepEqual(paths(), before, 'rolled back in Vault too');
    const listed = await json<{ name: string }[]>(['secret', 'list']);
    assert.ok(!listed.some((secret) => secret.name === 'HALF_WRITTEN'));

    fake.seal();
    try {
      const sealed = await cli(['secret', 'set', 'HALF_WRITTEN', '--type', 'token', '--team'], half);
      assert.equal(sealed.code, 1);
      assert.match(sealed.stderr, /is sealed: unseal it/);
      const own = await cli(['secret', 'set', 'WHILE_SEALED', '--type', 'token'], canary('WhileSealed'));
      assert.equal(own.code, 0, `personal secrets keep working: ${own.stderr}`);
    } finally {
      fake.unseal();
    }
    const stored = await json<{ location: string }>(['secret', 'set', 'HALF_WRITTEN', '--type', 'token', '--team'], half);
    assert.equal(stored.location, 'team', 'the name is free again once Vault is unsealed');
  });

  test('no value or token in the store files, journal, logs, audit log or CLI output', async () => {
    const audit = await cli(['audit', 'list', '--json']);
    outputs.push(audit.stdout);
    const sinks: { where: string; text: string }[] = outputs.map((text, index) => ({ where: `cli output ${index}`, text }));
    for (const entry of fs.readdirSync(vault.daemon.home, { recursive: true, withFileTypes: true })) {
      if (!entry.isFile()) continue;
      const file = path.join(entry.parentPath, entry.name);
      sinks.push({ where: file, text: fs.readFileSync(file, 'latin1') });
    }
    assert.ok(sinks.some((sink) => sink.where.includes('journal') || sink.where.endsWith('.db') || sink.where.includes('store')), 'the store files were scanned');
    const found: string[] = [];
    for (const sink of sinks) {
      for (const [label, value] of values) {
        for (const form of [value, Buffer.from(value).toString('base64'), encodeURIComponent(value)]) if (sink.text.includes(form)) found.push(`${sink.where}: ${label}`);
      }
    }
    assert.deepEqual(found, []);
  });
});
