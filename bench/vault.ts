/**
 * Vault throughput through a real daemon, on both backends: `secrets/set` and `secrets/reveal` (the get that
 * returns a value, audit row included), one request in flight, and the daemon's start-up cost of reading and
 * masking every stored value. Baselines: the backend alone, without the daemon (raw `@napi-rs/keyring` set+get
 * in a child process on the same private keychain; the encrypted-file backend in this process).
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { DaemonClient } from '../daemon/client/client.js';
import { SecretsReveal, SecretsSet } from '../daemon/protocol/secrets.js';
import { FileBackend } from '../daemon/vault/fileBackend.js';
import { ROOT, type TestDaemon, startTestDaemon } from '../test/harness/daemon.js';
import { type KeyringSession, startKeyring } from '../test/harness/keyring.js';
import { type BenchRow, type BenchSection, formatMs } from './report.js';
import { summarize, timeAsync } from './stats.js';

const execFileAsync = promisify(execFile);

/** Secrets written (and read back) per backend; also the number masked at the timed restarts. */
const SECRETS = 300;
const RESTARTS = 3;
const MASTER_KEY = 'zavhoz-bench-master-key-0123456789';

function opsPerSecond(samples: readonly number[]): string {
  const total = samples.reduce((sum, sample) => sum + sample, 0);
  return `${Math.round((samples.length * 1000) / total)} ops/s`;
}

function valueOf(index: number): string {
  return `bench-secret-value-${index.toString().padStart(6, '0')}-${'x'.repeat(24)}`;
}

/** The `ms` of the last "vault ready" line in the daemon log: reading and masking every stored value at start. */
async function readyMs(home: string): Promise<number> {
  for (let waited = 0; waited < 30_000; waited += 50) {
    const lines = fs.readFileSync(path.join(home, 'daemon.log'), 'utf8').split('\n').filter((line) => line.includes('"vault ready"'));
    const last = lines.at(-1);
    if (last && lines.length > 0) return (JSON.parse(last) as { ms: number }).ms;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('the daemon never logged "vault ready"');
}

/** Raw keychain set+get per secret without the daemon, in a child process that uses the private keychain. */
async function rawKeychainMs(env: NodeJS.ProcessEnv): Promise<number[]> {
  const script = `
    const { AsyncEntry } = require('@napi-rs/keyring');
    require('v8').setFlagsFromString('--expose-gc');
    const gc = require('vm').runInNewContext('gc');
    (async () => {
      const times = [];
      for (let index = 0; index < ${SECRETS}; index++) {
        const started = performance.now();
        const entry = new AsyncEntry('zavhoz-bench', 'raw-' + index, { linux: { store: 'secret-service' } });
        await entry.setPassword('raw-bench-value-' + index);
        await entry.getPassword();
        times.push(performance.now() - started);
        // Each entry holds a D-Bus connection until collected (see daemon/vault/keychainBackend.ts).
        if (index % 32 === 31) gc();
      }
      process.stdout.write(JSON.stringify(times));
    })();`;
  const { stdout } = await execFileAsync(process.execPath, ['-e', script], { cwd: ROOT, env, timeout: 300_000 });
  return JSON.parse(stdout) as number[];
}

/** Raw file-backend set+get per secret, in this process. */
async function rawFileMs(): Promise<number[]> {
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'zavhoz-bench-file-'));
  try {
    const backend = await FileBackend.open(path.join(folder, 'vault.enc'), MASTER_KEY);
    const times: number[] = [];
    for (let index = 0; index < SECRETS; index++) {
      times.push(await timeAsync(async () => {
        await backend.write(`sec_raw${index}`, valueOf(index));
        await backend.read(`sec_raw${index}`);
      }));
    }
    return times;
  } finally {
    fs.rmSync(folder, { recursive: true, force: true });
  }
}

async function measure(label: 'keychain' | 'file', daemon: TestDaemon, baseline: () => Promise<number[]>): Promise<BenchRow[]> {
  const client: DaemonClient = await daemon.connect('bench');
  const handles: string[] = [];
  const sets: number[] = [];
  const gets: number[] = [];
  try {
    for (let index = 0; index < SECRETS; index++) {
      sets.push(await timeAsync(async () => {
        const secret = await client.request(SecretsSet, { name: `BENCH_${index}`, type: 'token', value: valueOf(index) });
        handles.push(secret.handle);
      }));
    }
    for (const handle of handles) gets.push(await timeAsync(() => client.request(SecretsReveal, { handle, confirm: true })));
  } finally {
    client.close();
  }
  const pairs = sets.map((set, index) => set + (gets[index] ?? 0));
  const raw = await baseline();
  const restarts: number[] = [];
  for (let run = 0; run < RESTARTS; run++) {
    await daemon.stop();
    fs.rmSync(path.join(daemon.home, 'daemon.log'), { force: true });
    await daemon.start();
    restarts.push(await readyMs(daemon.home));
  }
  const setStats = summarize(sets);
  const getStats = summarize(gets);
  const pairStats = summarize(pairs);
  const rawStats = summarize(raw);
  return [
    { name: `${label}: secrets/set`, value: `${opsPerSecond(sets)} (p50 ${formatMs(setStats.p50)}, p99 ${formatMs(setStats.p99)})` },
    { name: `${label}: secrets/reveal (get)`, value: `${opsPerSecond(gets)} (p50 ${formatMs(getStats.p50)}, p99 ${formatMs(getStats.p99)})` },
    {
      name: `${label}: set+get pair through the daemon`,
      value: `${opsPerSecond(pairs)} (p50 ${formatMs(pairStats.p50)})`,
      baseline: `${opsPerSecond(raw)} (p50 ${formatMs(rawStats.p50)}) backend alone`,
      ratio: pairStats.p50 / rawStats.p50,
    },
    {
      name: `${label}: start-up read + mask of ${SECRETS} secrets`,
      value: `${formatMs(summarize(restarts).p50)} (median of ${RESTARTS})`,
    },
  ];
}

/** Runs the vault benchmark on both backends; see the module comment. */
export async function benchVault(): Promise<BenchSection> {
  const rows: BenchRow[] = [];
  let keyring: KeyringSession | undefined;
  let keychainDaemon: TestDaemon | undefined;
  try {
    keyring = await startKeyring();
    const env = keyring.env;
    keychainDaemon = await startTestDaemon({ env });
    rows.push(...(await measure('keychain', keychainDaemon, () => rawKeychainMs(env))));
  } finally {
    await keychainDaemon?.dispose();
    await keyring?.stop();
  }
  const fileDaemon = await startTestDaemon({ env: { ZAVHOZ_VAULT: 'file', ZAVHOZ_MASTER_KEY: MASTER_KEY, DBUS_SESSION_BUS_ADDRESS: undefined } });
  try {
    rows.push(...(await measure('file', fileDaemon, rawFileMs)));
  } finally {
    await fileDaemon.dispose();
  }
  return { title: `Vault through the daemon (${SECRETS} secrets, sequential, one request in flight)`, rows };
}
