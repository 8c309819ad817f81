/**
 * Drives the baseline echo server (`bench/echo-server.mjs`): starts it as a child process in a private folder and
 * talks newline-delimited JSON to it over its Unix socket.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

const ECHO_SCRIPT = path.join(import.meta.dirname, 'echo-server.mjs');
/** The bare vscode-jsonrpc server (`daemon/ping` only): what the daemon's RPC layer is measured against. */
export const JSONRPC_ECHO_SCRIPT = path.join(import.meta.dirname, 'jsonrpc-echo-server.mjs');

/** A running echo server. */
export interface EchoServer {
  /** The server process's pid (the startup bench reads its CPU time). */
  readonly pid: number | undefined;
  readonly folder: string;
  readonly socketPath: string;
  connect(): Promise<EchoClient>;
  /** Stops the child and removes its folder (unless the folder was given by the caller). */
  stop(): Promise<void>;
}

/** Starts an echo server (`script`, NDJSON by default) in `folder` (a new private temp folder if omitted) and waits until it listens. */
export async function startEchoServer(folder?: string, script: string = ECHO_SCRIPT): Promise<EchoServer> {
  const owned = folder === undefined;
  const home = folder ?? fs.mkdtempSync(path.join(os.tmpdir(), 'zavhoz-bench-echo-'));
  fs.chmodSync(home, 0o700);
  const socketPath = path.join(home, 'echo.sock');
  const child = spawn(process.execPath, [script, socketPath], { stdio: ['ignore', 'pipe', 'inherit'] });
  await waitForLine(child, 'ready');
  return {
    pid: child.pid,
    folder: home,
    socketPath,
    connect: () => EchoClient.connect(socketPath),
    async stop() {
      await stopChild(child);
      if (owned) fs.rmSync(home, { recursive: true, force: true });
    },
  };
}

/** A sequential newline-delimited JSON client: one request in flight at a time, like the benchmark needs. */
export class EchoClient {
  private pending = '';
  private waiter: ((line: string) => void) | undefined;

  private constructor(private readonly socket: net.Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      this.pending += chunk;
      const end = this.pending.indexOf('\n');
      if (end === -1) return;
      const line = this.pending.slice(0, end);
      this.pending = this.pending.slice(end + 1);
      const waiter = this.waiter;
      this.waiter = undefined;
      waiter?.(line);
    });
  }

  /** Opens a connection. */
  static async connect(socketPath: string): Promise<EchoClient> {
    const socket = net.createConnection(socketPath);
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    return new EchoClient(socket);
  }

  /** Sends one message and resolves with the parsed answer. */
  request(message: object): Promise<unknown> {
    return new Promise((resolve) => {
      this.waiter = (line) => resolve(JSON.parse(line));
      this.socket.write(`${JSON.stringify(message)}\n`);
    });
  }

  /** Ends the connection. */
  close(): void {
    this.socket.destroy();
  }
}

/** Resolves once the child prints `expected` on stdout; rejects if it exits first. */
export function waitForLine(child: ChildProcess, expected: string, timeoutMs = 15_000): Promise<void> {
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => fail(new Error(`no "${expected}" from pid ${child.pid} within ${timeoutMs} ms`)), timeoutMs);
    const onData = (chunk: Buffer): void => {
      output += chunk.toString('utf8');
      if (output.includes(expected)) {
        cleanup();
        resolve();
      }
    };
    const onExit = (code: number | null): void => fail(new Error(`pid ${child.pid} exited (${code}) before printing "${expected}"`));
    const cleanup = (): void => {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.off('exit', onExit);
    };
    const fail = (error: Error): void => {
      cleanup();
      reject(error);
    };
    child.stdout?.on('data', onData);
    child.once('exit', onExit);
  });
}

/** SIGTERM, then SIGKILL after a grace period; resolves when the child has exited. */
export async function stopChild(child: ChildProcess, graceMs = 3_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}
