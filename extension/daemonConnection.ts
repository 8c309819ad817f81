import * as vscode from 'vscode';
import { DaemonClient, type PagedDefinition } from '../daemon/client/client.js';
import { resolveDataFolder, ZAVHOZ_VERSION } from '../daemon/client/defaults.js';
import type { NotificationDefinition, RequestDefinition } from '../daemon/protocol/define.js';
import { CommandIds } from './commandIds.js';
import { ReconnectPolicy } from './model/reconnect.js';

/** Connection state shown by the status bar and the views. */
export type ConnectionState =
  | { readonly kind: 'connecting' }
  | { readonly kind: 'connected'; readonly client: DaemonClient }
  | { readonly kind: 'down'; readonly reason: string; readonly retrying: boolean };

/**
 * Keeps one connection to the user's daemon, starting it with VS Code's own runtime when none runs, and
 * reconnecting with backoff when it goes away. After repeated failures it stops and offers "Restart Daemon".
 */
export class DaemonConnection implements vscode.Disposable {
  private current: ConnectionState = { kind: 'connecting' };
  private readonly emitter = new vscode.EventEmitter<ConnectionState>();
  private readonly reconnect = new ReconnectPolicy();
  private retryTimer: NodeJS.Timeout | undefined;
  private disposed = false;
  /**
   * Notification listeners by method. They outlive a connection: each new client gets one handler per method
   * that fans out to them (vscode-jsonrpc keeps a single handler per method, so a second registration would
   * silently replace the first).
   */
  private readonly listeners = new Map<string, { readonly definition: NotificationDefinition<unknown>; readonly handlers: Set<(params: unknown) => void> }>();
  private attached: { dispose(): void }[] = [];

  /** Fires on every state change, including each new connection (views re-subscribe then). */
  readonly onDidChangeState = this.emitter.event;

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly log: vscode.LogOutputChannel,
  ) {}

  /** The current state. */
  get state(): ConnectionState {
    return this.current;
  }

  /** The connected client, or an error the user can act on. */
  async client(): Promise<DaemonClient> {
    if (this.current.kind === 'connected') return this.current.client;
    const before = this.current;
    if (before.kind === 'down' && !before.retrying) await this.restart();
    const waited = await new Promise<ConnectionState>((resolve) => {
      const listener = this.onDidChangeState((state) => {
        if (state.kind !== 'connecting') {
          listener.dispose();
          resolve(state);
        }
      });
      if (this.current.kind !== 'connecting') {
        listener.dispose();
        resolve(this.current);
      }
    });
    if (waited.kind === 'connected') return waited.client;
    throw new Error(`The Zavhoz daemon is not available: ${waited.kind === 'down' ? waited.reason : 'still connecting'}`);
  }

  /** Sends a typed request on the current connection, waiting for (or starting) one if needed; defaults are the daemon's. */
  async request<P, R>(definition: RequestDefinition<P, R>, params: P, token?: vscode.CancellationToken): Promise<R> {
    const client = await this.client();
    return client.request(definition, params, token ? { token } : {});
  }

  /** Every row of a list request, fetched page by page on the current connection; `rows` picks a page's rows. */
  async listAll<P, R, T>(definition: PagedDefinition<P, R>, params: P, rows: (page: R) => readonly T[], token?: vscode.CancellationToken): Promise<T[]> {
    const client = await this.client();
    return client.listAll(definition, params, rows, token ? { token } : {});
  }

  /**
   * Listens for a daemon notification on this and every later connection (the daemon forgets listeners when a
   * connection ends, so they are attached again after each reconnect).
   */
  onNotification<P>(definition: NotificationDefinition<P>, handler: (params: P) => void): vscode.Disposable {
    let entry = this.listeners.get(definition.method);
    if (!entry) {
      entry = { definition: definition as unknown as NotificationDefinition<unknown>, handlers: new Set() };
      this.listeners.set(definition.method, entry);
      if (this.current.kind === 'connected') this.attached.push(this.attach(this.current.client, entry));
    }
    const handlers = entry.handlers;
    const listener = handler as (params: unknown) => void;
    handlers.add(listener);
    return new vscode.Disposable(() => handlers.delete(listener));
  }

  private attach(
    client: DaemonClient,
    entry: { readonly definition: NotificationDefinition<unknown>; readonly handlers: Set<(params: unknown) => void> },
  ): { dispose(): void } {
    return client.onNotification(entry.definition, (params) => {
      for (const handler of [...entry.handlers]) {
        try {
          handler(params);
        } catch (error) {
          this.log.error(`${entry.definition.method} listener failed: ${error instanceof Error ? error.message : String(error)}`);
        }
      }
    });
  }

  /** Starts connecting (non-blocking; activation must stay light). */
  start(): void {
    void this.connect();
  }

  /** Forgets past failures and connects again (the "Restart Daemon" command). */
  async restart(): Promise<void> {
    this.reconnect.reset();
    if (this.current.kind === 'connected') this.current.client.close();
    await this.connect();
  }

  dispose(): void {
    this.disposed = true;
    clearTimeout(this.retryTimer);
    for (const disposable of this.attached) disposable.dispose();
    this.listeners.clear();
    if (this.current.kind === 'connected') this.current.client.close();
    this.emitter.dispose();
  }

  private setState(state: ConnectionState): void {
    for (const disposable of this.attached) disposable.dispose();
    this.attached = state.kind === 'connected' ? [...this.listeners.values()].map((entry) => this.attach(state.client, entry)) : [];
    this.current = state;
    this.emitter.fire(state);
  }

  private async connect(): Promise<void> {
    clearTimeout(this.retryTimer);
    this.setState({ kind: 'connecting' });
    const folder = resolveDataFolder();
    try {
      const client = await DaemonClient.connect({
        folder,
        clientName: 'vscode',
        clientVersion: ZAVHOZ_VERSION,
        autoStart: {
          daemonScript: this.context.asAbsolutePath('dist/daemon.cjs'),
          execPath: process.execPath,
          env: { ELECTRON_RUN_AS_NODE: '1' },
        },
      });
      if (this.disposed) { client.close(); return; }
      this.reconnect.connected(Date.now());
      this.log.info(`connected to daemon pid ${client.info.pid} (${client.info.dataFolder})`);
      client.onClose(() => {
        if (this.disposed || this.current.kind !== 'connected' || this.current.client !== client) return;
        this.log.warn('daemon connection closed');
        this.scheduleRetry('the daemon stopped');
      });
      this.setState({ kind: 'connected', client });
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      this.log.error(`could not connect to the daemon: ${reason}`);
      this.scheduleRetry(reason);
    }
  }

  private scheduleRetry(reason: string): void {
    if (this.disposed) return;
    const delay = this.reconnect.failed(Date.now());
    if (delay === undefined) {
      this.setState({ kind: 'down', reason, retrying: false });
      void vscode.window
        .showErrorMessage(`Zavhoz: the daemon keeps failing (${reason}).`, 'Restart Daemon', 'Show Log')
        .then((choice) => {
          if (choice === 'Restart Daemon') void vscode.commands.executeCommand(CommandIds.restartDaemon);
          if (choice === 'Show Log') void vscode.commands.executeCommand(CommandIds.showLog);
        });
      return;
    }
    this.setState({ kind: 'down', reason, retrying: true });
    this.retryTimer = setTimeout(() => void this.connect(), delay);
  }
}
