/**
 * `npm run bench [-- word …]`: runs the benchmark sections in sequence, prints one table per section and writes
 * the same as JSON to bench-results/latest.json. Words filter the sections by key or title (`npm run bench -- store`).
 * Sections of capabilities still being written (vault, inventory, deploy, github, services) are loaded only if their file
 * exists, so the bench runs at every stage of the work.
 */
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { type BenchFunction, type BenchSection, describeMachine, renderSection, writeReport } from './report.js';

const ROOT = path.resolve(import.meta.dirname, '..');

/** A section the runner knows about: `file` is under bench/, `load` returns its bench function. */
interface Entry {
  readonly key: string;
  readonly title: string;
  readonly file: string;
  readonly load: () => Promise<BenchFunction>;
}

/** Finds the `bench…` function a module exports (benchVault, benchDeploy, …), so names need no registry here. */
function benchFunctionOf(module: Record<string, unknown>, file: string): BenchFunction {
  const found = Object.entries(module).find(([name, value]) => /^bench[A-Z]/.test(name) && typeof value === 'function');
  if (!found) throw new Error(`bench/${file} exports no bench… function (expected e.g. export async function benchX(): Promise<BenchSection>)`);
  return found[1] as BenchFunction;
}

const ENTRIES: readonly Entry[] = [
  { key: 'rpc', title: 'JSON-RPC round trip', file: 'rpc.ts', load: async () => (await import('./rpc.js')).benchRpc },
  { key: 'store', title: 'durable write', file: 'store.ts', load: async () => (await import('./store.js')).benchStore },
  {
    key: 'profile',
    title: 'store durable write breakdown',
    file: 'store-profile.ts',
    load: async () => (await import('./store-profile.js')).benchStoreProfile,
  },
  { key: 'fold', title: 'durable writes across a journal fold', file: 'fold.ts', load: async () => (await import('./fold.js')).benchFold },
  { key: 'startup', title: 'daemon cold start', file: 'startup.ts', load: async () => (await import('./startup.js')).benchStartup },
  { key: 'exec', title: 'zavhoz exec', file: 'exec.ts', load: async () => (await import('./exec.js')).benchExec },
  { key: 'team-store', title: 'team store on PostgreSQL', file: 'team-store.ts', load: async () => (await import('./team-store.js')).benchTeamStore },
  ...['vault', 'inventory', 'deploy', 'github', 'services', 'proxy', 'servers-tree', 'servers-tree-e2e'].map(
    (key): Entry => ({
      key,
      title: key,
      file: `${key}.ts`,
      // A path built at run time: these files may not exist yet, so neither tsc nor the bundler may resolve them.
      load: async () => benchFunctionOf((await import(pathToFileURL(path.join(ROOT, 'bench', `${key}.ts`)).href)) as Record<string, unknown>, `${key}.ts`),
    }),
  ),
];

function selected(entry: Entry, filter: readonly string[]): boolean {
  if (filter.length === 0) return true;
  const haystack = `${entry.key} ${entry.title}`.toLowerCase();
  return filter.some((word) => haystack.includes(word.toLowerCase()));
}

async function main(): Promise<void> {
  const filter = process.argv.slice(2).filter((argument) => argument.trim() !== '');
  const startedAt = new Date().toISOString();
  const entries = ENTRIES.filter((entry) => selected(entry, filter) && fs.existsSync(path.join(ROOT, 'bench', entry.file)));
  if (entries.length === 0) {
    process.stderr.write(`No bench section matches ${filter.join(' ')}. Sections: ${ENTRIES.map((entry) => entry.key).join(', ')}.\n`);
    process.exit(2);
  }
  const sections: BenchSection[] = [];
  let failed = 0;
  for (const entry of entries) {
    process.stderr.write(`running ${entry.key}…\n`);
    const started = Date.now();
    let produced: BenchSection[];
    try {
      const result = await (await entry.load())();
      produced = Array.isArray(result) ? result : [result];
    } catch (error) {
      failed++;
      const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
      produced = [{ title: `${entry.title}: FAILED`, rows: [{ name: 'error', value: message.split('\n')[0] ?? message, ok: false }] }];
      process.stderr.write(`${entry.key} failed: ${message}\n`);
    }
    for (const section of produced) {
      sections.push(section);
      process.stdout.write(`\n${renderSection(section)}\n`);
    }
    process.stderr.write(`${entry.key} took ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  }
  const file = writeReport(path.join(ROOT, 'bench-results'), {
    startedAt,
    finishedAt: new Date().toISOString(),
    filter,
    machine: describeMachine(),
    sections,
  });
  const missed = sections.flatMap((section) => section.rows).filter((row) => row.ok === false).length;
  process.stdout.write(`\nwrote ${path.relative(ROOT, file)}; goals missed: ${missed}${failed > 0 ? `; sections failed: ${failed}` : ''}\n`);
  // Missed goals are findings, not failures; a section that could not run is.
  process.exit(failed > 0 ? 1 : 0);
}

await main();
