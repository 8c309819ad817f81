import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { daemonArguments, withHugePages } from '../../daemon/client/spawn.js';

describe("the daemon's environment: glibc's malloc asks for transparent huge pages", () => {
  test('on Linux the tunable is added, beside any the user set', () => {
    assert.equal(withHugePages({ PATH: '/bin' }, 'linux').GLIBC_TUNABLES, 'glibc.malloc.hugetlb=1');
    assert.equal(withHugePages({ GLIBC_TUNABLES: 'glibc.malloc.arena_max=2' }, 'linux').GLIBC_TUNABLES, 'glibc.malloc.arena_max=2:glibc.malloc.hugetlb=1');
  });

  test("a user's own hugetlb setting is kept, and other systems get the environment unchanged", () => {
    assert.equal(withHugePages({ GLIBC_TUNABLES: 'glibc.malloc.hugetlb=0' }, 'linux').GLIBC_TUNABLES, 'glibc.malloc.hugetlb=0');
    const env = { PATH: '/bin' };
    assert.equal(withHugePages(env, 'darwin'), env);
    assert.equal(withHugePages(env, 'win32'), env);
  });
});

describe("the daemon's runtime arguments", () => {
  test("V8's young generation is capped before the script, which comes last (the folder lock finds the daemon by it)", () => {
    const args = daemonArguments('/opt/zavhoz/dist/daemon.cjs');
    assert.equal(args.at(-1), '/opt/zavhoz/dist/daemon.cjs');
    assert.ok(args.includes('--max-semi-space-size=4'), args.join(' '));
  });
});
