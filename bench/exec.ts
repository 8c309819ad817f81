/**
 * `zavhoz exec`: what it adds to starting a command, and how fast masked output flows. Start-up: `zavhoz exec --
 * true` against a bare `node -e 0` (goal ≤ 2×), and, for information, the same with a project's secrets fetched from a
 * daemon (file backend) against the same baseline. Throughput: 100 MB of output masked for five secrets
 * (`zavhoz exec --project P -- cat FILE`) against `cat FILE` (goal ≥ 0.5× of cat's throughput).
 *
 * Both contenders write into the same sink: a real pipe (64 KiB, as a shell's `|` gives) read by a few lines of
 * Python that read into one reused 1 MiB buffer and do nothing else ({@link SINK}): the reader costs both sides the
 * same ~17 ms of CPU per 100 MB (mostly the kernel's copy), so the ratio measures our relay. (A Node reader, as this bench had before, spent ~120 ms
 * of CPU per run taking 64 KiB chunks from a socket: it held cat back to ~1.2 GB/s, where cat alone writes ~3 GB/s,
 * and competed for the machine's two cores with the relay.) Throughput is the rate while output flows, from the
 * sink's first byte to its last: start-up has its own row above, and so does a process's exit, which for Node takes
 * longer than for cat and comes before the pipe's end of file (the whole run, both included, is shown too, for
 * information). Contenders take turns, so both see the same background load. A third contender, for information, is
 * the relay with nothing to mask (bench/exec-relay.ts): the part of the masked run's cost that is the extra process and
 * copies, not the masking.
 */
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import { SecretsSet } from '../daemon/protocol/secrets.js';
import { CLI_SCRIPT, startTestDaemon } from '../test/harness/daemon.js';
import { type BenchRow, type BenchSection, formatRatio, ratioRow } from './report.js';
import { interleaved, median } from './stats.js';

const OUTPUT_BYTES = 100 * 1024 * 1024;
const MASTER_KEY = 'zavhoz-bench-master-key-0123456789';
const PROJECT = 'bench-exec';

/** Runs a command (its output, if any, read through a pipe and dropped); resolves with the milliseconds it took. */
function timed(command: string, args: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(command, [...args], { env, stdio: ['ignore', 'pipe', 'inherit'] });
    child.stdout.resume();
    child.once('error', reject);
    child.once('close', (code) => {
      if (code !== 0) reject(new Error(`${command} ${args.join(' ')} exited with ${code}`));
      else resolve(Number(process.hrtime.bigint() - started) / 1e6);
    });
  });
}

/** How long a run took in all (start to exit), and from the first byte of its output to the last. */
interface OutputTiming {
  readonly total: number;
  readonly streaming: number;
}

/**
 * The sink both throughput contenders write into: runs the command given after it with its stdout into a pipe, reads
 * that pipe into one reused buffer, and prints as JSON how many bytes came, the nanoseconds from the first byte to the
 * last, and the whole run's (start to exit). Python, not this process: a reader here would compete with the relay
 * for the CPU and pay Node's per-chunk costs; this one costs little more than the kernel's copy, the same for both sides.
 */
const SINK = `
import json, os, sys, time
started = time.monotonic_ns()
r, w = os.pipe()
pid = os.fork()
if pid == 0:
    os.close(r); os.dup2(w, 1); os.close(w)
    os.execvp(sys.argv[1], sys.argv[1:])
os.close(w)
view = memoryview(bytearray(1 << 20))
total = n = os.readv(r, [view]); first = last = time.monotonic_ns()
while n:
    n = os.readv(r, [view])
    if n: total += n; last = time.monotonic_ns()
status = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
print(json.dumps({"bytes": total, "streaming": last - first, "total": time.monotonic_ns() - started, "status": status}))
`;

/** Debian's own Python when there is one (a pyenv shim on PATH adds its start-up and its locks); else PATH's. */
const PYTHON = fs.existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

/** Runs a command with its stdout into {@link SINK}'s pipe and times its output. */
function sunkOutput(command: string, args: readonly string[], env: NodeJS.ProcessEnv, expectBytes: number): Promise<OutputTiming> {
  return new Promise((resolve, reject) => {
    const child = spawn(PYTHON, ['-c', SINK, command, ...args], { env, stdio: ['ignore', 'pipe', 'inherit'] });
    let report = '';
    child.stdout.setEncoding('utf8').on('data', (text: string) => (report += text));
    child.once('error', reject);
    child.once('close', (code) => {
      let result: { bytes: number; streaming: number; total: number; status: number } | undefined;
      try {
        result = code === 0 ? (JSON.parse(report) as typeof result) : undefined;
      } catch {
        result = undefined;
      }
      if (result === undefined || result.status !== 0) reject(new Error(`${command} ${args.join(' ')} failed (sink exited with ${code}, ${report.trim()})`));
      else if (result.bytes < expectBytes) reject(new Error(`${command} ${args.join(' ')} printed ${result.bytes} bytes, expected about ${expectBytes}`));
      else resolve({ total: result.total / 1e6, streaming: result.streaming / 1e6 });
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

/**
 * Bundles bench/exec-relay.ts (the relay with nothing to mask) the way the CLI is bundled: run from source through
 * tsx, the same code relayed 100 MB several times slower, which would say nothing of the relay.
 */
async function buildRelay(outfile: string): Promise<void> {
  const entry = path.join(path.dirname(fileURLToPath(import.meta.url)), 'exec-relay.ts');
  await esbuild.build({ entryPoints: [entry], outfile, bundle: true, platform: 'node', format: 'cjs', target: 'node20', minify: true, logLevel: 'warning' });
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
    const relay = path.join(folder, 'exec-relay.cjs');
    await buildRelay(relay);
    const warmup = 1;
    const timings = { cat: [] as OutputTiming[], masked: [] as OutputTiming[], relay: [] as OutputTiming[] };
    const record = (list: OutputTiming[], timing: OutputTiming): number => {
      list.push(timing);
      return timing.streaming;
    };
    const [cat, masked, relayed] = await interleaved(
      [
        async () => record(timings.cat, await sunkOutput('cat', [file], env, bytes)),
        async () => record(timings.masked, await sunkOutput(node, [CLI_SCRIPT, 'exec', '--project', PROJECT, '--', 'cat', file], env, bytes * 0.9)),
        async () => record(timings.relay, await sunkOutput(node, [relay, file], env, bytes)),
      ],
      { count: 11, warmup, block: 1 },
    );
    // Each masked run right after its cat run saw about the same load: the spread of these pairs' ratios says how
    // steady the ratio is on this machine at this time.
    const pairs = cat!.map((catMs, index) => catMs / masked![index]!).sort((a, b) => a - b);
    const steady = pairs.filter((ratio) => ratio >= 0.5).length;
    const totals = (list: readonly OutputTiming[]): number => median(list.slice(warmup).map((timing) => timing.total));
    const throughput: BenchSection = {
      title: `zavhoz exec masked output (${Math.round(bytes / 1e6)} MB, 5 secrets, into a pipe read by the same cheap sink)`,
      rows: [
        throughputRow('zavhoz exec --project P -- cat FILE vs cat FILE, first byte to last (median)', median(masked!), median(cat!), bytes, true),
        throughputRow('the same, whole runs with start-up and exit (median)', totals(timings.masked), totals(timings.cat), bytes, false),
        throughputRow('the relay alone: the same channel and writer, nothing to mask (bench/exec-relay.ts) vs cat', median(relayed!), median(cat!), bytes, false),
        {
          name: 'cat / masked of each pair of runs taken in turn: lowest, median, highest',
          value: `${formatRatio(pairs[0]!)}, ${formatRatio(median(pairs))}, ${formatRatio(pairs.at(-1)!)}`,
          goal: 'informative',
          baseline: `${steady} of ${pairs.length} pairs ≥ 0.5×`,
        },
      ],
    };
    process.stderr.write(`exec: start-up ${formatRatio(median(exec!) / median(bare!))}, throughput ${formatRatio(median(cat!) / median(masked!))} of cat (whole runs ${formatRatio(totals(timings.cat) / totals(timings.masked))}; the relay alone ${formatRatio(median(cat!) / median(relayed!))})\n`);
    return [startup, throughput];
  } finally {
    await daemon.dispose();
    fs.rmSync(folder, { recursive: true, force: true });
  }
}
