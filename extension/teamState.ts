import * as vscode from 'vscode';
import { type TeamStatusView, TeamStatus } from '../daemon/protocol/team.js';
import type { DaemonConnection } from './daemonConnection.js';

/**
 * What the daemon says about team mode (`team/status`), asked when the connection comes up and whenever someone looks
 * (the Daemon view, the Team Status command); the status bar and the Daemon view follow it. Undefined: not known yet,
 * or a daemon from before team mode.
 */
export class TeamState implements vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<TeamStatusView | undefined>();
  private readonly disposables: { dispose(): unknown }[] = [this.changed];
  private current: TeamStatusView | undefined;

  /** Fires when the team status changed (or became unknown). */
  readonly onDidChange = this.changed.event;

  constructor(private readonly connection: DaemonConnection) {
    this.disposables.push(
      connection.onDidChangeState((state) => {
        if (state.kind === 'connected') void this.refresh().catch(() => undefined);
        else this.set(undefined);
      }),
      // A person coming back to the window sees whether the team store answers now (no timer asks in between).
      vscode.window.onDidChangeWindowState((window) => {
        if (window.focused && this.inTeam && connection.state.kind === 'connected') void this.refresh().catch(() => undefined);
      }),
    );
  }

  /** The last known status. */
  get status(): TeamStatusView | undefined {
    return this.current;
  }

  /** True when the daemon runs on a team's store or joined one. */
  get inTeam(): boolean {
    return this.current !== undefined && (this.current.engine === 'postgres' || this.current.joined !== null);
  }

  /** Asks the daemon again; answers the new status (rejects when the daemon does not answer). */
  async refresh(): Promise<TeamStatusView> {
    const status = await this.connection.request(TeamStatus, {});
    this.set(status);
    return status;
  }

  private set(status: TeamStatusView | undefined): void {
    if (JSON.stringify(status) === JSON.stringify(this.current)) return;
    this.current = status;
    this.changed.fire(status);
  }

  dispose(): void {
    for (const disposable of this.disposables) disposable.dispose();
  }
}
