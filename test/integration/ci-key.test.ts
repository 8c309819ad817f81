/**
 * The scoped CI deploy key end to end (issue 16): a real daemon and keychain, a real sshd on a loopback address of
 * its own whose sessions reach the run's real container engine, and the fake GitHub API (test double), which opens
 * the sealed values as a workflow would get them. Zavhoz creates a real Linux user for the project on this host
 * (the test runs as root); the workflow Zavhoz writes is run with the pushed secrets and redeploys the project;
 * the same key gets no shell, no other command, no other project and no port forward. The user is removed in the
 * end, also when a test fails.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parse } from 'yaml';
import { deployUserOf } from '../../daemon/cikey/remote.js';
import { dataPaths } from '../../daemon/core/paths.js';
import type { AuditEntryView } from '../../daemon/protocol/audit.js';
import type { SecretMetadata } from '../../daemon/protocol/secretFields.js';
import { MIGRATIONS } from '../../daemon/store/schema.js';
import { Store } from '../../daemon/store/store.js';
import type { GithubPushResult } from '../../daemon/protocol/github.js';
import type { UndeployResult } from '../../daemon/protocol/undeploy.js';
import { cliJson, type TestDaemon, startTestDaemon } from '../harness/daemon.js';
import { removeCiDeployUser } from '../harness/ciDeployUsers.js';
import { type Engine, startEngine } from '../harness/engine.js';
import { buildWebImage } from '../harness/images.js';
import { type KeyringSession, startKeyring } from '../harness/keyring.js';
import { waitUntil } from '../harness/processes.js';
import { type SshdServer, startSshd } from '../harness/sshd.js';
import { FakeGithub } from '../fakes/github.js';

const repo = 'octo-org/cikey';
const token = 'ghp_IntegrationTokenForTheCiKeyTest77';
const id = crypto.randomBytes(3).toString('hex');
const project = `cikey-${id}`;
const other = `cikey-other-${id}`;
const user = deployUserOf(project);

/** Runs a command, never rejecting: its exit code and output. */
function run(command: string, args: readonly string[], options: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(command, [...args], { env: options.env ?? process.env, cwd: options.cwd, timeout: options.timeoutMs ?? 120_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof (error as { code?: unknown }).code === 'number' ? ((error as { code: number }).code) : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

describe('scoped CI deploy key: what GitHub gets can redeploy its project and nothing else', () => {
  let keyring: KeyringSession;
  let engine: Engine;
  let sshd: SshdServer;
  let daemon: TestDaemon;
  let github: FakeGithub;
  let work: string;
  let image: string;

  /** The CI runner's view: the secrets as GitHub hands them to a workflow. */
  const secret = (name: string): string => {
    const value = github.plaintext(repo, name);
    assert.ok(value !== undefined, `GitHub holds ${name}`);
    return value;
  };

  /** ssh as CI would, with the pushed key and the pinned host key, asking for `command` (none: a login). */
  async function ciSsh(extra: readonly string[], command?: string): Promise<{ code: number; stdout: string; stderr: string }> {
    const keyFile = path.join(work, `key-${crypto.randomBytes(3).toString('hex')}`);
    fs.writeFileSync(keyFile, `${secret('DEPLOY_SSH_KEY')}\n`, { mode: 0o600 });
    fs.writeFileSync(path.join(work, 'known_hosts'), `${secret('DEPLOY_KNOWN_HOSTS')}\n`);
    try {
      return await run('ssh', [
        '-i', keyFile, '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=yes',
        '-o', `UserKnownHostsFile=${path.join(work, 'known_hosts')}`, '-F', '/dev/null',
        '-p', secret('DEPLOY_PORT'), ...extra, `${secret('DEPLOY_USER')}@${secret('DEPLOY_HOST')}`, ...(command === undefined ? [] : [command]),
      ]);
    } finally {
      fs.rmSync(keyFile, { force: true });
    }
  }

  async function containers(name: string): Promise<{ id: string; image: string }[]> {
    const { stdout } = await engine.docker(['ps', '-a', '--filter', `label=com.docker.compose.project=${name}`, '--format', '{{.ID}} {{.Image}}']);
    return stdout.trim().split('\n').filter(Boolean).map((line) => {
      const [containerId = '', imageName = ''] = line.split(' ');
      return { id: containerId, image: imageName };
    });
  }

  async function imageIdOf(containerId: string): Promise<string> {
    return (await engine.docker(['inspect', '--format', '{{.Image}}', containerId])).stdout.trim();
  }

  before(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'zavhoz-cikey-'));
    keyring = await startKeyring();
    engine = await startEngine();
    sshd = await startSshd({ docker: { host: engine.dockerHost }, homeAuthorizedKeys: true });
    // The host's own registry login, as a deploy leaves it (the CI redeploy pulls with it).
    await new Promise<void>((resolve, reject) => {
      const child = spawn('docker', ['--config', sshd.dockerConfigDir ?? '', 'login', engine.registry.address, '-u', engine.registry.username, '--password-stdin'], {
        env: { ...process.env, DOCKER_HOST: engine.dockerHost },
        stdio: ['pipe', 'ignore', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`docker login failed: ${stderr}`))));
      child.stdin.end(engine.registry.password);
    });
    image = (await buildWebImage(engine, { name: `cikey-${id}/web`, tag: 'latest', version: 'v1' })).reference;
    for (const name of [project, other]) {
      fs.mkdirSync(`/opt/services/${name}/infra`, { recursive: true });
      fs.writeFileSync(`/opt/services/${name}/infra/compose.base.yml`, `services:\n  web:\n    image: ${image}\n    init: true\n    environment:\n      GREETING: \${GREETING}\n`);
      fs.writeFileSync(`/opt/services/${name}/.env`, 'GREETING=hello\n', { mode: 0o600 });
    }
    github = await FakeGithub.start();
    github.createRepository(repo);
    github.addToken(token, [repo]);
    daemon = await startTestDaemon({ env: keyring.env });
    await cliJson(daemon, ['config', 'set', 'healthCheckIntervalSeconds', '0']);
    await cliJson(daemon, ['config', 'set', 'githubApiBase', github.url]);
    const tokenSecret = await cliJson<{ handle: string }>(daemon, ['secret', 'set', 'GITHUB_TOKEN', '--type', 'token', '--category', 'github'], token);
    await cliJson(daemon, ['config', 'set', 'githubTokenSecret', tokenSecret.handle]);
    const key = await cliJson<{ handle: string }>(daemon, ['secret', 'set', 'SERVER_SSH_KEY', '--type', 'private_key'], sshd.clientKey.privateKeyPem);
    await cliJson(daemon, ['server', 'add', 'ci_host', '--host', sshd.host, '--ssh-port', String(sshd.port), '--ssh-user', sshd.user, '--ssh-key-secret', key.handle]);
    await cliJson(daemon, ['server', 'check', 'ci_host']);
    await cliJson(daemon, ['allocate', '--project', project]);
  });

  after(async () => {
    /* eslint-disable @typescript-eslint/no-unnecessary-condition -- before() may have failed before it assigned these */
    for (const name of [project, other]) {
      await run('docker', ['compose', '-p', name, '-f', `/opt/services/${name}/infra/compose.base.yml`, 'down', '-t', '1'], {
        env: { ...engine?.env, GREETING: 'x' },
      }).catch(() => undefined);
      await run('docker-compose', ['-p', name, '-f', `/opt/services/${name}/infra/compose.base.yml`, 'down', '-t', '1'], { env: { ...engine?.env, GREETING: 'x' } });
      fs.rmSync(`/opt/services/${name}`, { recursive: true, force: true });
    }
    removeCiDeployUser(project);
    await daemon?.dispose();
    await github?.stop();
    await sshd?.stop();
    await engine?.release();
    await keyring?.stop();
    fs.rmSync(work, { recursive: true, force: true });
    /* eslint-enable @typescript-eslint/no-unnecessary-condition */
  });

  test('push-secrets gives GitHub the project\'s deploy user and its own key, never the server\'s', async () => {
    const result = await cliJson<GithubPushResult>(daemon, ['github', 'push-secrets', '--repo', repo, '--project', project]);
    assert.ok(result.pushed.some((pushed) => pushed.name === 'DEPLOY_KNOWN_HOSTS'));
    assert.equal(secret('DEPLOY_USER'), user);
    assert.notEqual(secret('DEPLOY_USER'), sshd.user);
    assert.match(secret('DEPLOY_SSH_KEY'), /^-----BEGIN OPENSSH PRIVATE KEY-----\n/);
    assert.notEqual(secret('DEPLOY_SSH_KEY').trim(), sshd.clientKey.privateKeyPem.trim(), 'the server\'s own key stays on this machine');
    assert.match(secret('DEPLOY_KNOWN_HOSTS'), new RegExp(`^\\[${sshd.host.replace(/\./g, '\\.')}\\]:${sshd.port} ssh-ed25519 `));
    const keys = fs.readFileSync(`/var/lib/zavhoz-ci/${user}/.ssh/authorized_keys`, 'utf8').trim().split('\n');
    assert.equal(keys.length, 1);
    assert.match(keys[0] ?? '', new RegExp(`^restrict,command="/usr/local/lib/zavhoz/ci-deploy ${project}" ssh-ed25519 `));
    const secrets = await cliJson<{ name: string; type: string; project: string | null }[]>(daemon, ['secret', 'list', '--project', project]);
    assert.ok(secrets.some((entry) => entry.name === 'CI_DEPLOY_KEY' && entry.type === 'private_key' && entry.project === project));

    // Idempotent: a second push keeps one key line and the same key.
    const before = secret('DEPLOY_SSH_KEY');
    await cliJson<GithubPushResult>(daemon, ['github', 'push-secrets', '--repo', repo, '--project', project]);
    assert.equal(secret('DEPLOY_SSH_KEY'), before);
    assert.equal(fs.readFileSync(`/var/lib/zavhoz-ci/${user}/.ssh/authorized_keys`, 'utf8').trim().split('\n').length, 1);
  });

  test('the workflow Zavhoz writes, run with the pushed secrets, redeploys the project: a new image version is pulled', async () => {
    const folder = path.join(work, 'project');
    fs.mkdirSync(folder);
    const written = await cliJson<{ path: string; status: string }>(daemon, ['github', 'workflow', '--project', project, '--folder', folder]);
    assert.equal(written.status, 'written');
    const workflow = parse(fs.readFileSync(written.path, 'utf8')) as { jobs: { deploy: { steps: { run: string; env: Record<string, string> }[] } } };
    const step = workflow.jobs.deploy.steps[0];
    assert.ok(step);
    const ciEnvironment = Object.fromEntries(Object.keys(step.env).map((name) => [name, secret(name)]));
    const home = path.join(work, 'runner');
    fs.mkdirSync(home);
    const runStep = (): Promise<{ code: number; stdout: string; stderr: string }> =>
      run('bash', ['-c', step.run], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, ...ciEnvironment } });

    let outcome = await runStep();
    assert.equal(outcome.code, 0, outcome.stderr);
    const first = await containers(project);
    assert.equal(first.length, 1, 'compose up created the project\'s container');
    const firstImage = await imageIdOf(first[0]?.id ?? '');

    await buildWebImage(engine, { name: `cikey-${id}/web`, tag: 'latest', version: 'v2' });
    await engine.docker(['rmi', '-f', image]).catch(() => undefined);
    outcome = await runStep();
    assert.equal(outcome.code, 0, outcome.stderr);
    const second = await containers(project);
    assert.equal(second.length, 1);
    assert.notEqual(await imageIdOf(second[0]?.id ?? ''), firstImage, 'the new version was pulled and the container recreated');

    const again = await daemon.cli(['github', 'workflow', '--project', project, '--folder', folder, '--json']);
    assert.equal(again.code, 0, again.stderr);
    fs.appendFileSync(written.path, '# changed by hand\n');
    const refused = await daemon.cli(['github', 'workflow', '--project', project, '--folder', folder]);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /--force/);
  });

  test('the same key is refused a shell, `id`, another project and a port forward', async () => {
    const id = await ciSsh([], 'id');
    assert.notEqual(id.code, 0);
    assert.doesNotMatch(id.stdout, /uid=/);
    assert.match(id.stderr, /Refused: this key can only redeploy/);

    const login = await ciSsh(['-T']);
    assert.notEqual(login.code, 0);
    assert.match(login.stderr, /Refused: this key can only redeploy/);

    // An interactive shell: no pty (restrict), and the forced command refuses the login.
    const shell = await ciSsh(['-tt']);
    assert.notEqual(shell.code, 0, JSON.stringify(shell));
    assert.match(shell.stdout + shell.stderr, /PTY allocation request failed/);
    assert.doesNotMatch(shell.stdout, /[#$] $/m);

    for (const command of [`cd /opt/services/${other} && docker compose up -d`, `deploy ${other}`, 'deploy; id', '/bin/sh']) {
      const result = await ciSsh([], command);
      assert.notEqual(result.code, 0, command);
      assert.match(result.stderr, /Refused/, command);
    }
    assert.equal((await containers(other)).length, 0, 'nothing of the other project was started');

    // No file transfer either: the sftp subsystem is replaced by the forced command, which refuses it.
    const sftpKey = path.join(work, 'sftp-key');
    fs.writeFileSync(sftpKey, `${secret('DEPLOY_SSH_KEY')}\n`, { mode: 0o600 });
    const sftp = await run('sftp', [
      '-i', sftpKey, '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=yes', '-o', `UserKnownHostsFile=${path.join(work, 'known_hosts')}`,
      '-F', '/dev/null', '-b', '-', '-P', secret('DEPLOY_PORT'), `${secret('DEPLOY_USER')}@${secret('DEPLOY_HOST')}`,
    ]);
    fs.rmSync(sftpKey, { force: true });
    assert.notEqual(sftp.code, 0, JSON.stringify(sftp));
    assert.doesNotMatch(sftp.stdout, /sftp>/);

    // A local port forward to the server's own sshd: restrict refuses the channel.
    const listener = net.createServer();
    await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
    const localPort = (listener.address() as net.AddressInfo).port;
    await new Promise<void>((resolve) => listener.close(() => resolve()));
    const keyFile = path.join(work, 'forward-key');
    fs.writeFileSync(keyFile, `${secret('DEPLOY_SSH_KEY')}\n`, { mode: 0o600 });
    const forward = spawn('ssh', [
      '-i', keyFile, '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=yes', '-o', `UserKnownHostsFile=${path.join(work, 'known_hosts')}`,
      '-F', '/dev/null', '-N', '-L', `127.0.0.1:${localPort}:${sshd.host}:${sshd.port}`, '-p', secret('DEPLOY_PORT'), `${secret('DEPLOY_USER')}@${secret('DEPLOY_HOST')}`,
    ], { stdio: ['ignore', 'ignore', 'pipe'] });
    let forwardLog = '';
    forward.stderr.on('data', (chunk: Buffer) => (forwardLog += chunk.toString()));
    try {
      let received = '';
      for (let attempt = 0; attempt < 100 && !/prohibited/.test(forwardLog); attempt++) {
        received += await new Promise<string>((resolve) => {
          const socket = net.connect(localPort, '127.0.0.1');
          let data = '';
          socket.on('data', (chunk) => (data += chunk.toString()));
          socket.on('error', () => resolve(data));
          socket.on('close', () => resolve(data));
          socket.setTimeout(2000, () => socket.destroy());
        });
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      assert.doesNotMatch(received, /SSH-2\.0/, 'no byte of the forwarded sshd came through');
      assert.match(forwardLog, /administratively prohibited/);
    } finally {
      forward.kill();
      fs.rmSync(keyFile, { force: true });
    }
  });

  test('--rotate-key installs and pushes a new key; the old one no longer logs in', async () => {
    const oldKey = secret('DEPLOY_SSH_KEY');
    await cliJson<GithubPushResult>(daemon, ['github', 'push-secrets', '--repo', repo, '--project', project, '--rotate-key']);
    assert.notEqual(secret('DEPLOY_SSH_KEY'), oldKey);
    assert.equal(fs.readFileSync(`/var/lib/zavhoz-ci/${user}/.ssh/authorized_keys`, 'utf8').trim().split('\n').length, 1);
    const deployed = await ciSsh([], 'deploy');
    assert.equal(deployed.code, 0, deployed.stderr);
    const oldFile = path.join(work, 'old-key');
    fs.writeFileSync(oldFile, `${oldKey}\n`, { mode: 0o600 });
    const refused = await run('ssh', [
      '-i', oldFile, '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=yes', '-o', `UserKnownHostsFile=${path.join(work, 'known_hosts')}`,
      '-F', '/dev/null', '-p', secret('DEPLOY_PORT'), `${secret('DEPLOY_USER')}@${secret('DEPLOY_HOST')}`, 'deploy',
    ]);
    assert.equal(refused.code, 255);
    assert.match(refused.stderr, /Permission denied/);
  });

  test('a CI key whose rotation is due at daemon start rotates itself: new key on the server and in GitHub, the old one refused', async () => {
    const keyOf = async (): Promise<SecretMetadata> => {
      const secrets = await cliJson<SecretMetadata[]>(daemon, ['secret', 'list', '--project', project]);
      const key = secrets.find((entry) => entry.name === 'CI_DEPLOY_KEY');
      assert.ok(key, 'the project has a CI deploy key');
      return key;
    };
    const before = await keyOf();
    assert.equal(before.rotationDays, 90, 'a new CI key rotates every ciKeyRotationDays (default 90)');
    const oldKey = secret('DEPLOY_SSH_KEY');

    // The daemon was down when the key fell due: as time would have, with the store closed.
    await daemon.stop();
    const paths = dataPaths(daemon.home);
    const store = await Store.open({ database: paths.database, journal: paths.journal, migrations: MIGRATIONS });
    try {
      store.transaction((tx) => tx.run('UPDATE secrets SET rotation_days = 1, updated_at = ? WHERE handle = ?', ['2026-01-01T00:00:00.000Z', before.handle]));
    } finally {
      store.close();
    }
    await daemon.start();

    const after = await waitUntil('the due CI key to rotate at start', async () => {
      const now = await keyOf();
      return now.version > before.version ? now : undefined;
    }, 120_000);
    assert.notEqual(after.fingerprint, before.fingerprint);
    const audit = await waitUntil('the rotation to be audited', async () => {
      const entries = await cliJson<AuditEntryView[]>(daemon, ['audit', 'list', '--subject', before.handle]);
      return entries.find((entry) => entry.action === 'rotation') ? entries : undefined;
    });
    const rotation = audit.find((entry) => entry.action === 'rotation');
    assert.equal(rotation?.detail.result, 'rotated', JSON.stringify(rotation));
    assert.deepEqual(rotation.detail.pushedTo, [repo]);
    assert.notEqual(secret('DEPLOY_SSH_KEY'), oldKey, 'GitHub got the new key');
    assert.equal(fs.readFileSync(`/var/lib/zavhoz-ci/${user}/.ssh/authorized_keys`, 'utf8').trim().split('\n').length, 1, 'only the new key is installed');
    const deployed = await ciSsh([], 'deploy');
    assert.equal(deployed.code, 0, deployed.stderr);
    const oldFile = path.join(work, 'old-key-2');
    fs.writeFileSync(oldFile, `${oldKey}\n`, { mode: 0o600 });
    const refused = await run('ssh', [
      '-i', oldFile, '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=yes', '-o', `UserKnownHostsFile=${path.join(work, 'known_hosts')}`,
      '-F', '/dev/null', '-p', secret('DEPLOY_PORT'), `${secret('DEPLOY_USER')}@${secret('DEPLOY_HOST')}`, 'deploy',
    ]);
    assert.equal(refused.code, 255);
    assert.ok(!JSON.stringify(audit).includes(secret('DEPLOY_SSH_KEY')) && !JSON.stringify(audit).includes(oldKey), 'no key in the audit log');
  });

  test('an undeploy removes the deploy user and its key', async () => {
    const result = await cliJson<UndeployResult>(daemon, ['undeploy', '--project', project, '--yes']);
    assert.equal(result.status, 'succeeded', JSON.stringify(result));
    assert.deepEqual(result.warnings, []);
    assert.notEqual((await run('id', ['-u', user])).code, 0, 'the user is gone');
    assert.ok(!fs.existsSync(`/etc/sudoers.d/zavhoz-ci-${user}`));
    const secrets = await cliJson<{ name: string; project: string | null }[]>(daemon, ['secret', 'list', '--project', project]);
    assert.ok(!secrets.some((entry) => entry.name === 'CI_DEPLOY_KEY' && entry.project === project));
    const audit = await cliJson<{ action: string; detail: Record<string, unknown> }[]>(daemon, ['audit', 'list', '--subject', `project:${project}`]);
    assert.deepEqual(
      audit.map((entry) => entry.action).filter((action) => action.startsWith('ci-key-')).reverse(),
      ['ci-key-create', 'ci-key-install', 'ci-key-rotate', 'ci-key-retire', 'ci-key-rotate', 'ci-key-retire', 'ci-key-remove'],
    );
  });
});
