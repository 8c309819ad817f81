import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { daemonArguments } from '../../daemon/client/spawn.js';
import { CALLER_TUNABLES_VARIABLE, restoreCallerTunables, withMallocTunables } from '../../daemon/core/mallocTunables.js';

const OURS = 'glibc.malloc.hugetlb=1:glibc.malloc.mmap_threshold=131072';

describe("the daemon's environment: glibc's malloc takes huge pages and maps large blocks of their own", () => {
  test('on Linux the tunables are added, after any the user set', () => {
    assert.equal(withMallocTunables({ PATH: '/bin' }, 'linux').GLIBC_TUNABLES, OURS);
    assert.equal(withMallocTunables({ GLIBC_TUNABLES: 'glibc.malloc.arena_max=2' }, 'linux').GLIBC_TUNABLES, `glibc.malloc.arena_max=2:${OURS}`);
    // A threshold the user set under glibc's older name is theirs too.
    assert.equal(withMallocTunables({ MALLOC_MMAP_THRESHOLD_: '65536' }, 'linux').GLIBC_TUNABLES, 'glibc.malloc.hugetlb=1');
  });

  test("the daemon puts the caller's own value back as it starts, so the commands it runs never see ours", () => {
    for (const caller of [{}, { GLIBC_TUNABLES: 'glibc.malloc.arena_max=2' }]) {
      const env: NodeJS.ProcessEnv = { PATH: '/bin', ...withMallocTunables({ PATH: '/bin', ...caller }, 'linux') };
      assert.notEqual(env.GLIBC_TUNABLES, caller.GLIBC_TUNABLES);
      assert.ok(CALLER_TUNABLES_VARIABLE in env);
      restoreCallerTunables(env);
      assert.ok(!(CALLER_TUNABLES_VARIABLE in env));
      assert.deepEqual(env, { PATH: '/bin', ...caller });
    }
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
