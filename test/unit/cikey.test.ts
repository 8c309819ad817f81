import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { AuditLog } from '../../daemon/audit/auditLog.js';
import { ZavhozError } from '../../daemon/core/errors.js';
import { Logger } from '../../daemon/core/logger.js';
import { Redactor } from '../../daemon/core/redactor.js';
import { generateDeployKeyPair, publicLineOf } from '../../daemon/cikey/keyPair.js';
import { deployUserOf } from '../../daemon/cikey/remote.js';
import { CiKeyService, type CiKeyVault, knownHostsLine, type ServerShell } from '../../daemon/cikey/service.js';
import { deployWorkflow, writeDeployWorkflow } from '../../daemon/github/workflow.js';
import { ErrorCodes } from '../../daemon/protocol/errors.js';
import type { SecretMetadata } from '../../daemon/protocol/secretFields.js';
import { MIGRATIONS } from '../../daemon/store/schema.js';
import { Store } from '../../daemon/store/store.js';
import { parse } from 'yaml';
import { EmbeddedDatabase } from '../../daemon/store/embedded.js';

/** A vault holding values in memory, with just what the CI key service asks of it. */
function memoryVault(): CiKeyVault & { values: Map<string, string> } {
  const values = new Map<string, string>();
  const records: SecretMetadata[] = [];
  const metadata = (handle: string, project: string | null): SecretMetadata => ({
    handle, name: 'CI_DEPLOY_KEY', type: 'private_key', category: 'server', project, tags: ['ci'], origin: 'user', hasPassphrase: false,
    fingerprint: 'x', createdAt: '', updatedAt: '', lastUsedAt: null, expiresAt: null, rotationDays: null, version: 1, previous: null,
  });
  return {
    values,
    list: async ({ project }) => records.filter((record) => project === undefined || record.project === project),
    set: (input) => {
      const handle = `sec_${'abcdefgh'.slice(0, 4)}${String(records.length).padStart(4, 'a')}`;
      values.set(handle, input.value);
      const record = metadata(handle, input.project ?? null);
      records.push(record);
      return Promise.resolve(record);
    },
    rotate: ({ handle, value }) => {
      values.set(handle, value);
      return Promise.resolve(records.find((record) => record.handle === handle) ?? metadata(handle, null));
    },
    remove: (handle) => {
      values.delete(handle);
      records.splice(records.findIndex((record) => record.handle === handle), 1);
      return Promise.resolve();
    },
    has: async (handle) => values.has(handle),
    withValue: async (handle, _use, work) => work(values.get(handle) ?? ''),
    fingerprint: () => Promise.resolve('x'),
  };
}

describe('CI deploy keys (daemon/cikey)', () => {
  let folder: string;
  let store: Store;
  let logger: Logger;

  before(async () => {
    folder = fs.mkdtempSync(path.join(os.tmpdir(), 'zavhoz-cikey-unit-'));
    store = await Store.open({ database: path.join(folder, 'z.db'), journal: path.join(folder, 'z.journal'), migrations: MIGRATIONS });
    logger = new Logger({ file: path.join(folder, 'daemon.log'), redactor: new Redactor() });
  });
  after(() => {
    store.close();
    logger.close();
    fs.rmSync(folder, { recursive: true, force: true });
  });

  /** A server that answers the privilege check with `privilege` and records every command. */
  function service(privilege: string, install = 'installed'): { ciKeys: CiKeyService; vault: ReturnType<typeof memoryVault>; commands: string[] } {
    const vault = memoryVault();
    const commands: string[] = [];
    const shell: ServerShell = {
      hostKey: Buffer.concat([Buffer.from([0, 0, 0, 11]), Buffer.from('ssh-ed25519'), Buffer.from([0, 0, 0, 2, 1, 2])]),
      exec(command) {
        commands.push(command);
        const stdout = command.includes("echo none") ? `${privilege}\n` : `${install}\n`;
        return Promise.resolve({ stdout, stderr: '', code: 0 });
      },
      close: () => undefined,
    };
    const ciKeys = new CiKeyService({ vault, audit: new AuditLog(EmbeddedDatabase.of(store)), log: logger.child({ component: 'test' }), openShell: () => Promise.resolve(shell) });
    return { ciKeys, vault, commands };
  }
  const where = { server: 'prod_vps_1', host: '203.0.113.7', sshPort: 2222 };
  const caller = { client: 'test', requestId: 'req-1' };

  test('a generated key is an OpenSSH ed25519 key that ssh-keygen reads, and its public line matches', () => {
    const pair = generateDeployKeyPair('zavhoz-ci shop');
    const file = path.join(folder, 'key');
    fs.writeFileSync(file, pair.privateKey, { mode: 0o600 });
    assert.equal(execFileSync('ssh-keygen', ['-y', '-f', file]).toString().trim(), pair.publicKey);
    assert.equal(`${publicLineOf(pair.privateKey)} zavhoz-ci shop`, pair.publicKey);
    assert.notEqual(generateDeployKeyPair('x').privateKey, pair.privateKey);
  });

  test('deploy user names are valid Linux names within 32 characters, distinct per project', () => {
    for (const project of ['shop', 'Shop.Web', 'a'.repeat(64), 'x_y-z']) {
      const user = deployUserOf(project);
      assert.match(user, /^zd-[a-z0-9_-]+-[0-9a-f]{6}$/);
      assert.ok(user.length <= 32, user);
    }
    assert.notEqual(deployUserOf('Shop'), deployUserOf('shop'));
  });

  test('the known_hosts line pins the host key for a non-standard port and a standard one', () => {
    const key = Buffer.concat([Buffer.from([0, 0, 0, 11]), Buffer.from('ssh-ed25519'), Buffer.from([0, 0, 0, 1, 7])]);
    assert.equal(knownHostsLine({ host: '203.0.113.7', sshPort: 2222 }, key), `[203.0.113.7]:2222 ssh-ed25519 ${key.toString('base64')}`);
    assert.equal(knownHostsLine({ host: '203.0.113.7', sshPort: 22 }, key), `203.0.113.7 ssh-ed25519 ${key.toString('base64')}`);
  });

  test('as root: one key made and stored once; the install gets its public line, never the private key', async () => {
    const { ciKeys, vault, commands } = service('root');
    const first = await ciKeys.ensure('shop', where, caller);
    const second = await ciKeys.ensure('shop', where, caller);
    assert.equal(first.credential.keyHandle, second.credential.keyHandle);
    assert.equal(first.credential.user, deployUserOf('shop'));
    assert.match(first.credential.knownHosts ?? '', /^\[203\.0\.113\.7\]:2222 ssh-ed25519 /);
    const key = vault.values.get(first.credential.keyHandle) ?? '';
    assert.match(key, /^-----BEGIN OPENSSH PRIVATE KEY-----/);
    const installs = commands.filter((command) => command.includes('useradd'));
    assert.equal(installs.length, 2);
    for (const command of commands) {
      assert.ok(!command.includes(key.split('\n')[1] ?? '-'), 'no private key material in a command');
      assert.ok(!command.startsWith("'sudo'"), 'root needs no sudo');
    }
    assert.ok(installs.every((command) => command.includes(publicLineOf(key))));
  });

  test('rotation: the install carries old and new key, the retire the new one only', async () => {
    const { ciKeys, vault, commands } = service('sudo');
    const first = await ciKeys.ensure('shop', where, caller);
    const oldLine = publicLineOf(vault.values.get(first.credential.keyHandle) ?? '');
    const rotated = await ciKeys.ensure('shop', where, caller, { rotate: true });
    const newLine = publicLineOf(vault.values.get(rotated.credential.keyHandle) ?? '');
    assert.notEqual(newLine, oldLine);
    assert.equal(rotated.rotated, true);
    const install = commands.filter((command) => command.includes('useradd')).at(-1) ?? '';
    assert.ok(install.includes(oldLine) && install.includes(newLine));
    await rotated.retire();
    const retire = commands.filter((command) => command.includes('useradd')).at(-1) ?? '';
    assert.ok(retire.includes(newLine) && !retire.includes(oldLine));
    assert.ok(commands.filter((command) => command.includes('useradd')).every((command) => command.startsWith("'sudo' '-n'")), 'a sudoer goes through sudo -n');
  });

  test('neither root nor a passwordless sudoer, or no sudo on the server: a clear error, and no key is stored', async () => {
    const { ciKeys, vault } = service('none');
    await assert.rejects(ciKeys.ensure('shop', where, caller), (error: unknown) => {
      assert.ok(error instanceof ZavhozError);
      assert.equal(error.code, ErrorCodes.PreconditionFailed);
      assert.match(error.message, /not root and cannot use sudo without a password.*--ssh-user root.*does not give CI the server's own key/);
      return true;
    });
    assert.equal(vault.values.size, 0);
    const noSudo = service('root', 'nosudo');
    await assert.rejects(noSudo.ciKeys.ensure('shop', where, caller), /has no sudo.*apt-get install sudo/);
    assert.equal(noSudo.vault.values.size, 0);
  });

  test('the workflow is valid YAML that logs in as DEPLOY_USER with the pinned host key; a different file is not overwritten without force', () => {
    const text = deployWorkflow('shop');
    const workflow = parse(text) as { on: { push: { branches: string[] } }; jobs: { deploy: { steps: { run: string; env: Record<string, string> }[] } } };
    assert.deepEqual(workflow.on.push.branches, ['main']);
    const step = workflow.jobs.deploy.steps[0];
    assert.deepEqual(Object.keys(step?.env ?? {}).sort(), ['DEPLOY_HOST', 'DEPLOY_KNOWN_HOSTS', 'DEPLOY_PORT', 'DEPLOY_SSH_KEY', 'DEPLOY_USER']);
    assert.match(step?.run ?? '', /StrictHostKeyChecking="\$host_check"/);
    const project = path.join(folder, 'project');
    fs.mkdirSync(project);
    assert.equal(writeDeployWorkflow('shop', project, false).status, 'written');
    assert.equal(writeDeployWorkflow('shop', project, false).status, 'unchanged');
    fs.appendFileSync(path.join(project, '.github/workflows/deploy.yml'), '# mine\n');
    assert.throws(() => writeDeployWorkflow('shop', project, false), /--force/);
    assert.equal(writeDeployWorkflow('shop', project, true).status, 'replaced');
    assert.throws(() => writeDeployWorkflow('shop', 'relative/folder', false), /absolute/);
  });
});
