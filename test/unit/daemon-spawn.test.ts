/**
 * What `spawnDaemon` starts: its real code path, with a stand-in daemon script that records the command line and
 * environment it got and then says it is ready (test/integration/daemon-start.test.ts looks at the real daemon's).
 * A runtime that refuses the daemon's V8 options is a shell script here: no runtime we can install refuses them.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DaemonStartError, daemonArguments, spawnDaemon } from '../../daemon/client/spawn.js';
import { withMallocTunables } from '../../daemon/core/mallocTunables.js';
import { EXIT_FAILED, READY_LINE } from '../../daemon/core/startup.js';

/** What the stand-in daemon recorded of one start. */
interface Start {
  readonly execArgv: string[];
  readonly script: string;
  readonly env: Record<string, string | undefined>;
}

/** Node's exit code for an option it refuses (`node --no-such-flag` exits 9). */
const EXIT_INVALID_OPTION = 9;

let work: string;
/** Records each start as a JSON line in `<ZAVHOZ_HOME>/starts`, then says it is ready (or fails, if told to). */
let standIn: string;

before(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'zavhoz-spawn-'));
  standIn = path.join(work, 'daemon.cjs');
  fs.writeFileSync(
    standIn,
    `const fs = require('node:fs');
const env = Object.fromEntries(['ZAVHOZ_HOME', 'GLIBC_TUNABLES', 'ZAVHOZ_CALLER_GLIBC_TUNABLES', 'ZAVHOZ_SPAWN_MARK'].map((name) => [name, process.env[name]]));
fs.appendFileSync(process.env.ZAVHOZ_HOME + '/starts', JSON.stringify({ execArgv: process.execArgv, script: process.argv[1], env }) + '\\n');
if (process.env.ZAVHOZ_SPAWN_FAIL) {
  process.stderr.write('the stand-in cannot start\\n');
  process.exit(Number(process.env.ZAVHOZ_SPAWN_FAIL));
}
process.stdout.write(${JSON.stringify(READY_LINE)} + '\\n');
`,
  );
});

after(() => fs.rmSync(work, { recursive: true, force: true }));

/** A fresh data folder for one test. */
function dataFolder(): string {
  return fs.mkdtempSync(path.join(work, 'home-'));
}

/** The starts the stand-in recorded in `folder`. */
function startsIn(folder: string): Start[] {
  const file = path.join(folder, 'starts');
  if (!fs.existsSync(file)) return [];
  return fs.readFileSync(file, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as Start);
}

/**
 * An executable stand-in for a runtime: refuses (exit 9, as Node does) every command line that holds an option
 * matching `refused`, and runs the others with this Node. Each refusal is counted in `<folder>/refused`.
 */
function runtime(folder: string, refused: string): string {
  const file = path.join(folder, 'runtime.sh');
  fs.writeFileSync(
    file,
    `#!/bin/sh
for argument in "$@"; do
  case "$argument" in
    ${refused})
      echo "runtime: bad option: $argument" >&2
      echo "$argument" >> '${folder}/refused'
      exit ${EXIT_INVALID_OPTION}
      ;;
  esac
done
exec '${process.execPath}' "$@"
`,
    { mode: 0o700 },
  );
  return file;
}

/** The options a runtime refused, one per refused start. */
function refusalsIn(folder: string): string[] {
  const file = path.join(folder, 'refused');
  return fs.existsSync(file) ? fs.readFileSync(file, 'utf8').trim().split('\n') : [];
}

describe('spawnDaemon', () => {
  test('starts the script with the V8 options before it, and the folder, the extra environment and the malloc tunables', async () => {
    const folder = dataFolder();
    const extra = { ZAVHOZ_SPAWN_MARK: 'from-the-caller' };
    assert.equal(await spawnDaemon({ folder, daemonScript: standIn, env: extra }), 'started');
    const [start, ...more] = startsIn(folder);
    assert.deepEqual(more, []);
    assert.deepEqual(start?.execArgv, daemonArguments(standIn).slice(0, -1));
    assert.ok(start.execArgv.includes('--max-semi-space-size=4'), start.execArgv.join(' '));
    assert.equal(start.script, standIn);
    assert.equal(start.env.ZAVHOZ_HOME, folder);
    assert.equal(start.env.ZAVHOZ_SPAWN_MARK, 'from-the-caller');
    const expected = withMallocTunables({ ...process.env, ...extra, ZAVHOZ_HOME: folder });
    assert.equal(start.env.GLIBC_TUNABLES, expected.GLIBC_TUNABLES);
    assert.equal(start.env.ZAVHOZ_CALLER_GLIBC_TUNABLES, expected.ZAVHOZ_CALLER_GLIBC_TUNABLES);
    if (process.platform === 'linux') assert.match(start.env.GLIBC_TUNABLES ?? '', /glibc\.malloc\.hugetlb=1/);
  });

  test('a runtime that refuses the V8 options gets a second start without them', async () => {
    const folder = dataFolder();
    const refusing = runtime(folder, '--max-semi-space-size=*');
    assert.equal(await spawnDaemon({ folder, daemonScript: standIn, execPath: refusing }), 'started');
    assert.deepEqual(refusalsIn(folder), ['--max-semi-space-size=4']);
    const [start, ...more] = startsIn(folder);
    assert.deepEqual(more, []);
    assert.deepEqual(start?.execArgv, []);
    assert.equal(start.script, standIn);
    assert.equal(start.env.ZAVHOZ_HOME, folder);
  });

  test('a runtime that refuses the script itself fails the start after that one retry', async () => {
    const folder = dataFolder();
    const refusing = runtime(folder, '*');
    await assert.rejects(spawnDaemon({ folder, daemonScript: standIn, execPath: refusing }), (error: unknown) => {
      assert.ok(error instanceof DaemonStartError);
      assert.equal(error.exitCode, EXIT_INVALID_OPTION);
      return true;
    });
    assert.deepEqual(refusalsIn(folder), ['--max-semi-space-size=4', standIn]);
    assert.deepEqual(startsIn(folder), []);
  });

  test('a daemon that fails for its own reasons is not started again', async () => {
    const folder = dataFolder();
    await assert.rejects(spawnDaemon({ folder, daemonScript: standIn, env: { ZAVHOZ_SPAWN_FAIL: String(EXIT_FAILED) } }), (error: unknown) => {
      assert.ok(error instanceof DaemonStartError);
      assert.equal(error.exitCode, EXIT_FAILED);
      return true;
    });
    assert.equal(startsIn(folder).length, 1);
  });
});
