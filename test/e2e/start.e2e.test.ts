/**
 * The README's first command, run as a newcomer runs it: `npm start` in the repository, with no desktop VS Code on
 * PATH (so the code-server path), then Ctrl+C. Also: a second `npm start` while one runs, a port chosen with
 * ZAVHOZ_START_PORT, and the hand-over to desktop VS Code (a recording stand-in for `code`, which cannot be
 * downloaded here). Only the keychain, the data folder, the code-server profile and the port are the test's own.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ROOT } from '../harness/daemon.js';
import { startKeyring, type KeyringSession } from '../harness/keyring.js';
import { freeLoopbackPort } from '../harness/net.js';
import { hasExited, removeFolder, signalQuietly, waitForExit, waitUntil } from '../harness/processes.js';
import { escapeRegExp } from '../harness/text.js';
import { healthy, processGroupMembers } from './codeServer.js';
import { stopDaemon } from './harness.js';
import { Workbench } from './workbench.js';

const VIEWS = ['Servers', 'Allocations', 'Secrets', 'Deploy Runs', 'Daemon'];
/** Building, packaging and starting code-server on a busy 2-core machine. */
const START_TIMEOUT_MS = 5 * 60_000;

/** A finished command: its exit code and everything it printed. */
interface Finished {
  readonly code: number | null;
  readonly output: string;
}

/** `npm start` as a child in a process group of its own, as a terminal runs a foreground job. */
class NpmStart {
  output = '';
  readonly child: ChildProcess;

  constructor(args: readonly string[], cwd: string, env: NodeJS.ProcessEnv) {
    this.child = spawn('npm', [...args, 'start'], { cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout?.on('data', (chunk: Buffer) => (this.output += chunk.toString('utf8')));
    this.child.stderr?.on('data', (chunk: Buffer) => (this.output += chunk.toString('utf8')));
  }

  /** Resolves when the command has exited. */
  finished(timeoutMs = START_TIMEOUT_MS): Promise<Finished> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`npm start did not exit within ${timeoutMs / 1000} s:\n${this.output}`)), timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        resolve({ code: this.child.exitCode, output: this.output });
      };
      if (hasExited(this.child)) done();
      else this.child.once('exit', done);
    });
  }

  /** Ctrl+C in a terminal: SIGINT to every process of the foreground group (npm, sh, node). */
  interrupt(): void {
    if (this.child.pid !== undefined) signalQuietly(-this.child.pid, 'SIGINT');
  }
}

/** PATH without any folder holding a `code` command: a machine without desktop VS Code. */
function pathWithoutCode(): string {
  return (process.env['PATH'] ?? '')
    .split(path.delimiter)
    .filter((folder) => folder !== '' && !existsSync(path.join(folder, 'code')))
    .join(path.delimiter);
}

/** The user's shell environment: none of the outer npm's variables (INIT_CWD, npm_config_*) of `npm test`. */
function shellEnvironment(extra: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!name.startsWith('npm_') && name !== 'INIT_CWD' && !name.startsWith('ZAVHOZ_')) env[name] = value;
  }
  return { ...env, ...extra };
}


/** Pids of processes whose command line mentions `needle` (code-server and its helpers name their profile). */
function processesMentioning(needle: string): number[] {
  const found: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${name}/cmdline`, 'utf8').includes(needle)) found.push(Number(name));
    } catch {
      // Ended while listing.
    }
  }
  return found;
}

/** The command line of `pid`, arguments joined by spaces ('' once it has ended). */
function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
  } catch {
    return '';
  }
}

describe('npm start, as the README says', () => {
  let keyring: KeyringSession;
  let folder: string;
  let zavhozHome: string;
  let profile: string;
  let port: number;
  let env: NodeJS.ProcessEnv;
  let first: NpmStart | undefined;
  let workbench: Workbench | undefined;
  let serverPid: number | undefined;

  before(async () => {
    folder = mkdtempSync(path.join(tmpdir(), 'zavhoz-start-'));
    zavhozHome = path.join(folder, 'zavhoz-home');
    profile = path.join(folder, 'profile');
    mkdirSync(zavhozHome, { mode: 0o700 });
    keyring = await startKeyring();
    port = await freeLoopbackPort();
    env = shellEnvironment({ ...keyring.env, PATH: pathWithoutCode(), ZAVHOZ_HOME: zavhozHome, ZAVHOZ_START_PROFILE: profile, ZAVHOZ_START_PORT: String(port) });
  });

  after(async () => {
    /* eslint-disable @typescript-eslint/no-unnecessary-condition -- before() may have failed before it assigned these */
    await workbench?.close().catch(() => undefined);
    if (first?.child.pid !== undefined && !hasExited(first.child)) {
      signalQuietly(-first.child.pid, 'SIGKILL');
      await waitForExit(first.child, 5_000);
    }
    // Whatever Ctrl+C did not stop: code-server's group, then the daemon npm start left running by design.
    if (serverPid !== undefined) {
      signalQuietly(-serverPid, 'SIGKILL');
      await waitUntil('code-server to exit', () => (processGroupMembers(serverPid ?? 0).length === 0 ? true : undefined), 15_000).catch(() => undefined);
    }
    await stopDaemon(zavhozHome);
    await keyring?.stop();
    removeFolder(folder);
    /* eslint-enable @typescript-eslint/no-unnecessary-condition */
  });

  test('prints the code-server URL on the port from ZAVHOZ_START_PORT, and the URL answers', async () => {
    first = new NpmStart([], ROOT, env);
    const started = first;
    const url = await waitUntil('npm start to print its URL', () => {
      if (hasExited(started.child)) throw new Error(`npm start exited early (${String(started.child.exitCode)}):\n${started.output}`);
      return /Zavhoz is running in code-server: (\S+)/.exec(started.output)?.[1];
    }, START_TIMEOUT_MS);
    assert.ok(url.startsWith(`http://127.0.0.1:${port}/`), `URL ${url} is not on port ${port}`);
    assert.match(url, new RegExp(`folder=${escapeRegExp(encodeURIComponent(ROOT))}$`), 'the workspace is the folder npm start was typed in');
    assert.ok(await healthy(`http://127.0.0.1:${port}`));
    const instance = JSON.parse(readFileSync(path.join(profile, 'instance.json'), 'utf8')) as { server: { pid: number } };
    serverPid = instance.server.pid;
  });

  test('the workbench at that URL shows the Zavhoz views with the extension activated and connected', async () => {
    const url = /Zavhoz is running in code-server: (\S+)/.exec(first?.output ?? '')?.[1];
    assert.ok(url !== undefined);
    workbench = await Workbench.open(url, path.join(folder, 'chromium-profile'));
    await workbench.openContainer('Zavhoz');
    for (const name of VIEWS) {
      const pane = await workbench.expandView(name);
      await pane.locator('.pane-body').filter({ hasNotText: 'Connecting to the Zavhoz daemon' }).waitFor({ state: 'visible' });
    }
    // The daemon npm start started is the one the extension talks to.
    const row = await workbench.waitForTreeRow('Daemon', /Running/);
    assert.match(await row.innerText(), /pid\s+\d+/);
    const rows = await workbench.treeRows('Daemon');
    assert.ok(rows.some((text) => text.includes(zavhozHome)), `data folder row missing from ${JSON.stringify(rows)}`);
    await workbench.waitForStatusBar(/Zavhoz/);
    await workbench.screenshot('npm-start-workbench');
  });

  test('a second npm start says where the running one is, instead of failing on the busy port', async () => {
    const second = await new NpmStart([], ROOT, env).finished(60_000);
    assert.equal(second.code, 0, second.output);
    assert.match(second.output, new RegExp(`already running in code-server: http://127\\.0\\.0\\.1:${port}/`));
    assert.match(second.output, new RegExp(`pid ${String(first?.child.pid ?? 0)}|kill -INT \\d+`));
    assert.ok(await healthy(`http://127.0.0.1:${port}`), 'the first one still serves');
  });

  test('a port another program holds, or one that is not a number, is refused at once with what to do', async () => {
    const blocker: Server = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const address = blocker.address();
    const busy = typeof address === 'object' && address !== null ? address.port : 0;
    try {
      const otherProfile = { ...env, ZAVHOZ_START_PROFILE: path.join(folder, 'other-profile'), ZAVHOZ_START_PORT: String(busy) };
      const refused = await new NpmStart([], ROOT, otherProfile).finished(60_000);
      assert.equal(refused.code, 1, refused.output);
      assert.match(refused.output, new RegExp(`port ${busy} \\(ZAVHOZ_START_PORT\\) is in use by another program: choose another port`));
      assert.doesNotMatch(refused.output, /building/, 'refused before the build');
      const invalid = await new NpmStart([], ROOT, { ...otherProfile, ZAVHOZ_START_PORT: 'eighty' }).finished(60_000);
      assert.equal(invalid.code, 2, invalid.output);
      assert.match(invalid.output, /ZAVHOZ_START_PORT=eighty is not a port number/);
    } finally {
      blocker.close();
    }
  });

  test('Ctrl+C stops code-server and leaves no process of it behind', async () => {
    assert.ok(first !== undefined && serverPid !== undefined);
    await workbench?.close();
    workbench = undefined;
    first.interrupt();
    const ended = await first.finished(60_000);
    assert.match(ended.output, /stopping code-server/);
    const group = serverPid;
    await waitUntil('code-server and its helpers to exit', () => (processGroupMembers(group).length === 0 ? true : undefined), 30_000);
    assert.deepEqual(processesMentioning(profile), [], 'a process of the code-server profile outlived Ctrl+C');
    assert.equal(await healthy(`http://127.0.0.1:${port}`), false);
    assert.equal(existsSync(path.join(profile, 'instance.json')), false, 'the instance record is removed');
    serverPid = undefined;
  });

  test('Ctrl+C while code-server is still booting stops it too, and frees the profile for the next start', async () => {
    const bootingProfile = path.join(folder, 'booting-profile');
    const booting = new NpmStart([], ROOT, { ...env, ZAVHOZ_START_PROFILE: bootingProfile, ZAVHOZ_START_PORT: String(await freeLoopbackPort()) });
    try {
      // code-server runs detached, out of the terminal's reach: the window where only npm start can stop it.
      await waitUntil('code-server to be spawned', () => {
        if (hasExited(booting.child)) throw new Error(`npm start exited early:\n${booting.output}`);
        // The server itself (the earlier --install-extension run of code-server has no --bind-addr).
        const serving = processesMentioning(path.join(bootingProfile, 'user-data')).filter((pid) => commandLine(pid).includes('--bind-addr'));
        return serving.length > 0 ? true : undefined;
      }, START_TIMEOUT_MS);
      booting.interrupt();
      const ended = await booting.finished(60_000);
      assert.doesNotMatch(ended.output, /Zavhoz is running in code-server/);
      assert.doesNotMatch(ended.output, /\n\s+at /, 'no stack trace');
      await waitUntil('every process of the booting profile to exit', () => (processesMentioning(bootingProfile).length === 0 ? true : undefined), 30_000);
      assert.equal(existsSync(path.join(bootingProfile, 'instance.json')), false, 'the profile is free again');
    } finally {
      if (booting.child.pid !== undefined) signalQuietly(-booting.child.pid, 'SIGKILL');
      for (const pid of processesMentioning(bootingProfile)) signalQuietly(pid, 'SIGKILL');
    }
  });

  test('with a `code` command on PATH, npm start hands the extension to desktop VS Code with the folder it was typed in', async () => {
    const bin = path.join(folder, 'bin');
    const record = path.join(folder, 'code-arguments.txt');
    const workspace = path.join(folder, 'my-project');
    mkdirSync(bin);
    mkdirSync(workspace);
    // A recording stand-in for desktop VS Code's `code` launcher: it writes its arguments and returns, as `code` does.
    writeFileSync(path.join(bin, 'code'), `#!/bin/sh\nprintf '%s\\n' "$@" > '${record}'\n`);
    chmodSync(path.join(bin, 'code'), 0o755);
    const desktop = await new NpmStart(['--prefix', ROOT], workspace, { ...env, PATH: `${bin}${path.delimiter}${env['PATH'] ?? ''}` }).finished();
    assert.equal(desktop.code, 0, desktop.output);
    assert.deepEqual(readFileSync(record, 'utf8').trim().split('\n'), [`--extensionDevelopmentPath=${ROOT}`, workspace]);
    assert.doesNotMatch(desktop.output, /code-server/, 'code-server is not used when desktop VS Code is there');
  });
});
