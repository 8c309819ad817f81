/**
 * One full garbage collection once the start's one-off work is over. A start reads the store, seeds the notification
 * records and checks the servers: with 10,000 servers that leaves megabytes of short-lived objects that outlived V8's
 * young generation. V8 collects its old generation only when it grows past a limit, or when its memory reducer runs
 * (8–30 s after a full collection prompted it, and never when the start caused none), so an idle daemon kept them:
 * 93 MiB resident against 80 MiB after one compacting collection (`npm run bench -- inventory`).
 *
 * The collection needs V8's `--expose-gc`, which the daemon is started with (client/spawn.ts); without it (running from
 * source) nothing happens. It waits a moment after the work, so that it does not hold up the first clients' requests
 * (initialize, status, the views' first lists), which arrive as the daemon starts listening.
 */
import v8 from 'node:v8';

/** How long after the start's work the collection waits. */
const AFTER_START_MS = 100;

/** What runs the collection: V8's `gc` when exposed. */
export type Collect = () => void;

/**
 * V8's `gc`, when the daemon was started with `--expose-gc`, made to compact the old generation this once: a collection
 * that only frees the start's objects leaves the survivors spread over pages that stay resident (84 MiB against 80 MiB
 * compacted). Only this once: compacting at every full collection made a start that replays 13,000 journal records
 * 35% slower (`npm run bench -- startup`).
 */
function exposedCollect(): Collect | undefined {
  const gc = (globalThis as { gc?: unknown }).gc;
  if (typeof gc !== 'function') return undefined;
  return () => {
    v8.setFlagsFromString('--compact-on-every-full-gc');
    try {
      (gc as Collect)();
    } finally {
      v8.setFlagsFromString('--no-compact-on-every-full-gc');
    }
  };
}

/**
 * Runs one full collection once every promise in `work` has settled (fulfilled or not) and `delayMs` have passed.
 * Resolves true when it collected, false when no collection is available.
 */
export async function collectStartGarbage(work: readonly Promise<unknown>[], options: { delayMs?: number; collect?: Collect | undefined } = {}): Promise<boolean> {
  await Promise.allSettled(work);
  await new Promise<void>((resolve) => setTimeout(resolve, options.delayMs ?? AFTER_START_MS));
  const collect = options.collect ?? exposedCollect();
  if (!collect) return false;
  collect();
  return true;
}
