/**
 * Shared pieces of the vault integration suites: a daemon on either backend (a private real keychain, or the
 * encrypted file), and ways to look at the backend from outside the daemon (account names only, never values).
 */
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { ResponseError } from 'vscode-jsonrpc';
import { ROOT, type TestDaemon, startTestDaemon } from '../harness/daemon.js';
import { type KeyringSession, startKeyring } from '../harness/keyring.js';
import { waitUntil } from '../harness/processes.js';

const execFileAsync = promisify(execFile);

/** The two vault backends every suite runs against. */
export const BACKENDS = ['keychain', 'file'] as const;
/** One of {@link BACKENDS}. */
export type BackendName = (typeof BACKENDS)[number];

/** Master key of the file-backend test daemons (throwaway). */
export const TEST_MASTER_KEY = 'zavhoz-test-master-key-0123456789';

/** A daemon on one backend, plus the keychain session behind it if any. */
export interface VaultDaemon {
  readonly backend: BackendName;
  daemon: TestDaemon;
  readonly keyring: KeyringSession | undefined;
  /** The environment a daemon of this backend runs with (add a test fault with `extra`). */
  environment(extra?: NodeJS.ProcessEnv): NodeJS.ProcessEnv;
  /** Stops the daemon and starts a new one on the same folder, with `extra` environment. */
  restart(extra?: NodeJS.ProcessEnv): Promise<void>;
  /** Account names the backend holds for this daemon (keychain: service `zavhoz`; file: vault.enc entries). */
  accounts(): Promise<string[]>;
  dispose(): Promise<void>;
}

/** Starts a daemon on `backend`: a private gnome-keyring for `keychain`, ZAVHOZ_VAULT=file for `file`. */
export async function startVaultDaemon(backend: BackendName, extra: NodeJS.ProcessEnv = {}): Promise<VaultDaemon> {
  const keyring = backend === 'keychain' ? await startKeyring() : undefined;
  const environment = (more: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({
    ...(keyring ? keyring.env : { ZAVHOZ_VAULT: 'file', ZAVHOZ_MASTER_KEY: TEST_MASTER_KEY, DBUS_SESSION_BUS_ADDRESS: undefined }),
    ZAVHOZ_TEST_FAULT: undefined,
    ...more,
  });
  let daemon: TestDaemon;
  try {
    daemon = await startTestDaemon({ env: environment(extra) });
  } catch (error) {
    await keyring?.stop();
    throw error;
  }
  const handle: VaultDaemon = {
    backend,
    daemon,
    keyring,
    environment,
    async restart(more = {}) {
      await handle.daemon.stop();
      handle.daemon = await startTestDaemon({ home: handle.daemon.home, env: environment(more) });
    },
    async accounts() {
      if (!keyring) {
        const file = path.join(handle.daemon.home, 'vault.enc');
        if (!fs.existsSync(file)) return [];
        return Object.keys((JSON.parse(fs.readFileSync(file, 'utf8')) as { entries: object }).entries).sort();
      }
      return keychainAccounts(keyring.env);
    },
    async dispose() {
      await handle.daemon.dispose();
      await keyring?.stop();
    },
  };
  return handle;
}

/** The accounts of every `zavhoz` keychain entry, read by a separate process (only names are printed). */
export async function keychainAccounts(env: NodeJS.ProcessEnv): Promise<string[]> {
  const script = "const k=require('@napi-rs/keyring');k.findCredentialsAsync('zavhoz').then(c=>process.stdout.write(JSON.stringify(c.map(x=>x.account).sort())))";
  const { stdout } = await execFileAsync(process.execPath, ['-e', script], { cwd: ROOT, env, timeout: 20_000 });
  return JSON.parse(stdout) as string[];
}

/** Waits until a process id is gone (after the daemon killed itself at a test fault point). */
export async function waitForExit(pid: number): Promise<void> {
  for (let waited = 0; waited < 20_000; waited += 25) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`process ${pid} did not exit`);
}

/** A random marker that cannot occur by chance; also a valid project name, so it can be echoed on purpose. */
export function canary(label: string): string {
  return `Canary${label}${crypto.randomBytes(12).toString('hex')}`;
}

/** Runs a request expected to fail and returns the daemon's error. */
export async function responseError(work: () => Promise<unknown>): Promise<ResponseError<unknown>> {
  try {
    await work();
  } catch (error) {
    if (error instanceof ResponseError) return error;
    throw error;
  }
  throw new Error('expected the daemon to refuse the request');
}

/** The lines of the daemon's log file (and rotated ones), parsed. */
export function logRecords(home: string): Record<string, unknown>[] {
  return fs
    .readdirSync(home)
    .filter((name) => name.startsWith('daemon.log'))
    .flatMap((name) => fs.readFileSync(path.join(home, name), 'utf8').split('\n'))
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/**
 * Waits until the daemon log in `home` holds a record that `matches`, and returns it. The vault finishes interrupted
 * writes in the background after a start, and metadata-only calls (`secret list`) do not wait for that, so a test
 * that looks at the backend afterwards waits for the log line that says the work is done.
 */
export async function waitForLogRecord(
  home: string,
  what: string,
  matches: (record: Record<string, unknown>) => boolean,
  timeoutMs = 30_000,
): Promise<Record<string, unknown>> {
  return waitUntil(`the daemon to log ${what}`, () => logRecords(home).find(matches), timeoutMs);
}
