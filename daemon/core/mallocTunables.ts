/**
 * glibc's malloc settings for the daemon's process (Linux; glibc >= 2.35 reads them, other C libraries ignore the
 * variable), set by whoever spawns it (client/spawn.ts) and taken back out of its environment as it starts (boot.ts),
 * so that the commands it runs for the user get the environment the user had:
 * - `hugetlb=1`: ask the kernel for transparent huge pages, which most distributions hand out only on request
 *   (`madvise`). A start reads the store's whole snapshot into memory and checks it (16 MB at 100k rows): with 4 KiB
 *   pages, the first touch of each page of those fresh buffers cost more than reading and checking them did, 40 ms of
 *   a 290 ms start on our CI machines; with 2 MiB pages, 512 times fewer faults (`npm run bench -- startup`).
 * - `mmap_threshold=131072`: blocks of 128 KiB and more always get their own mapping, returned when freed. By default
 *   the threshold rises after a large block is freed, and the start's large buffers (the snapshot, the rows of
 *   10,000 servers) then came from the main heap, which never shrank: 97 MiB resident against 86 MiB
 *   (`npm run bench -- inventory`).
 * V8's own heap and WebAssembly memory do not come from malloc. A setting the user made already is kept as it is.
 */
const MALLOC_TUNABLES: Readonly<Record<string, string>> = {
  'glibc.malloc.hugetlb': '1',
  'glibc.malloc.mmap_threshold': '131072',
};

/** glibc's older names of the tunables above, which a user may have set instead. */
const LEGACY_VARIABLES: Readonly<Record<string, string>> = {
  'glibc.malloc.mmap_threshold': 'MALLOC_MMAP_THRESHOLD_',
};

/** Where the daemon finds the caller's own `GLIBC_TUNABLES` (empty: it had none), to put back. */
export const CALLER_TUNABLES_VARIABLE = 'ZAVHOZ_CALLER_GLIBC_TUNABLES';
// restoreCallerTunables reads and deletes it by this name too (a computed key cannot be deleted here).

/** The daemon's environment with {@link MALLOC_TUNABLES} added to `GLIBC_TUNABLES`, on Linux. */
export function withMallocTunables(env: NodeJS.ProcessEnv, platform: NodeJS.Platform = process.platform): NodeJS.ProcessEnv {
  if (platform !== 'linux') return env;
  const set = (env.GLIBC_TUNABLES ?? '').split(':').filter((tunable) => tunable !== '');
  const named = new Set(set.map((tunable) => tunable.split('=')[0]));
  const added = Object.entries(MALLOC_TUNABLES)
    .filter(([name]) => !named.has(name) && env[LEGACY_VARIABLES[name] ?? ''] === undefined)
    .map(([name, value]) => `${name}=${value}`);
  if (added.length === 0) return env;
  return { ...env, GLIBC_TUNABLES: [...set, ...added].join(':'), [CALLER_TUNABLES_VARIABLE]: env.GLIBC_TUNABLES ?? '' };
}

/**
 * Puts the caller's `GLIBC_TUNABLES` back into this process's environment (glibc read ours when the process started;
 * the commands the daemon runs, e.g. for an agent, inherit what is there now).
 */
export function restoreCallerTunables(env: NodeJS.ProcessEnv = process.env): void {
  const caller = env.ZAVHOZ_CALLER_GLIBC_TUNABLES;
  if (caller === undefined) return;
  if (caller === '') delete env.GLIBC_TUNABLES;
  else env.GLIBC_TUNABLES = caller;
  delete env.ZAVHOZ_CALLER_GLIBC_TUNABLES;
}
