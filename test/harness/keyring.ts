/**
 * A private, real OS keychain for tests: a throwaway HOME, a private D-Bus session bus and a gnome-keyring
 * Secret Service whose `login` collection exists and is unlocked.
 *
 * Locking goes through the Secret Service `Lock` D-Bus call (no prompt needed). Unlocking cannot use the D-Bus
 * `Unlock` call headlessly (it always returns a prompt, and no prompter can show), so it uses gnome-keyring's
 * control socket, the same path pam_gnome_keyring takes at login.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { delay, onProcessExit, removeFolder, tailOf, terminateTree, killTreeSync, hasExited } from './processes.js';

const execFileAsync = promisify(execFile);

/** A running private keychain; pass `env` to any child process that should use it. */
export interface KeyringSession {
  /** The throwaway HOME folder (0700); removed by `stop()`. */
  home: string;
  /** Environment for a child process using this keychain: PATH, HOME, DBUS_SESSION_BUS_ADDRESS, XDG_*. */
  env: NodeJS.ProcessEnv;
  /** Locks the `login` collection; resolves once it reports locked. */
  lock(): Promise<void>;
  /** Unlocks the `login` collection with the session's password; resolves once it reports unlocked. */
  unlock(): Promise<void>;
  /** Stops gnome-keyring and the bus, then removes `home`. */
  stop(): Promise<void>;
}

/** Fixed password of every test keychain: they are throwaway and never hold real secrets. */
const keyringPassword = 'zavhoz-test-keyring';
// Generous: the test files start keychains, sshds and daemons side by side on a 2-core machine.
const startTimeoutMs = 30_000;
const loginCollection = '/org/freedesktop/secrets/collection/login';

/** gnome-keyring control protocol (daemon/control/gkd-control-codes.h). */
const controlOperationUnlock = 1;
const controlResults = ['ok', 'denied', 'failed', 'no daemon'];

/** A session bus config without service activation; see startKeyring for why. */
function busConfiguration(socketPath: string): string {
  return `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <keep_umask/>
  <listen>unix:path=${socketPath}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
`;
}

/** Starts a detached child with stdout/stderr in a log file: no pipes, so a forgotten session cannot hold the event loop. */
function spawnLogged(command: string, args: string[], env: NodeJS.ProcessEnv, logPath: string, stdin: 'ignore' | 'pipe'): ChildProcess {
  const log = openSync(logPath, 'a', 0o600);
  let child: ChildProcess;
  try {
    // detached: own process group, so a Ctrl-C aimed at the test run does not race our own shutdown.
    child = spawn(command, args, { env, detached: true, stdio: [stdin, log, log] });
  } finally {
    closeSync(log);
  }
  // A failed spawn (e.g. the package is missing) then shows in the log and as an exit code, not as a crash.
  child.on('error', (error) => appendFileSync(logPath, `could not start ${command}: ${error.message}\n`));
  return child;
}

/**
 * Calls a Secret Service method with dbus-send (package dbus-bin, which dbus depends on; gdbus would need the
 * extra libglib2.0-bin package on a minimal machine). Returns the printed reply.
 */
async function callSecretService(env: NodeJS.ProcessEnv, objectPath: string, method: string, args: string[]): Promise<string> {
  const { stdout } = await execFileAsync(
    'dbus-send',
    ['--session', '--print-reply', '--reply-timeout=5000', '--dest=org.freedesktop.secrets', objectPath, method, ...args],
    { env, timeout: 10_000 },
  );
  return stdout;
}

/** Reads the `Locked` property of the login collection; undefined while the service or collection is not there yet. */
async function readLocked(env: NodeJS.ProcessEnv): Promise<boolean | undefined> {
  try {
    const reply = await callSecretService(env, loginCollection, 'org.freedesktop.DBus.Properties.Get',
      ['string:org.freedesktop.Secret.Collection', 'string:Locked']);
    if (/boolean true/.test(reply)) return true;
    if (/boolean false/.test(reply)) return false;
    return undefined;
  } catch {
    return undefined;
  }
}

/** Polls until the login collection reports `locked`; throws after `timeoutMs`, or as soon as `daemon` exits, with `context()` appended. */
async function waitForLocked(env: NodeJS.ProcessEnv, locked: boolean, timeoutMs: number, context: () => string, daemon?: ChildProcess): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: boolean | undefined;
  while (Date.now() < deadline) {
    last = await readLocked(env);
    if (last === locked) return;
    if (daemon && hasExited(daemon)) {
      throw new Error(`gnome-keyring-daemon exited with ${String(daemon.exitCode ?? daemon.signalCode)}\n${context()}`);
    }
    await delay(50);
  }
  throw new Error(`login collection did not become ${locked ? 'locked' : 'unlocked'} within ${timeoutMs} ms (last state: ${String(last)})\n${context()}`);
}

/** Sends GKD_CONTROL_OP_UNLOCK over the control socket: one credentials byte, then big-endian [length][op][password length][password]. */
function unlockViaControlSocket(socketPath: string, password: string): Promise<void> {
  const secret = Buffer.from(password, 'utf8');
  const packet = Buffer.alloc(1 + 12 + secret.length);
  // The first byte is the credentials byte: the daemon reads our uid with SO_PEERCRED and checks it matches its own.
  packet.writeUInt8(0, 0);
  packet.writeUInt32BE(12 + secret.length, 1);
  packet.writeUInt32BE(controlOperationUnlock, 5);
  packet.writeUInt32BE(secret.length, 9);
  secret.copy(packet, 13);
  return new Promise((resolve, reject) => {
    const socket = createConnection(socketPath);
    let answer = Buffer.alloc(0);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error('gnome-keyring control socket did not answer within 5 s'));
    }, 5_000);
    const finish = (error?: Error): void => {
      clearTimeout(timer);
      socket.destroy();
      if (error) reject(error);
      else resolve();
    };
    socket.on('connect', () => socket.write(packet));
    socket.on('data', (chunk: Buffer) => {
      answer = Buffer.concat([answer, chunk]);
      if (answer.length < 8) return;
      const result = answer.readUInt32BE(4);
      if (result === 0) finish();
      else finish(new Error(`gnome-keyring refused to unlock: ${controlResults[result] ?? `result ${result}`}`));
    });
    socket.on('error', (error) => finish(error));
    socket.on('end', () => finish(new Error('gnome-keyring control socket closed without an answer')));
  });
}

/** Waits for dbus-daemon to print its address (first line of its log), or throws with the log if it exits or stalls. */
async function waitForBusAddress(bus: ChildProcess, logPath: string): Promise<string> {
  const deadline = Date.now() + startTimeoutMs;
  while (Date.now() < deadline) {
    const lines = readFileSync(logPath, 'utf8').split('\n');
    // A complete first line (followed by a newline) is the address; anything else is an error message.
    if (lines.length > 1 && lines[0]?.startsWith('unix:')) return lines[0];
    if (hasExited(bus)) break;
    await delay(20);
  }
  const outcome = hasExited(bus) ? `exited with ${String(bus.exitCode ?? bus.signalCode)}` : `gave no address within ${startTimeoutMs} ms`;
  throw new Error(`dbus-daemon ${outcome}:\n${tailOf(logPath)}`);
}

/** Starts a private D-Bus session bus and gnome-keyring with an unlocked `login` collection in a throwaway HOME. */
export async function startKeyring(): Promise<KeyringSession> {
  const home = mkdtempSync(join(tmpdir(), 'zavhoz-keyring-'));
  const children: ChildProcess[] = [];
  const unregister = onProcessExit(() => {
    for (const child of [...children].reverse()) killTreeSync(child);
    removeFolder(home);
  });

  try {
    const runtimeDir = join(home, 'run');
    const env: NodeJS.ProcessEnv = {
      PATH: process.env['PATH'] ?? '/usr/local/bin:/usr/bin:/bin',
      HOME: home,
      XDG_RUNTIME_DIR: runtimeDir,
      XDG_DATA_HOME: join(home, '.local', 'share'),
      XDG_CONFIG_HOME: join(home, '.config'),
      XDG_CACHE_HOME: join(home, '.cache'),
      // Deliberately no DISPLAY/WAYLAND_DISPLAY: an unlock prompt must fail at once, never wait for a window.
    };
    for (const folder of [runtimeDir, env['XDG_DATA_HOME'], env['XDG_CONFIG_HOME'], env['XDG_CACHE_HOME']]) {
      if (folder !== undefined) mkdirSync(folder, { recursive: true, mode: 0o700 });
    }

    // Our own bus config: the socket lives inside HOME (not /tmp), and there are no service folders, so the bus
    // never auto-starts anything. With the stock session.conf, a client that reaches the bus before our daemon
    // owns org.freedesktop.secrets makes dbus activate a second gnome-keyring (and later gcr-prompter), which
    // dbus reparents to PID 1 where we cannot track it.
    const busConfig = join(home, 'dbus-session.conf');
    writeFileSync(busConfig, busConfiguration(join(runtimeDir, 'bus')), { mode: 0o600 });
    const busLog = join(home, 'dbus-daemon.log');
    const bus = spawnLogged('dbus-daemon',
      ['--config-file', busConfig, '--nofork', '--nopidfile', '--nosyslog', '--print-address=1'],
      env, busLog, 'ignore');
    children.push(bus);
    bus.unref();
    env['DBUS_SESSION_BUS_ADDRESS'] = await waitForBusAddress(bus, busLog);

    // --foreground keeps it our child (see processes.ts); --unlock reads the password from stdin until EOF and
    // creates the login collection with it on first start.
    const keyringLog = join(home, 'gnome-keyring.log');
    const keyring = spawnLogged('gnome-keyring-daemon', ['--foreground', '--unlock', '--components=secrets'], env, keyringLog, 'pipe');
    children.push(keyring);
    keyring.unref();
    // Without a listener, an EPIPE (daemon died before reading) would crash the test process instead of
    // surfacing as the start-up error below.
    keyring.stdin?.on('error', () => undefined);
    keyring.stdin?.end(keyringPassword);
    const context = (): string => `gnome-keyring log:\n${tailOf(keyringLog)}\ndbus-daemon log:\n${tailOf(busLog)}`;
    await waitForLocked(env, false, startTimeoutMs, context, keyring);
    env['GNOME_KEYRING_CONTROL'] = join(runtimeDir, 'keyring');

    let stopped = false;
    return {
      home,
      env,
      async lock(): Promise<void> {
        // Secret Service Lock needs no prompt; `secret-tool lock` also locks but segfaults on libsecret 0.20.5.
        await callSecretService(env, '/org/freedesktop/secrets', 'org.freedesktop.Secret.Service.Lock',
          [`array:objpath:${loginCollection}`]);
        await waitForLocked(env, true, 5_000, context);
      },
      async unlock(): Promise<void> {
        await unlockViaControlSocket(join(runtimeDir, 'keyring', 'control'), keyringPassword);
        await waitForLocked(env, false, 5_000, context);
      },
      async stop(): Promise<void> {
        if (stopped) return;
        stopped = true;
        // Keyring first: it is a client of the bus.
        await terminateTree(keyring);
        await terminateTree(bus);
        removeFolder(home);
        unregister();
      },
    };
  } catch (error) {
    for (const child of [...children].reverse()) await terminateTree(child).catch(() => killTreeSync(child));
    removeFolder(home);
    unregister();
    throw error;
  }
}
