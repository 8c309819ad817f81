/**
 * What a start of the built daemon (`dist/daemon.cjs`, through `spawnDaemon` as every client starts it) gets and
 * loads: its command line and environment as the system sees them, and the files of `dist/` it reads before its
 * first answer, recorded by a probe preloaded into it (test/harness/fileProbe.cjs). The vendor bundles
 * (`dist/vendor/*.cjs`, scripts/build.mjs VENDOR_BUNDLES) are for features a start does not use: reading one would
 * put its bytes back on every start's path.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { daemonArguments } from '../../daemon/client/spawn.js';
import { CALLER_TUNABLES_VARIABLE, withMallocTunables } from '../../daemon/core/mallocTunables.js';
import { DaemonStatus } from '../../daemon/protocol/lifecycle.js';
import { DAEMON_SCRIPT, ROOT, type TestDaemon, startTestDaemon } from '../harness/daemon.js';

const DIST = path.join(ROOT, 'dist');
const PROBE = path.join(ROOT, 'test', 'harness', 'fileProbe.cjs');

describe('a start of the built daemon on an empty folder', () => {
  let work: string;
  let record: string;
  let daemon: TestDaemon;
  /** The files of `dist/` the daemon had read when it gave its first answer. */
  let readByFirstAnswer: string[];

  before(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'zavhoz-start-'));
    record = path.join(work, 'read');
    daemon = await startTestDaemon({
      env: {
        NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --require ${JSON.stringify(PROBE)}`.trim(),
        ZAVHOZ_PROBE_ROOT: DIST,
        ZAVHOZ_PROBE_RECORD: record,
      },
    });
    const client = await daemon.connect();
    try {
      assert.equal((await client.request(DaemonStatus, {})).pid, daemon.pid());
    } finally {
      client.close();
    }
    readByFirstAnswer = fs.readFileSync(record, 'utf8').trim().split('\n');
  });

  after(async () => {
    await daemon.dispose();
    fs.rmSync(work, { recursive: true, force: true });
  });

  test('reads no vendor bundle before its first answer', () => {
    // The probe saw the start: the daemon's own bundle is read by every start.
    assert.ok(readByFirstAnswer.includes(path.join(DIST, 'daemon-app.cjs')), readByFirstAnswer.join('\n'));
    const vendor = path.join(DIST, 'vendor') + path.sep;
    assert.deepEqual(readByFirstAnswer.filter((file) => file.startsWith(vendor)), []);
  });

  test('runs with the V8 options before the script and the malloc tunables in its environment', { skip: process.platform !== 'linux' && '/proc is Linux' }, () => {
    const pid = daemon.pid();
    const commandLine = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').slice(1, -1);
    assert.deepEqual(commandLine, daemonArguments(DAEMON_SCRIPT));
    // The environment it was started with (the daemon takes the tunables back out of process.env for its children).
    const environment = fs.readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
    const expected = withMallocTunables(daemon.env);
    assert.match(expected.GLIBC_TUNABLES ?? '', /glibc\.malloc\.hugetlb=1/);
    assert.ok(environment.includes(`ZAVHOZ_HOME=${daemon.home}`));
    assert.ok(environment.includes(`${CALLER_TUNABLES_VARIABLE}=${expected[CALLER_TUNABLES_VARIABLE] ?? ''}`), environment.join('\n'));
    // glibc (2.36 here) cuts the variable after the first tunable in the memory /proc shows, once it has parsed it:
    // what /proc shows is the start of what was passed.
    const shown = environment.find((entry) => entry.startsWith('GLIBC_TUNABLES='))?.slice('GLIBC_TUNABLES='.length) ?? '';
    assert.ok(shown !== '' && expected.GLIBC_TUNABLES?.startsWith(shown), `${shown} is not the start of ${expected.GLIBC_TUNABLES}`);
  });
});
