/**
 * The git token path of a deploy, end to end: the repository is private and served over HTTPS on loopback by a
 * test double of GitHub's git endpoint (test/fakes/gitHttps.ts: `git http-backend` behind HTTP Basic auth), so git
 * on the target must ask the playbook's credential helper for the token the daemon took from the vault. Everything
 * else is as in deploy.test.ts: a real daemon, keychain, sshd, ansible-playbook and git, the run's real container
 * engine and registry; a UFW double.
 *
 * The target's SSH sessions get two variables, as a server's login environment would: GIT_SSL_CAINFO (trust the
 * fake's self-signed certificate) and GIT_CONFIG_GLOBAL, a throwaway gitconfig standing in for the SSH user's own
 * ~/.gitconfig, with `credential.helper store`, as many servers have after someone cloned by hand. Neither the
 * machine's git config nor the user's real one is read or changed.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { dataPaths } from '../../daemon/core/paths.js';
import type { RunDetail, RunSummary } from '../../daemon/protocol/runs.js';
import { FakeGitHttps, type GitHttpsRequest } from '../fakes/gitHttps.js';
import {
  bareRepository,
  cliJson,
  gitCredentialFolders,
  gitCredentialsPrefix,
  type RealDeployWorld,
  sampleProcessList,
  setUpRealDeployWorld,
  storeUserSecrets,
} from './deploy-support.js';

/** Files a finished run folder may hold: the log, the playbook, config and step plugin used, and the inventory. */
const KEPT_FILES = ['action_plugins', 'ansible.cfg', 'callback_plugins', 'deploy_after_health.yml', 'deploy_before_up.yml', 'deploy_containers.yml', 'deploy_prepare_failed.yml', 'deploy_project.yml', 'inventory.yml', 'proxy_switch_finish.yml', 'proxy_switch_start.yml', 'run.log'];

/** Runs `read`, or answers `gone` when the file went away meanwhile (another test file's deploy removed it). */
function unlessGone<T>(read: () => T, gone: T): T {
  try {
    return read();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return gone;
    throw error;
  }
}

/** Every regular file under `folder` (following no links), or none when it does not exist. */
function filesUnder(folder: string): string[] {
  return unlessGone(() => fs.readdirSync(folder, { recursive: true, encoding: 'utf8' }), [])
    .map((name) => path.join(folder, name))
    .filter((file) => unlessGone(() => fs.lstatSync(file).isFile(), false));
}

/** The files under `folders` whose content holds `secret`. */
function filesHolding(secret: string, folders: readonly string[]): string[] {
  return folders.flatMap(filesUnder).filter((file) => unlessGone(() => fs.readFileSync(file).includes(secret), false));
}

/** `git ARGS…` in `cwd` on the target (this machine), trimmed. */
function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', ['-C', cwd, ...args], { encoding: 'utf8' }).trim();
}

describe('deploy: clone a private repository over HTTPS with a git token from the vault', () => {
  const token = `ghp_${crypto.randomBytes(18).toString('hex')}`;
  let repository: ReturnType<typeof bareRepository>;
  let github: FakeGitHttps;
  /** Holds the SSH user's stand-in gitconfig and the `store` helper's file. */
  let remoteGit: string;
  let credentialStore: string;
  let world: RealDeployWorld;
  let repoUrl: string;

  before(async () => {
    remoteGit = fs.mkdtempSync(path.join(os.tmpdir(), 'zavhoz-remote-git-'));
    credentialStore = path.join(remoteGit, 'git-credentials');
    const gitconfig = path.join(remoteGit, 'gitconfig');
    fs.writeFileSync(gitconfig, `[credential]\n\thelper = store --file ${credentialStore}\n`);
    // The fake serves what lands in its project root: the world's fixture (which names this file's test image)
    // exists only once the world does, and the world needs the fake's certificate first.
    const projectRoot = path.join(remoteGit, 'served');
    fs.mkdirSync(projectRoot);
    github = await FakeGitHttps.start({ projectRoot, token });
    world = await setUpRealDeployWorld({ name: 'git-token', remoteEnvironment: { GIT_SSL_CAINFO: github.caFile, GIT_CONFIG_GLOBAL: gitconfig } });
    repository = bareRepository(world.fixture);
    fs.cpSync(repository.url, path.join(projectRoot, path.basename(repository.url)), { recursive: true });
    repoUrl = github.repositoryUrl(path.basename(repository.url));
  });
  after(async () => {
    /* eslint-disable @typescript-eslint/no-unnecessary-condition -- before() may have failed before it assigned these */
    await world?.dispose();
    await github?.stop();
    repository?.remove();
    if (remoteGit) fs.rmSync(remoteGit, { recursive: true, force: true });
    /* eslint-enable @typescript-eslint/no-unnecessary-condition */
  });

  /**
   * `zavhoz deploy … --wait` (human output: the log lines as they were streamed in notifications) of the fake's
   * repository, then the run as `run show` has it.
   */
  const deploy = async (project: string, gitTokenHandle: string | undefined): Promise<{ run: RunDetail; code: number; output: string; log: string }> => {
    const tokenFlag = gitTokenHandle === undefined ? [] : ['--git-token', gitTokenHandle];
    const args = ['deploy', world.fixture, '--project', project, '--repo', 'Acme/Demo', '--repo-url', repoUrl, ...tokenFlag, '--timeout', '900', '--wait'];
    const result = await world.daemon.cli(args);
    const [summary] = await cliJson<RunSummary[]>(world.daemon, ['run', 'list', '--project', project]);
    assert.ok(summary, `no run of ${project}: ${result.stderr}`);
    const shown = await world.daemon.cli(['run', 'show', summary.id, '--json']);
    const logged = await world.daemon.cli(['run', 'log', summary.id]);
    const run = JSON.parse(shown.stdout) as RunDetail;
    return { run, code: result.code, output: [result.stdout, result.stderr, shown.stdout, logged.stdout, logged.stderr].join('\n'), log: fs.readFileSync(path.join(run.folder, 'run.log'), 'utf8') };
  };

  /** Asserts `secret` is in none of the places a deploy leaves text, on the daemon's side and the target's. */
  const assertNowhere = (secret: string, run: RunDetail, output: string, psOutput?: string): void => {
    assert.ok(!fs.readFileSync(path.join(run.folder, 'run.log'), 'utf8').includes(secret), 'not in run.log');
    assert.ok(!fs.readFileSync(dataPaths(world.daemon.home).log, 'utf8').includes(secret), 'not in the daemon log');
    assert.ok(!output.includes(secret), 'not in the streamed log lines (notifications), nor in `run show` / `run log`');
    assert.deepEqual(filesHolding(secret, [run.folder]), [], 'not in any file of the run folder');
    assert.deepEqual(fs.readdirSync(run.folder).sort(), KEPT_FILES, 'the run folder keeps no secret file');
    assert.deepEqual(filesHolding(secret, gitCredentialFolders()), [], "not in any git credentials folder left in the target's /tmp or /dev/shm");
    assert.deepEqual(
      gitCredentialFolders().filter((folder) => path.basename(folder).startsWith(gitCredentialsPrefix(run.project))),
      [],
      "the run's git credentials folder is gone",
    );
    assert.deepEqual(filesHolding(secret, [remoteGit]), [], "not kept by the SSH user's own credential helper (`store`)");
    assert.deepEqual(filesHolding(secret, [path.join('/opt/services', run.project)]), [], 'not in the project folder (e.g. .git/config)');
    if (psOutput !== undefined) assert.ok(!psOutput.includes(secret), "not in any process's arguments");
  };

  /** The fake's requests that arrived after the first `skip`. */
  const requestsSince = (skip: number): GitHttpsRequest[] => github.requests().slice(skip);

  test('the right token: git authenticates through the credential helper, clones the commit, and the token is left nowhere', async () => {
    const project = world.newProject('private');
    await storeUserSecrets(world, project);
    const handle = await world.storeSecret('GIT_TOKEN', 'token', token, project);
    const seenBefore = github.requests().length;

    const processes = sampleProcessList();
    let deployed: Awaited<ReturnType<typeof deploy>>;
    let psOutput: string;
    try {
      deployed = await deploy(project, handle);
    } finally {
      psOutput = await processes.stop();
    }
    const { run, code, output, log } = deployed;
    assert.equal(run.status, 'succeeded', `${run.error ?? ''}\n${log}`);
    assert.equal(code, 0);

    const projectFolder = path.join('/opt/services', project);
    assert.equal(git(projectFolder, 'rev-parse', 'HEAD'), repository.commit, 'the target has the repository at the deployed commit');
    assert.equal(git(projectFolder, 'remote', 'get-url', 'origin'), repoUrl, 'the remote URL is stored without credentials');
    const seen = requestsSince(seenBefore);
    assert.ok(seen.some((request) => request.auth === 'missing' && request.status === 401), 'git first asked without credentials and was challenged');
    assert.ok(
      seen.some((request) => request.auth === 'accepted' && request.method === 'POST' && request.path.endsWith('/git-upload-pack') && request.status === 200),
      `the fake served an authenticated fetch: ${JSON.stringify(seen)}`,
    );
    assert.deepEqual(seen.filter((request) => request.auth === 'wrong'), [], 'git never sent a wrong password');

    assertNowhere(token, run, output, psOutput);
  });

  test('a wrong token: the run fails at the clone, says authentication failed, and that token is left nowhere either', async () => {
    const project = world.newProject('denied');
    await storeUserSecrets(world, project);
    const wrong = `ghp_${crypto.randomBytes(18).toString('hex')}`;
    const handle = await world.storeSecret('GIT_TOKEN', 'token', wrong, project);
    const seenBefore = github.requests().length;

    const { run, code, output, log } = await deploy(project, handle);
    assert.equal(code, 1, 'the CLI exits 1 for a failed run');
    assert.equal(run.status, 'failed');
    assert.equal(run.attempts, 1, 'a refused token is not retried');
    assert.match(run.error ?? '', /The task "Clone or update the repository" failed/);
    assert.match(run.error ?? '', /git authentication failed: the repository refused the git token/, `the error says why: ${run.error ?? ''}`);
    assert.match(output, /git authentication failed/, 'the CLI shows it');
    assert.match(log, /TASK \[Clone or update the repository\][^\n]*\n(?:\[zavhoz\] step: playbook\n)?fatal: \[target\]/);
    assert.ok(!fs.existsSync(path.join('/opt/services', project, '.git')), 'nothing was cloned');

    const seen = requestsSince(seenBefore);
    assert.ok(seen.some((request) => request.auth === 'wrong' && request.status === 401), `the fake refused the token: ${JSON.stringify(seen)}`);
    assert.deepEqual(seen.filter((request) => request.auth === 'accepted'), [], 'nothing was served');

    assertNowhere(wrong, run, output);
  });

  test('no token for the private repository: the run fails at the clone and says a token is needed', async () => {
    const project = world.newProject('tokenless');
    await storeUserSecrets(world, project);
    const seenBefore = github.requests().length;

    const { run, code, output } = await deploy(project, undefined);
    assert.equal(code, 1);
    assert.equal(run.status, 'failed');
    assert.match(run.error ?? '', /The task "Clone or update the repository" failed/);
    assert.match(run.error ?? '', /git authentication failed: the repository asked for credentials and none were given\. .*--git-token HANDLE/, run.error ?? '');
    assert.match(output, /git authentication failed/);
    const seen = requestsSince(seenBefore);
    assert.ok(seen.length > 0 && seen.every((request) => request.auth === 'missing' && request.status === 401), `git only ever asked without credentials: ${JSON.stringify(seen)}`);
  });
});
