import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { daemonArguments, withMallocTunables } from '../../daemon/client/spawn.js';

const OURS = 'glibc.malloc.hugetlb=1:glibc.malloc.mmap_threshold=131072';

describe("the daemon's environment: glibc's malloc takes huge pages and maps large blocks of their own", () => {
  test('on Linux the tunables are added, after any the user set', () => {
    assert.equal(withMallocTunables({ PATH: '/bin' }, 'linux').GLIBC_TUNABLES, OURS);
    assert.equal(withMallocTunables({ GLIBC_TUNABLES: 'glibc.malloc.arena_max=2' }, 'linux').GLIBC_TUNABLES, `glibc.malloc.arena_max=2:${OURS}`);
  });

  test("a user's own setting of one of them is kept, and other systems get the environment unchanged", () => {
    assert.equal(withMallocTunables({ GLIBC_TUNABLES: 'glibc.malloc.hugetlb=0' }, 'linux').GLIBC_TUNABLES, 'glibc.malloc.hugetlb=0:glibc.malloc.mmap_threshold=131072');
    const both = { GLIBC_TUNABLES: 'glibc.malloc.mmap_threshold=65536:glibc.malloc.hugetlb=0' };
    assert.equal(withMallocTunables(both, 'linux'), both);
    const env = { PATH: '/bin' };
    assert.equal(withMallocTunables(env, 'darwin'), env);
    assert.equal(withMallocTunables(env, 'win32'), env);
  });
});

describe("the daemon's runtime arguments", () => {
  test("V8's young generation is capped before the script, which comes last (the folder lock finds the daemon by it)", () => {
    const args = daemonArguments('/opt/zavhoz/dist/daemon.cjs');
    assert.equal(args.at(-1), '/opt/zavhoz/dist/daemon.cjs');
    assert.ok(args.includes('--max-semi-space-size=4'), args.join(' '));
  });
});
