import * as vscode from 'vscode';
import { AllocationsDidChange } from '../../daemon/protocol/allocations.js';
import { RunsDidChange } from '../../daemon/protocol/runs.js';
import { ServersDidChange } from '../../daemon/protocol/servers.js';
import { type ProjectStatus, ServicesDidChange, ServicesStatus } from '../../daemon/protocol/services.js';
import { UndeployProgress } from '../../daemon/protocol/undeploy.js';
import type { DaemonConnection } from '../daemonConnection.js';
import { errorMessage, isMethodNotFound } from '../model/errors.js';
import { isActive } from '../model/runs.js';

/** What the tracker last read: the projects, or why it could not. */
export type ServiceSnapshot =
  | { readonly kind: 'none' }
  | { readonly kind: 'loaded'; readonly projects: readonly ProjectStatus[]; readonly at: Date }
  | { readonly kind: 'failed'; readonly error: string };

/** Servers are health-checked on their own cadence; their change notices refresh the status at most this often. */
const SERVER_REFRESH_GAP_MS = 30_000;

/**
 * The one place the extension reads `services/status` (an SSH round trip per server), shared by the Services view
 * and the status bar. It reads again when the daemon says something changed: containers restarted, a run ended,
 * allocations or releases changed, an undeploy ended, or a server's health check came in (at most every 30 s);
 * never on a timer of its own, so it never asks more often than the daemon checks servers.
 */
export class ServiceStatusTracker implements vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<ServiceSnapshot>();
  private readonly disposables: { dispose(): void }[] = [this.changed];
  private current: ServiceSnapshot = { kind: 'none' };
  private loading: Promise<ServiceSnapshot> | undefined;
  private again = false;
  private timer: NodeJS.Timeout | undefined;
  private lastServerRefresh = 0;

  /** Fires after every read. */
  readonly onDidChange = this.changed.event;

  constructor(private readonly connection: DaemonConnection) {
    this.disposables.push(
      connection.onDidChangeState((state) => {
        if (state.kind === 'connected') this.refresh();
      }),
      connection.onNotification(ServicesDidChange, () => this.refresh()),
      connection.onNotification(AllocationsDidChange, () => this.refresh()),
      connection.onNotification(RunsDidChange, ({ status }) => {
        if (!isActive(status)) this.refresh();
      }),
      connection.onNotification(UndeployProgress, ({ status }) => {
        if (status !== 'running') this.refresh();
      }),
      connection.onNotification(ServersDidChange, () => {
        if (Date.now() - this.lastServerRefresh < SERVER_REFRESH_GAP_MS) return;
        this.lastServerRefresh = Date.now();
        this.refresh();
      }),
    );
  }

  /** The last read, without asking the daemon. */
  get snapshot(): ServiceSnapshot {
    return this.current;
  }

  /** The last read, or a fresh one if there was none yet. */
  async latest(): Promise<ServiceSnapshot> {
    if (this.current.kind !== 'none') return this.current;
    return this.load();
  }

  /** Reads again soon; bursts of notifications become one read. */
  refresh(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.load(), 300);
  }

  /** Reads the status now (joining a read under way, and reading once more after it if asked meanwhile). */
  load(): Promise<ServiceSnapshot> {
    if (this.loading) {
      this.again = true;
      return this.loading;
    }
    this.loading = this.read().finally(() => {
      this.loading = undefined;
      if (this.again) {
        this.again = false;
        void this.load();
      }
    });
    return this.loading;
  }

  /** Reads again on a notification the tracker does not know (e.g. releases). */
  refreshOn(subscribe: (refresh: () => void) => vscode.Disposable): void {
    this.disposables.push(subscribe(() => this.refresh()));
  }

  private async read(): Promise<ServiceSnapshot> {
    if (this.connection.state.kind !== 'connected') return this.current;
    try {
      const projects = await this.connection.listAll(ServicesStatus, {}, (page) => page.projects);
      this.current = { kind: 'loaded', projects, at: new Date() };
    } catch (error) {
      // An older daemon has no services/status: nothing to show rather than an error.
      this.current = isMethodNotFound(error) ? { kind: 'loaded', projects: [], at: new Date() } : { kind: 'failed', error: errorMessage(error) };
    }
    this.changed.fire(this.current);
    return this.current;
  }

  dispose(): void {
    clearTimeout(this.timer);
    for (const disposable of this.disposables) disposable.dispose();
  }
}
