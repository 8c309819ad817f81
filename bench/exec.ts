/**
 * `zavhoz exec`: what it adds to starting a command, and how fast masked output flows. Start-up: `zavhoz exec --
 * true` against a bare `node -e 0` (goal ≤ 2×), and, for information, the same with a project's secrets fetched from a
 * daemon (file backend) against the same baseline. Throughput: 100 MB of output masked for five secrets
 * (`zavhoz exec --project P -- cat FILE`) against `cat FILE`, both read through a pipe by this process (goal ≥ 0.5×
 * of cat's throughput). Throughput is the rate while output flows, from its first byte to its last: start-up has its
 * own row above, and in a run of cat that takes a tenth of a second it would otherwise count several times over (the
 * whole run, start-up included, is shown too, for information). Contenders take turns, so both see the same
 * background load.
 */
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SecretsSet } from '../daemon/protocol/secrets.js';
import { CLI_SCRIPT, startTestDaemon } from '../test/harness/daemon.js';
import { type BenchRow, type BenchSection, formatRatio, ratioRow } from './report.js';
import { interleaved, median } from './stats.js';

const OUTPUT_BYTES = 100 * 1024 * 1024;
const MASTER_KEY = 'zavhoz-bench-master-key-0123456789';
const PROJECT = 'bench-exec';

/** Runs a command, reading its stdout through a pipe (counted, not kept); resolves with the milliseconds it took. */
async function timed(command: string, args: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  return (await timedOutput(command, args, env)).total;
}

/** How long a run took in all, and from the first byte of its output to its end. */
interface OutputTiming {
  readonly total: number;
  readonly streaming: number;
}

/** Runs a command, reading its stdout through a pipe (counted, not kept), and times it. */
function timedOutput(command: string, args: readonly string[], env: NodeJS.ProcessEnv, expectBytes?: number): Promise<OutputTiming> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    let firstByte: bigint | undefined;
    const child = spawn(command, [...args], { env, stdio: ['ignore', 'pipe', 'inherit'] });
    let bytes = 0;
    child.stdout.on('data', (chunk: Buffer) => {
      firstByte ??= process.hrtime.bigint();
      bytes += chunk.length;
    });
    child.once('error', reject);
    child.once('close', (code) => {
      const ended = process.hrtime.bigint();
      const milliseconds = (from: bigint): number => Number(ended - from) / 1e6;
      if (code !== 0) reject(new Error(`${command} ${args.join(' ')} exited with ${code}`));
      else if (expectBytes !== undefined && bytes < expectBytes * 0.99) reject(new Error(`${command} printed ${bytes} bytes, expected about ${expectBytes}`));
      else resolve({ total: milliseconds(started), streaming: milliseconds(firstByte ?? ended) });
    });
  });
}

/** A 100 MB text file of base64 lines (what logs and dumps look like to the masker), with a secret here and there. */
function writeOutputFile(file: string, secrets: readonly string[]): void {
  const fd = fs.openSync(file, 'w');
  try {
    let written = 0;
    let index = 0;
    while (written < OUTPUT_BYTES) {
      const block = Buffer.from(`${crypto.randomBytes(3 * 1024 * 1024).toString('base64').replace(/.{76}/g, '$&\n')}\nline with ${secrets[index++ % secrets.length]} in it\n`);
      fs.writeSync(fd, block);
      written += block.length;
    }
  } finally {
    fs.closeSync(fd);
  }
}

function throughputRow(name: string, oursMs: number, catMs: number, bytes: number, goal: boolean): BenchRow {
  const ratio = catMs / oursMs;
  const rate = (milliseconds: number): string => `${Math.round(bytes / 1e6 / (milliseconds / 1000))} MB/s`;
  return { name, value: rate(oursMs), baseline: `${rate(catMs)} (cat)`, ratio, goal: goal ? `throughput ≥ 0.5× cat` : 'informative', ...(goal ? { ok: ratio >= 0.5 } : {}) };
}

/** The `exec` bench section. */
export async function benchExec(): Promise<BenchSection[]> {
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'zavhoz-bench-exec-'));
  const daemon = await startTestDaemon({ env: { ZAVHOZ_VAULT: 'file', ZAVHOZ_MASTER_KEY: MASTER_KEY, DBUS_SESSION_BUS_ADDRESS: undefined } });
  try {
    const secrets = Array.from({ length: 5 }, () => crypto.randomBytes(18).toString('base64url'));
    const client = await daemon.connect('bench');
    try {
      for (const [index, value] of secrets.entries()) await client.request(SecretsSet, { name: `BENCH_SECRET_${index}`, type: 'token', value, project: PROJECT });
    } finally {
      client.close();
    }
    const node = process.execPath;
    const env = daemon.env;

    const [bare, exec, withSecrets] = await interleaved(
      [() => timed(node, ['-e', '0'], env), () => timed(node, [CLI_SCRIPT, 'exec', '--', 'true'], env), () => timed(node, [CLI_SCRIPT, 'exec', '--project', PROJECT, '--', 'true'], env)],
      { count: 30, warmup: 3, block: 5 },
    );
    const startup: BenchSection = {
      title: 'zavhoz exec start-up',
      rows: [
        ratioRow('zavhoz exec -- true vs node -e 0 (median)', median(exec!), median(bare!), 2),
        { ...ratioRow(`zavhoz exec --project P -- true (5 secrets from the daemon) vs node -e 0`, median(withSecrets!), median(bare!)), goal: 'informative' },
      ],
    };

    const file = path.join(folder, 'output.txt');
    writeOutputFile(file, secrets);
    const bytes = fs.statSync(file).size;
    const warmup = 1;
    const timings = { cat: [] as OutputTiming[], masked: [] as OutputTiming[] };
    const record = (list: OutputTiming[], timing: OutputTiming): number => {
      list.push(timing);
      return timing.streaming;
    };
    const [cat, masked] = await interleaved(
      [
        async () => record(timings.cat, await timedOutput('cat', [file], env, bytes)),
        async () => record(timings.masked, await timedOutput(node, [CLI_SCRIPT, 'exec', '--project', PROJECT, '--', 'cat', file], env, bytes * 0.9)),
      ],
      { count: 11, warmup, block: 1 },
    );
    // Each masked run right after its cat run saw about the same load: the spread of these pairs' ratios says how
    // steady the ratio is on this machine at this time.
    const pairs = cat!.map((catMs, index) => catMs / masked![index]!).sort((a, b) => a - b);
    const steady = pairs.filter((ratio) => ratio >= 0.5).length;
    const totals = (list: readonly OutputTiming[]): number => median(list.slice(warmup).map((timing) => timing.total));
    const throughput: BenchSection = {
      title: `zavhoz exec masked output (${Math.round(bytes / 1e6)} MB, 5 secrets, read through a pipe)`,
      rows: [
        throughputRow('zavhoz exec --project P -- cat FILE vs cat FILE, first byte to last (median)', median(masked!), median(cat!), bytes, true),
        throughputRow('the same, whole runs with start-up (median)', totals(timings.masked), totals(timings.cat), bytes, false),
        {
          name: 'cat / masked of each pair of runs taken in turn: lowest, median, highest',
          value: `${formatRatio(pairs[0]!)}, ${formatRatio(median(pairs))}, ${formatRatio(pairs.at(-1)!)}`,
          goal: 'informative',
          baseline: `${steady} of ${pairs.length} pairs ≥ 0.5×`,
        },
      ],
    };
    process.stderr.write(`exec: start-up ${formatRatio(median(exec!) / median(bare!))}, throughput ${formatRatio(median(cat!) / median(masked!))} of cat (whole runs ${formatRatio(totals(timings.cat) / totals(timings.masked))})\n`);
    return [startup, throughput];
  } finally {
    await daemon.dispose();
    fs.rmSync(folder, { recursive: true, force: true });
  }
}
