import fs from 'node:fs';
import net from 'node:net';
import { PROTOCOL_VERSION } from '../../daemon/protocol/lifecycle.js';

/** A JSON-RPC answer as read off the wire. */
export interface RawResponse {
  readonly id: number | string | null;
  readonly result?: unknown;
  readonly error?: { code: number; message: string };
}

/**
 * A raw connection to the daemon's socket for sending deliberately broken input; it parses whatever framed
 * answers come back. Used to prove the daemon answers bad input clearly and keeps serving.
 */
export class RawSocket {
  private buffer = Buffer.alloc(0);
  private readonly responses: RawResponse[] = [];
  private waiters: (() => void)[] = [];
  private closedFlag = false;

  private constructor(private readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      this.parse();
    });
    socket.on('close', () => {
      this.closedFlag = true;
      this.wake();
    });
    socket.on('error', () => undefined);
  }

  /** Opens a connection to a socket path. */
  static async open(socketPath: string): Promise<RawSocket> {
    const socket = net.createConnection(socketPath);
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    return new RawSocket(socket);
  }

  /** Writes bytes as they are. */
  writeRaw(data: string | Buffer): void {
    this.socket.write(data);
  }

  /** Writes one correctly framed body (which may itself be garbage). */
  writeFrame(body: string): void {
    this.socket.write(`Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
  }

  /** Sends a request and waits for its answer. */
  async request(id: number, method: string, params: unknown): Promise<RawResponse> {
    this.writeFrame(JSON.stringify({ jsonrpc: '2.0', id, method, params }));
    return this.next();
  }

  /** Authenticates with the folder's token. */
  async initialize(tokenFile: string, protocolVersion = PROTOCOL_VERSION): Promise<RawResponse> {
    const token = fs.readFileSync(tokenFile, 'utf8').trim();
    return this.request(0, 'initialize', { protocolVersion, clientName: 'raw', token });
  }

  /** The next answer, in arrival order. */
  async next(timeoutMs = 5_000): Promise<RawResponse> {
    const deadline = Date.now() + timeoutMs;
    while (this.responses.length === 0) {
      if (this.closedFlag) throw new Error('connection closed before an answer arrived');
      if (Date.now() > deadline) throw new Error('no answer in time');
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
    return this.responses.shift()!;
  }

  /** Resolves true once the daemon has closed the connection. */
  async closed(timeoutMs = 5_000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closedFlag && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    return this.closedFlag;
  }

  /** Ends the connection. */
  destroy(): void {
    this.socket.destroy();
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const waiter of waiters) waiter();
  }

  private parse(): void {
    while (true) {
      const end = this.buffer.indexOf('\r\n\r\n');
      if (end === -1) return;
      const match = /Content-Length: (\d+)/i.exec(this.buffer.subarray(0, end).toString('ascii'));
      if (!match) return;
      const length = Number(match[1]);
      if (this.buffer.length < end + 4 + length) return;
      const body = this.buffer.subarray(end + 4, end + 4 + length).toString('utf8');
      this.buffer = this.buffer.subarray(end + 4 + length);
      this.responses.push(JSON.parse(body) as RawResponse);
      this.wake();
    }
  }
}
