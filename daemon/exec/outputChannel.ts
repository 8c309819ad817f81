import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

/**
 * Bytes read from a child's output at once. The child's socket buffers about 200 KiB, so one read usually takes all
 * it wrote since the last: a fifth of the reads (and of the masking and writing rounds) of Node's 64 KiB stream reads.
 */
export const OUTPUT_READ_BYTES = 512 * 1024;

/** Longest Unix socket path every platform takes (macOS: 104 bytes with the terminating zero). */
const MAX_SOCKET_PATH = 100;

/**
 * A connected pair of Unix sockets for one output stream of a child: `childEnd` is handed to `spawn` as the child's
 * stdout or stderr (and closed here once the child has it); `ours` delivers what the child writes into one reused
 * buffer, through `onData` (a view that is only valid until it returns, unless it returns false: then the buffer is
 * left alone until `ours.resume()`).
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
export async function openOutputChannels(handlers: readonly ((bytes: Buffer) => boolean)[]): Promise<OutputChannel[] | undefined> {
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

function connectPair(server: net.Server, socketPath: string, onData: (bytes: Buffer) => boolean): Promise<OutputChannel> {
  return new Promise((resolve, reject) => {
    const buffer = Buffer.allocUnsafe(OUTPUT_READ_BYTES);
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
    const ours = net.connect({ path: socketPath, onread: { buffer, callback: (bytes) => onData(buffer.subarray(0, bytes)) } });
    ours.once('error', fail);
    ours.once('connect', () => {
      connected = true;
      settle();
    });
  });
}
