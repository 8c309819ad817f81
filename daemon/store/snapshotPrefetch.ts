/**
 * The snapshot file, read while the daemon's bundle loads. The entry (daemon/boot.ts) starts reading the data
 * folder's `zavhoz.db` before it evaluates the bundle: one read on libuv's thread pool, which runs while this thread
 * evaluates the bundle, instead of a read on this thread once the store opens (16 MB at 100k rows, `npm run bench --
 * startup`). The store takes the bytes once it holds the folder's lock, and only if the file is still the one that
 * was read: it was opened before the read and stays open until then (so its inode cannot be reused), and its device,
 * inode, size and modification and change times must be unchanged. The store only ever replaces its snapshot by
 * rename, so a daemon that folded or stopped in between leaves another file, which the store then reads itself.
 * Whatever goes wrong here, the store reads the file itself.
 */
import fs from 'node:fs';

const KEY = Symbol.for('zavhoz.store.snapshotPrefetch');

/** Larger snapshots are read by the store as before (one buffer holds the whole file). */
const MAX_PREFETCH_BYTES = 1024 * 1024 * 1024;

/** A read the entry started. */
interface Prefetch {
  readonly file: string;
  readonly fd: number;
  readonly identity: string;
  /** The whole file, or undefined if it could not be read whole. */
  readonly read: Promise<Buffer | undefined>;
}

type Holder = Record<symbol, Prefetch | undefined>;

function identityOf(stat: fs.BigIntStats): string {
  return [stat.dev, stat.ino, stat.size, stat.mtimeNs, stat.ctimeNs].join(':');
}

/** Reads the whole open file into `bytes`, on the thread pool (one call, unless the system returns less). */
function readWhole(fd: number, bytes: Buffer): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const step = (offset: number): void => {
      fs.read(fd, bytes, offset, bytes.length - offset, offset, (error, count) => {
        if (error || count === 0) resolve(undefined);
        else if (offset + count < bytes.length) step(offset + count);
        else resolve(bytes);
      });
    };
    step(0);
  });
}

/** Starts reading the snapshot file `file` in the background, if there is one (the daemon's entry calls this first). */
export function startReadingSnapshot(file: string): void {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch {
    // A new data folder, or one the store will explain.
    return;
  }
  try {
    const stat = fs.fstatSync(fd, { bigint: true });
    if (!stat.isFile() || stat.size === 0n || stat.size > MAX_PREFETCH_BYTES) {
      fs.closeSync(fd);
      return;
    }
    const read = readWhole(fd, Buffer.allocUnsafe(Number(stat.size)));
    (globalThis as Holder)[KEY] = { file, fd, identity: identityOf(stat), read };
  } catch {
    fs.closeSync(fd);
  }
}

/**
 * The bytes of `file` as the entry read them, if it read that file and the file in place is still the one it read;
 * undefined otherwise (running from source, nothing read, another file, or one replaced since). Taken once; call it
 * with the folder's lock held.
 */
export async function takePrefetchedSnapshot(file: string): Promise<Buffer | undefined> {
  const holder = globalThis as Holder;
  const prefetch = holder[KEY];
  holder[KEY] = undefined;
  if (!prefetch) return undefined;
  try {
    const bytes = await prefetch.read;
    if (!bytes || prefetch.file !== file) return undefined;
    const current = fs.statSync(file, { bigint: true, throwIfNoEntry: false });
    return current && identityOf(current) === prefetch.identity ? bytes : undefined;
  } catch {
    return undefined;
  } finally {
    // Only now: the read is over, and until the comparison the open file kept its inode from being reused.
    fs.closeSync(prefetch.fd);
  }
}
