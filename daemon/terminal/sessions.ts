import crypto from 'node:crypto';
import type { ClientChannel } from 'ssh2';
import { ZavhozError } from '../core/errors.js';
import type { ScopedLogger } from '../core/logger.js';
import type { SshConnection } from '../inventory/ssh.js';
import { ErrorCodes } from '../protocol/errors.js';
import { SHELL_IDLE_MS, SHELL_READ_WAIT_MS, type ShellOpened, type ShellOutput } from '../protocol/shell.js';
import type { SecretUse } from '../vault/api.js';

/** Output held for a shell nobody reads; past it the channel is paused until the client catches up. */
const BUFFER_LIMIT = 256 * 1024;

/** What the terminal needs from the inventory: SSH to a server, and where it is. */
export interface ShellHost {
  openSsh(handle: string, use: SecretUse, options?: { readonly signal?: AbortSignal }): Promise<SshConnection>;
  describe(handle: string): Promise<{ readonly host: string; readonly user: string }>;
}

interface ShellSession {
  readonly id: string;
  readonly connectionId: number;
  readonly server: string;
  readonly ssh: SshConnection;
  readonly channel: ClientChannel;
  chunks: Buffer[];
  size: number;
  closed: boolean;
  exitCode: number | null;
  waiter: (() => void) | undefined;
  idleTimer: NodeJS.Timeout;
}

/**
 * The open shells of the daemon. Each belongs to the connection that opened it (another connection cannot read or
 * type into it) and ends when the remote shell exits, when it is closed, when nobody has read it for
 * {@link SHELL_IDLE_MS}, or when the daemon stops.
 */
export class ShellSessions {
  private readonly sessions = new Map<string, ShellSession>();

  constructor(
    private readonly host: ShellHost,
    private readonly log: ScopedLogger,
  ) {}

  /** Logs in and starts a PTY shell; the vault lends the key for the handshake only. */
  async open(server: string, size: { cols: number; rows: number }, use: SecretUse, connectionId: number, signal: AbortSignal): Promise<ShellOpened> {
    const where = await this.host.describe(server);
    const ssh = await this.host.openSsh(server, use, { signal });
    let channel: ClientChannel;
    try {
      channel = await new Promise<ClientChannel>((resolve, reject) =>
        ssh.client.shell({ term: 'xterm-256color', cols: size.cols, rows: size.rows }, (error, opened) => (error ? reject(error) : resolve(opened))),
      );
    } catch (error) {
      ssh.close();
      throw new ZavhozError(ErrorCodes.Unreachable, `Server ${server} refused an interactive shell: ${(error as Error).message}.`);
    }
    const id = `sh_${crypto.randomBytes(8).toString('hex')}`;
    const session: ShellSession = {
      id,
      connectionId,
      server,
      ssh,
      channel,
      chunks: [],
      size: 0,
      closed: false,
      exitCode: null,
      waiter: undefined,
      idleTimer: setTimeout(() => this.close(id, 'idle'), SHELL_IDLE_MS),
    };
    const take = (chunk: Buffer): void => {
      session.chunks.push(chunk);
      session.size += chunk.length;
      if (session.size > BUFFER_LIMIT) channel.pause();
      this.wake(session);
    };
    channel.on('data', take);
    channel.stderr.on('data', take);
    channel.on('exit', (code: number | null) => {
      session.exitCode = typeof code === 'number' ? code : null;
    });
    channel.on('close', () => this.close(id, 'exited'));
    this.sessions.set(id, session);
    this.log.info('shell opened', { server, session: id });
    return { session: id, server, host: where.host, user: where.user };
  }

  /** Everything written since the last read, waiting for some if there is none yet. */
  async read(id: string, connectionId: number, signal: AbortSignal): Promise<ShellOutput> {
    const session = this.owned(id, connectionId);
    session.idleTimer.refresh();
    if (session.size === 0 && !session.closed) {
      session.waiter?.();
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, SHELL_READ_WAIT_MS);
        function done(): void {
          clearTimeout(timer);
          signal.removeEventListener('abort', done);
          resolve();
        }
        signal.addEventListener('abort', done, { once: true });
        session.waiter = done;
      });
      session.waiter = undefined;
    }
    const data = Buffer.concat(session.chunks).toString('base64');
    session.chunks = [];
    session.size = 0;
    if (!session.closed) session.channel.resume();
    session.idleTimer.refresh();
    return { data, closed: session.closed, exitCode: session.exitCode };
  }

  /** Types into the shell. */
  write(id: string, connectionId: number, data: string): number {
    const session = this.owned(id, connectionId);
    if (session.closed) throw new ZavhozError(ErrorCodes.PreconditionFailed, `The shell on ${session.server} has ended; open a new terminal.`);
    session.channel.write(data);
    return Buffer.byteLength(data);
  }

  /** Passes a terminal resize to the remote PTY. */
  resize(id: string, connectionId: number, cols: number, rows: number): void {
    const session = this.owned(id, connectionId);
    if (!session.closed) session.channel.setWindow(rows, cols, 0, 0);
  }

  /** Ends a shell; its last output stays readable until the client reads it (then the session is gone). */
  close(id: string, reason: string): void {
    const session = this.sessions.get(id);
    if (!session) return;
    if (!session.closed) {
      session.closed = true;
      session.channel.close();
      session.ssh.close();
      this.log.info('shell closed', { server: session.server, session: id, reason, exitCode: session.exitCode });
    }
    this.wake(session);
    // Keep the ended session a little for the final read, then forget it.
    clearTimeout(session.idleTimer);
    setTimeout(() => this.sessions.delete(id), reason === 'idle' || reason === 'shutdown' ? 0 : 30_000).unref();
  }

  /** Ends a shell on behalf of the connection that owns it. */
  closeOwned(id: string, connectionId: number): void {
    this.owned(id, connectionId);
    this.close(id, 'closed by client');
  }

  /** Ends every shell (daemon shutdown). */
  closeAll(): void {
    for (const id of [...this.sessions.keys()]) this.close(id, 'shutdown');
  }

  private owned(id: string, connectionId: number): ShellSession {
    const session = this.sessions.get(id);
    if (!session || session.connectionId !== connectionId) {
      throw new ZavhozError(ErrorCodes.NotFound, `Shell ${id} is not open on this connection. Open a new SSH terminal.`);
    }
    return session;
  }

  private wake(session: ShellSession): void {
    const waiter = session.waiter;
    session.waiter = undefined;
    waiter?.();
  }
}
