// One process of the fast tier: it takes unit test files off a queue shared with the tier's other processes, one at
// a time, and runs each as a suite of its own named by the file (scripts/test.mjs writes the queue).
//
// Why a shared process: a process of its own per file cost ~0.15 s of CPU before the first test and the file's
// imports again, ~40 s of the tier's ~100. Node 20 has no `--test-isolation=none`, so `node --test` runs these workers
// and each imports its files itself. What keeps the files apart here:
// - each file's tests, and the hooks at its top level (before/after/beforeEach/afterEach), belong to the file's suite
//   (`describe` runs the import in the suite's context), so its `after` runs when its own tests end and its
//   `beforeEach` never runs for another file's tests;
// - a file's suite has the per-file timeout, so a hung file fails by name and the worker goes on to the next;
// - the files run one after another, never two at once in a process.
// What it cannot do is undo what a file changes in the process (process.env, cwd, listeners, module state): the tests
// restore what they change, and a file that cannot is listed in scripts/test.mjs to run in a process of its own.
import fs from 'node:fs';
import path from 'node:path';
import { describe } from 'node:test';
import { pathToFileURL } from 'node:url';

/** Takes the queue's next file nobody has taken yet: the claim is a file created exclusively, so two workers never run the same test file. */
function claim(queueFolder, index) {
  try {
    fs.closeSync(fs.openSync(path.join(queueFolder, 'claimed', String(index)), 'wx'));
    return true;
  } catch (error) {
    if (error.code === 'EEXIST') return false;
    throw error;
  }
}

/**
 * After the last file, the process should end on its own. If something a test left open (a server, a child process,
 * a ref'd timer) keeps it alive, it is cut off after this long and says what was still open and which files ran here:
 * one process per file made such a leak a timeout of that file, here it would hold the whole worker.
 */
const DRAIN_MS = 30_000;

/** Runs test files off the queue in `queueFolder` until none is left. */
export async function runQueue(queueFolder) {
  const { files, fileTimeoutMs } = JSON.parse(fs.readFileSync(path.join(queueFolder, 'queue.json'), 'utf8'));
  const ran = [];
  for (const [index, { name, javaScript }] of files.entries()) {
    if (!claim(queueFolder, index)) continue;
    ran.push(name);
    const started = performance.now();
    await describe(name, { timeout: fileTimeoutMs }, async () => {
      await import(pathToFileURL(javaScript).href);
    });
    // What scripts/test.mjs checks every file against (a worker that died leaves its file without one), and the
    // file's cost, which orders the next run's queue.
    fs.writeFileSync(path.join(queueFolder, 'done', String(index)), String(Math.round(performance.now() - started)));
  }
  setTimeout(() => {
    console.error(`This test process did not end ${DRAIN_MS / 1000} s after its last file; still open: ${process.getActiveResourcesInfo().join(', ')}. Files it ran: ${ran.join(', ')}.`);
    process.exit(1);
  }, DRAIN_MS).unref();
}
