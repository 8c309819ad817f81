import net from 'node:net';
import type { Writable } from 'node:stream';
import { type MaskedSecret, Masker } from './masker.js';

const EMPTY = Buffer.alloc(0);

/**
 * Masks one output stream of a child into a target stream. A chunk may be one reused read buffer: what is written is
 * mostly views of it (no copy), so it must stay as it is until the target has taken those bytes, and {@link write}
 * says when that is not yet the case.
 */
export class MaskedWriter {
  private readonly masker: Masker;
  /** Whether the target is done with a written buffer once its `writableLength` is back to 0 (see constructor). */
  private readonly releasesOnWrite: boolean;
  private dropped = false;

  constructor(
    secrets: readonly MaskedSecret[],
    private readonly target: Writable,
  ) {
    this.masker = new Masker(secrets);
    // A socket (pipe, TTY) or the process's own stdout/stderr (a file there is written synchronously) hands the bytes
    // to the kernel or keeps them queued, counted, until it has; any other stream may keep the buffer itself.
    this.releasesOnWrite = target instanceof net.Socket || target === process.stdout || target === process.stderr;
  }

  /**
   * Masks the next chunk and writes what can be released. Returns true when `chunk` may be reused and the next one
   * given at once; false when the target still holds bytes of it (or, for a target that copies, is over its
   * high-water mark): then `release` is called once the target has taken them all, and not before.
   */
  write(chunk: Buffer, release: () => void): boolean {
    if (this.dropped) return true;
    const pieces = this.masker.pushPieces(chunk);
    if (pieces.length === 0) return true;
    const target = this.target;
    let waiting = false;
    // Writes complete in order: once the last piece is taken, so are all before it. (A write's callback never runs
    // before `write` returns.)
    const onTaken = (): void => {
      if (waiting) release();
    };
    if (pieces.length > 1) target.cork();
    const last = pieces.length - 1;
    for (let index = 0; index <= last; index++) {
      // eslint-disable-next-line @typescript-eslint/no-non-null-assertion -- index stays within pieces
      const piece = pieces[index]!;
      target.write(this.releasesOnWrite ? piece : Buffer.from(piece), index === last ? onTaken : undefined);
    }
    if (pieces.length > 1) target.uncork();
    if (target.writableLength === 0) return true;
    waiting = true;
    return false;
  }

  /** Writes what the masker still held back (the input has ended); calls `done` once the target has taken it all. */
  end(done: () => void): void {
    if (this.dropped) { done(); return; }
    const rest = this.masker.end();
    this.target.write(rest.length > 0 ? rest : EMPTY, () => done());
  }

  /** Writes nothing more (the target broke: its reader went away). */
  drop(): void {
    this.dropped = true;
  }
}
