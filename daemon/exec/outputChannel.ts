import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

/**
 * Bytes read from a child's output at once. The child's socket buffers about 200 KiB, so one read usually takes all
 * it wrote since the last: a fifth of the reads (and of the masking and writing rounds) of Node's 64 KiB stream reads.
 */
export const OUTPUT_READ_BYTES = 512 * 1024;

/**
 * Read buffers per channel, at most (made as needed). While the reader of our output still has bytes of one buffer to
 * take, the next read goes into another, so reading and masking the next chunk overlaps with the reader taking this
 * one; with one buffer the reader waited for each round of reading and masking. What is held per stream is bounded by
 * these buffers.
 */
export const OUTPUT_READ_BUFFERS = 3;

/** Longest Unix socket path every platform takes (macOS: 104 bytes with the terminating zero). */
const MAX_SOCKET_PATH = 100;

/**
 * What receives a channel's reads: `bytes` is a view of a reused read buffer. Returns true when the buffer may be
 * filled again at once; false when something still holds bytes of it: then `release` is called once they are taken,
 * and until then the buffer is left alone (reads go into another buffer, or wait).
 */
export type OutputHandler = (bytes: Buffer, release: () => void) => boolean;

/**
 * A connected pair of Unix sockets for one output stream of a child: `childEnd` is handed to `spawn` as the child's
 * stdout or stderr (and closed here once the child has it); `ours` delivers what the child writes, read into a few
 * reused buffers, to its {@link OutputHandler}.
 */
export interface OutputChannel {
  readonly childEnd: net.Socket;
  readonly ours: net.Socket;
}

/**
 * Opens one {@link OutputChannel} per handler, or resolves `undefined` when this machine cannot (a temporary folder
 * whose path is too long for a socket, or no Unix sockets): the caller then uses plain pipes. Node's pipes read 64 KiB
 * at a time into a fresh buffer each; a socket of our own can be read with `onread` into one large buffer, which is
 * what makes masked output keep up with the command. The listening socket lives in a fresh folder only this user can
 * enter, for as long as it takes to connect, so no other user can connect in our place.
 */
export async function openOutputChannels(handlers: readonly OutputHandler[]): Promise<OutputChannel[] | undefined> {
  if (process.platform === 'win32') return undefined;
  let folder: string;
  try {
    folder = fs.mkdtempSync(path.join(os.tmpdir(), 'zavhoz-exec-'));
  } catch {
    return undefined;
  }
  const socketPath = path.join(folder, 'output');
  if (Buffer.byteLength(socketPath) > MAX_SOCKET_PATH) {
    fs.rmSync(folder, { recursive: true, force: true });
    return undefined;
  }
  const server = net.createServer({ pauseOnConnect: true });
  const opened: OutputChannel[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(socketPath, resolve);
    });
    // One connection at a time, so each accepted end is known to belong to the connection just made.
    for (const onData of handlers) opened.push(await connectPair(server, socketPath, onData));
    return opened;
  } catch {
    for (const channel of opened) closeChannel(channel);
    return undefined;
  } finally {
    server.close();
    fs.rmSync(folder, { recursive: true, force: true });
  }
}

/** Ends both sockets of a channel (one that was never handed to a child, or whose child is gone). */
export function closeChannel(channel: OutputChannel): void {
  channel.childEnd.destroy();
  channel.ours.destroy();
}

function connectPair(server: net.Server, socketPath: string, onData: OutputHandler): Promise<OutputChannel> {
  return new Promise((resolve, reject) => {
    let childEnd: net.Socket | undefined;
    let connected = false;
    const settle = (): void => {
      if (childEnd === undefined || !connected) return;
      server.off('error', fail);
      ours.off('error', fail);
      resolve({ childEnd, ours });
    };
    const fail = (error: Error): void => {
      server.off('connection', accept);
      ours.destroy();
      childEnd?.destroy();
      reject(error);
    };
    const accept = (socket: net.Socket): void => {
      childEnd = socket;
      settle();
    };
    server.once('connection', accept);
    server.once('error', fail);
    const buffers = new ReadBuffers(() => ours.resume());
    const ours = net.connect({ path: socketPath, onread: { buffer: () => buffers.next, callback: (bytes, buffer) => buffers.filled(buffer as Buffer, bytes, onData) } });
    ours.once('error', fail);
    ours.once('connect', () => {
      connected = true;
      settle();
    });
  });
}

/**
 * The read buffers of one channel. Node asks for the buffer of the next read right after each read (`next`); when
 * every buffer is still held, reading pauses and `next` is the one held longest (bytes are taken in order, so it comes
 * back first), and reading resumes once it is back.
 */
class ReadBuffers {
  /** The buffer the next read goes into. */
  next: Buffer = Buffer.allocUnsafe(OUTPUT_READ_BYTES);
  private made = 1;
  private readonly idle: Buffer[] = [];
  /** Buffers whose bytes are still held, oldest first. */
  private readonly held: Buffer[] = [];
  private awaited: Buffer | undefined;

  constructor(private readonly resume: () => void) {}

  /** Hands a read to `onData`; returns false to pause reading (every buffer is held). */
  filled(buffer: Buffer, bytes: number, onData: OutputHandler): boolean {
    if (onData(buffer.subarray(0, bytes), () => this.release(buffer))) {
      this.next = buffer;
      return true;
    }
    this.held.push(buffer);
    const spare = this.idle.pop() ?? (this.made < OUTPUT_READ_BUFFERS ? this.make() : undefined);
    if (spare !== undefined) {
      this.next = spare;
      return true;
    }
    // eslint-disable-next-line @typescript-eslint/no-non-null-assertion -- `buffer` was just pushed
    this.next = this.awaited = this.held[0]!;
    return false;
  }

  private make(): Buffer {
    this.made++;
    return Buffer.allocUnsafe(OUTPUT_READ_BYTES);
  }

  private release(buffer: Buffer): void {
    this.held.splice(this.held.indexOf(buffer), 1);
    if (buffer !== this.awaited) {
      this.idle.push(buffer);
      return;
    }
    this.awaited = undefined;
    this.resume();
  }
}
