// The queue the fast tier's worker processes share (scripts/unit-worker.mjs): which files, in which order, and
// after the run, which of them ran to the end and what each cost.
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const WORKER = pathToFileURL(path.join(import.meta.dirname, 'unit-worker.mjs')).href;

/** What each file cost in the last runs (ms), kept beside the runs' folders: `{ "test/unit/x.test.ts": 1234 }`. */
function costsFile(root) {
  return path.join(root, 'node_modules', '.cache', 'zavhoz-unit', 'costs.json');
}

function readCosts(root) {
  try {
    return JSON.parse(fs.readFileSync(costsFile(root), 'utf8'));
  } catch {
    return {};
  }
}

/** A small seeded generator (mulberry32), so a shuffled order can be run again from its seed. */
function random(seed) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let value = Math.imul(state ^ (state >>> 15), state | 1);
    value ^= value + Math.imul(value ^ (value >>> 7), value | 61);
    return ((value ^ (value >>> 14)) >>> 0) / 2 ** 32;
  };
}

/**
 * The order the workers take the files in: the costliest first, by what they cost in the last run, and files with no
 * cost yet before them all, so the run does not end with one worker busy on a long file while the others idle. With a
 * seed, a shuffled order instead (to find a test that leans on another file having run before it in its process).
 */
export function queueOrder(root, names, seed) {
  if (seed !== undefined) {
    const next = random(seed);
    const shuffled = [...names];
    for (let index = shuffled.length - 1; index > 0; index--) {
      const other = Math.floor(next() * (index + 1));
      [shuffled[index], shuffled[other]] = [shuffled[other], shuffled[index]];
    }
    return shuffled;
  }
  const costs = readCosts(root);
  const cost = (name) => costs[name] ?? Infinity;
  return [...names].sort((a, b) => cost(b) - cost(a) || a.localeCompare(b));
}

/**
 * Writes a queue of `files` (`{ name, javaScript }`, in order) into `folder` and `workers` entry files that run it;
 * returns the entry files' paths, for `node --test`.
 */
export function writeQueue(folder, files, { workers, fileTimeoutMs }) {
  fs.mkdirSync(path.join(folder, 'claimed'), { recursive: true });
  fs.mkdirSync(path.join(folder, 'done'), { recursive: true });
  fs.writeFileSync(path.join(folder, 'queue.json'), JSON.stringify({ files, fileTimeoutMs }));
  return Array.from({ length: Math.min(workers, files.length) }, (_, index) => {
    const entry = path.join(folder, `worker-${index}.mjs`);
    fs.writeFileSync(entry, `import { runQueue } from ${JSON.stringify(WORKER)};\nawait runQueue(${JSON.stringify(folder)});\n`);
    return entry;
  });
}

/**
 * The queue's files that did not run to the end (their worker died, or never got to them); records what the others
 * cost for the next run's order.
 */
export function finishQueue(root, folder) {
  const { files } = JSON.parse(fs.readFileSync(path.join(folder, 'queue.json'), 'utf8'));
  const costs = readCosts(root);
  const missing = [];
  for (const [index, { name }] of files.entries()) {
    const done = path.join(folder, 'done', String(index));
    if (fs.existsSync(done)) costs[name] = Number(fs.readFileSync(done, 'utf8'));
    else missing.push(name);
  }
  const temporary = `${costsFile(root)}.${process.pid}`;
  fs.writeFileSync(temporary, JSON.stringify(costs, null, 1));
  fs.renameSync(temporary, costsFile(root));
  return missing;
}
