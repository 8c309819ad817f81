/** The HashiCorp Vault KV v2 client against the loopback test double of Vault's HTTP API (test/fakes/hashicorpVault.ts). */
import assert from 'node:assert/strict';
import net, { type AddressInfo } from 'node:net';
import { after, before, beforeEach, describe, it } from 'node:test';
import { ZavhozError } from '../../daemon/core/errors.js';
import { Redactor } from '../../daemon/core/redactor.js';
import { ErrorCodes } from '../../daemon/protocol/errors.js';
import type { HashicorpAuth } from '../../daemon/vault/hashicorp/connection.js';
import { VaultTransport } from '../../daemon/vault/hashicorp/http.js';
import { KvClient } from '../../daemon/vault/hashicorp/kv.js';
import { handleOfAccount, pathOfAccount } from '../../daemon/vault/hashicorp/teamBackend.js';
import { vaultConfigFromEnvironment } from '../../daemon/vault/config.js';
import { VaultSession } from '../../daemon/vault/hashicorp/session.js';
import { type FakeHashicorpVault, startFakeHashicorpVault } from '../fakes/hashicorpVault.js';

let clock = Date.now();
const now = (): number => clock;

function client(vault: FakeHashicorpVault, auth: HashicorpAuth, redactor = new Redactor(), extra: { namespace?: string } = {}): { kv: KvClient; session: VaultSession } {
  const transport = new VaultTransport({ address: vault.url, retry: { baseDelayMs: 10 }, ...extra });
  const session = new VaultSession(transport, auth, redactor, now);
  return { kv: new KvClient(session, vault.mount, 'zavhoz/acme'), session };
}

async function rejection(promise: Promise<unknown>): Promise<ZavhozError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof ZavhozError, `a ZavhozError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected a rejection');
}

describe('vault/hashicorp: KV v2 client through the Vault test double', () => {
  let vault: FakeHashicorpVault;
  before(async () => {
    vault = await startFakeHashicorpVault({ now });
  });
  after(() => vault.stop());
  beforeEach(() => {
    vault.unseal();
    vault.failNext(0, 500);
    vault.rateLimitNext(0);
    vault.secrets.clear();
    vault.calls.length = 0;
  });

  it('writes, reads, lists, versions and destroys secrets under the mount and prefix', async () => {
    const { kv } = client(vault, { kind: 'token', token: vault.issueToken() });
    assert.equal(await kv.write('sec_aaaaaaaa/value', { value: 'first-value' }), 1);
    assert.equal(await kv.write('sec_aaaaaaaa/value', { value: 'second-value' }), 2);
    assert.deepEqual(vault.secrets.get('zavhoz/acme/sec_aaaaaaaa/value')?.length, 2, 'stored under the prefix');
    assert.deepEqual(await kv.read('sec_aaaaaaaa/value'), { data: { value: 'second-value' }, version: 2 });
    assert.deepEqual(await kv.read('sec_aaaaaaaa/value', 1), { data: { value: 'first-value' }, version: 1 });
    const metadata = await kv.metadata('sec_aaaaaaaa/value');
    assert.equal(metadata?.currentVersion, 2);
    assert.deepEqual(metadata.versions.map((version) => version.version), [1, 2]);
    assert.deepEqual(await kv.list(''), ['sec_aaaaaaaa/']);
    assert.deepEqual(await kv.list('sec_aaaaaaaa'), ['value']);
    await kv.deleteVersions('sec_aaaaaaaa/value', [2]);
    assert.equal(await kv.read('sec_aaaaaaaa/value', 2), undefined, 'a soft-deleted version reads as absent');
    assert.equal((await kv.metadata('sec_aaaaaaaa/value'))?.versions[1]?.deleted, true);
    assert.equal(await kv.destroy('sec_aaaaaaaa/value'), true);
    assert.equal(await kv.read('sec_aaaaaaaa/value'), undefined);
    assert.equal(await kv.metadata('sec_aaaaaaaa/value'), undefined);
    assert.deepEqual(await kv.list(''), []);
  });

  it('sends the namespace header when one is set', async () => {
    const { kv } = client(vault, { kind: 'token', token: vault.issueToken() }, new Redactor(), { namespace: 'team-a' });
    await kv.write('sec_bbbbbbbb/value', { value: 'namespaced' });
    assert.ok(vault.calls.length > 0 && vault.calls.every((call) => call.namespace === 'team-a'));
  });

  it('says the token was refused for the path, and never shows the token', async () => {
    const token = vault.issueToken({ allowedPrefix: 'somewhere-else/' });
    const redactor = new Redactor();
    const { kv } = client(vault, { kind: 'token', token }, redactor);
    const error = await rejection(kv.read('sec_cccccccc/value'));
    assert.equal(error.code, ErrorCodes.AuthenticationFailed);
    assert.match(error.message, /^Vault refused the token for secret\/zavhoz\/acme\/sec_cccccccc\/value: check the token's policy/);
    assert.ok(!error.message.includes(token));
    assert.equal(redactor.redact(`x ${token} y`), 'x [REDACTED] y', 'the token is masked in logs');
  });

  it('says Vault is sealed and how to unseal it, without retrying', async () => {
    const { kv } = client(vault, { kind: 'token', token: vault.issueToken() });
    vault.seal();
    const error = await rejection(kv.read('sec_dddddddd/value'));
    assert.equal(error.code, ErrorCodes.Unreachable);
    assert.equal(error.message.startsWith(`Vault at ${vault.url} is sealed: unseal it`), true, error.message);
    assert.equal(vault.calls.filter((call) => call.status === 503).length, 1);
  });

  it('retries 5xx and 429 with backoff, then succeeds', async () => {
    const { kv } = client(vault, { kind: 'token', token: vault.issueToken() });
    await kv.write('sec_eeeeeeee/value', { value: 'retried' });
    vault.failNext(2, 502);
    assert.equal((await kv.read('sec_eeeeeeee/value'))?.data.value, 'retried');
    vault.rateLimitNext(2, 0);
    assert.equal((await kv.read('sec_eeeeeeee/value'))?.data.value, 'retried');
    assert.equal(vault.calls.filter((call) => call.status === 502).length, 2);
    assert.equal(vault.calls.filter((call) => call.status === 429).length, 2);
  });

  it('gives up after its attempts with a message saying what to check', async () => {
    const { kv } = client(vault, { kind: 'token', token: vault.issueToken() });
    await kv.list('');
    vault.failNext(10, 500);
    const error = await rejection(kv.read('sec_ffffffff/value'));
    assert.match(error.message, /failed on secret\/zavhoz\/acme\/sec_ffffffff\/value \(HTTP 500: internal error\) after 4 attempts: check Vault's health/);
  });

  it('says what to do when Vault cannot be reached', async () => {
    const closed = net.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const transport = new VaultTransport({ address: `http://127.0.0.1:${port}`, retry: { attempts: 2, baseDelayMs: 5 } });
    const kv = new KvClient(new VaultSession(transport, { kind: 'token', token: 'hvs.unreachable-token' }, new Redactor(), now), 'secret', '');
    const error = await rejection(kv.read('x'));
    assert.equal(error.code, ErrorCodes.Unreachable);
    assert.ok(error.message.startsWith(`Cannot reach Vault at http://127.0.0.1:${port} (ECONNREFUSED): check that Vault runs`), error.message);
  });

  it('renews a token before it expires, and reports one that expired', async () => {
    const token = vault.issueToken({ ttlSeconds: 60, renewable: true });
    const { kv } = client(vault, { kind: 'token', token });
    await kv.write('sec_gggggggg/value', { value: 'renewed' });
    clock += 55_000; // 5 s left: under a fifth of its life
    assert.equal((await kv.read('sec_gggggggg/value'))?.data.value, 'renewed');
    assert.equal(vault.calls.filter((call) => call.path === '/v1/auth/token/renew-self').length, 1);
    assert.ok((vault.tokens.get(token)?.expiresAt ?? 0) > clock + 50_000, 'renewed for another TTL');

    const short = vault.issueToken({ ttlSeconds: 10, renewable: false });
    const expiring = client(vault, { kind: 'token', token: short });
    await expiring.kv.read('sec_gggggggg/value');
    clock += 8_000;
    assert.equal((await expiring.kv.read('sec_gggggggg/value'))?.data.value, 'renewed', 'a token that cannot be renewed serves to its last second');
    clock += 12_000;
    const error = await rejection(expiring.kv.read('sec_gggggggg/value'));
    assert.match(error.message, /no longer accepts the token \(expired or revoked\)/);
  });

  it('logs in with AppRole, logs in again when the token reaches its max TTL or is revoked', async () => {
    const role = vault.addAppRole({ ttlSeconds: 30, maxTtlSeconds: 40 });
    const redactor = new Redactor();
    const { kv, session } = client(vault, { kind: 'approle', ...role }, redactor);
    assert.deepEqual(await session.check(), { ttlSeconds: 30, renewable: true });
    await kv.write('sec_hhhhhhhh/value', { value: 'approle' });
    const logins = (): number => vault.calls.filter((call) => call.path === '/v1/auth/approle/login').length;
    assert.equal(logins(), 1, 'the write uses the token the check obtained');
    clock += 28_000;
    await kv.read('sec_hhhhhhhh/value'); // renewed, capped at the max TTL (12 s left)
    const renewals = (): number => vault.calls.filter((call) => call.path === '/v1/auth/token/renew-self').length;
    assert.equal(renewals(), 1);
    assert.equal(logins(), 1);
    clock += 13_000;
    await kv.read('sec_hhhhhhhh/value'); // past its max TTL: a new login
    assert.equal(logins(), 2);
    for (const token of [...vault.tokens.keys()]) vault.revoke(token);
    assert.equal((await kv.read('sec_hhhhhhhh/value'))?.data.value, 'approle', 'a revoked token is replaced by a new login');
    assert.equal(logins(), 3);
    assert.equal(redactor.redact(role.secretId), '[REDACTED]');
  });

  it('refuses a wrong AppRole secret id saying how to get a new one', async () => {
    const role = vault.addAppRole();
    const { session } = client(vault, { kind: 'approle', roleId: role.roleId, secretId: 'wrong-secret-id' });
    const error = await rejection(session.check());
    assert.equal(error.code, ErrorCodes.AuthenticationFailed);
    assert.match(error.message, /refused the AppRole login .*Get a new secret id/);
    assert.ok(!error.message.includes('wrong-secret-id'));
  });
});

describe('vault/hashicorp: where team values go', () => {
  it("maps each of a secret's accounts to its own KV path under the handle", () => {
    assert.deepEqual(
      ['sec_abcdefgh', 'sec_abcdefgh#passphrase', 'sec_abcdefgh#next', 'sec_abcdefgh#next#passphrase', 'sec_abcdefgh@v3', 'sec_abcdefgh@v3#passphrase'].map(pathOfAccount),
      ['sec_abcdefgh/value', 'sec_abcdefgh/passphrase', 'sec_abcdefgh/next', 'sec_abcdefgh/next-passphrase', 'sec_abcdefgh/v3', 'sec_abcdefgh/v3-passphrase'],
    );
    assert.equal(handleOfAccount('fingerprint-key.abc'), undefined, 'vault-wide keys stay personal');
    assert.equal(handleOfAccount('team-vault.abc'), undefined);
  });

  it('ZAVHOZ_VAULT=hashicorp keeps personal values in the keychain and makes team the default', async () => {
    const config = vaultConfigFromEnvironment('/nonexistent', new Redactor(), { ZAVHOZ_VAULT: 'hashicorp' });
    assert.equal(config.teamByDefault, true);
    assert.equal((await config.openBackend()).kind, 'keychain');
    assert.equal(vaultConfigFromEnvironment('/nonexistent', new Redactor(), {}).teamByDefault, undefined);
    const wrong = vaultConfigFromEnvironment('/nonexistent', new Redactor(), { ZAVHOZ_VAULT: 'vault' });
    await assert.rejects(wrong.openBackend(), /or to "hashicorp" to keep new secrets in the team's Vault/);
  });
});

