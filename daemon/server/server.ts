import fs from 'node:fs';
import net from 'node:net';
import { PRIVATE_FILE_MODE } from '../core/files.js';
import { LOG_LEVEL_RANK, type LogLevel, type ScopedLogger } from '../core/logger.js';
import type { Notifier } from '../core/notifier.js';
import type { NotificationDefinition } from '../protocol/define.js';
import { type ConnectedClient, DaemonLog, type InitializeResult } from '../protocol/lifecycle.js';
import type { Router } from './router.js';
import { Session } from './session.js';

/** Options for {@link DaemonServer}. */
export interface DaemonServerOptions {
  readonly socketPath: string;
  readonly token: string;
  readonly router: Router;
  readonly log: ScopedLogger;
  readonly describe: () => Omit<InitializeResult, 'protocolVersion'>;
}

/**
 * The socket the daemon listens on, and the set of connected sessions. It broadcasts change notifications to
 * every initialized client, so windows and CLIs see one state without polling.
 */
export class DaemonServer implements Notifier {
  private readonly server: net.Server;
  private readonly sessions = new Set<Session>();
  private nextId = 1;

  constructor(private readonly options: DaemonServerOptions) {
    this.server = net.createServer((socket) => this.accept(socket));
  }

  /** Starts listening; the caller holds the folder lock, so a socket file left by a crash is safe to remove. */
  async listen(): Promise<void> {
    const { socketPath } = this.options;
    if (process.platform !== 'win32') fs.rmSync(socketPath, { force: true });
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(socketPath, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    if (process.platform !== 'win32') fs.chmodSync(socketPath, PRIVATE_FILE_MODE);
  }

  /** Sends a notification to every initialized client. */
  notify<P>(definition: NotificationDefinition<P>, params: P): void {
    for (const session of this.sessions) session.notify(definition, params);
  }

  /** Sends a notification to one connection (e.g. a run's log to the client following it); false if it is gone. */
  notifyConnection<P>(connectionId: number, definition: NotificationDefinition<P>, params: P): boolean {
    for (const session of this.sessions) {
      if (session.id === connectionId) {
        session.notify(definition, params);
        return true;
      }
    }
    return false;
  }

  /** Starts sending this connection the daemon's log lines at `level` and above. */
  subscribeLog(connectionId: number, level: LogLevel): void {
    for (const session of this.sessions) if (session.id === connectionId) session.logLevel = level;
  }

  /** Forwards one redacted log line to the sessions that asked for it. */
  forwardLog(line: string, level: LogLevel): void {
    for (const session of this.sessions) {
      if (session.logLevel !== undefined && LOG_LEVEL_RANK[level] >= LOG_LEVEL_RANK[session.logLevel]) {
        session.notify(DaemonLog, { line });
      }
    }
  }

  /** The initialized clients. */
  clients(): ConnectedClient[] {
    const clients: ConnectedClient[] = [];
    for (const session of this.sessions) {
      const client = session.client;
      if (client) {
        clients.push({
          id: client.connectionId,
          name: client.name,
          ...(client.version ? { version: client.version } : {}),
          connectedAt: client.connectedAt,
        });
      }
    }
    return clients;
  }

  /** Stops accepting connections and closes every session. */
  async close(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      for (const session of [...this.sessions]) session.close();
    });
    if (process.platform !== 'win32') fs.rmSync(this.options.socketPath, { force: true });
  }

  private accept(socket: net.Socket): void {
    const session = new Session(socket, this.nextId++, {
      router: this.options.router,
      token: this.options.token,
      log: this.options.log,
      describe: this.options.describe,
      onClose: (closed) => this.sessions.delete(closed),
    });
    this.sessions.add(session);
  }
}
