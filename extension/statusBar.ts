import * as vscode from 'vscode';
import { type RunDetail, RunsDidChange, RunsGet, RunsList } from '../daemon/protocol/runs.js';
import { CommandIds } from './commandIds.js';
import type { ConnectionState, DaemonConnection } from './daemonConnection.js';
import { deployStatusText, isActive } from './model/runs.js';
import type { TeamLook } from './model/team.js';

/** Failed runs whose log the person has opened, remembered across windows so a failure is flagged until seen. */
const SEEN_FAILURES_KEY = 'zavhoz.statusBar.seenFailures';

/**
 * The status-bar item: owns its item and maps the daemon's state and the workspace project's latest deploy to
 * text, icon and colour. Daemon starting or down; a running deploy with its step and elapsed time; a failure in
 * the error colour until its log has been opened (then the item goes quiet); clicking opens the run's log (or the
 * deploy flow when the project never deployed), or restarts a daemon that is down.
 */
export class StatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('zavhoz.status', vscode.StatusBarAlignment.Left, 10);
  private readonly disposables: vscode.Disposable[] = [];
  private run: RunDetail | undefined;
  private project: string | undefined;
  private ticker: NodeJS.Timeout | undefined;
  private tickPeriod = 0;
  private team: TeamLook | undefined;

  constructor(
    private readonly connection: DaemonConnection,
    workspaceProject: () => Promise<string | undefined>,
    private readonly memento: vscode.Memento,
    onDidShowRun: vscode.Event<string>,
  ) {
    this.item.name = 'Zavhoz';
    this.render();
    this.disposables.push(
      onDidShowRun((id) => {
        if (this.run?.id !== id || !isFailure(this.run)) return;
        const seen = this.memento.get<string[]>(SEEN_FAILURES_KEY, []);
        if (!seen.includes(id)) void this.memento.update(SEEN_FAILURES_KEY, [...seen, id].slice(-50)).then(() => this.render());
      }),
      connection.onDidChangeState((state) => {
        this.render();
        if (state.kind === 'connected') void this.loadLatest();
      }),
      connection.onNotification(RunsDidChange, ({ id, project }) => {
        if (project === this.project) void this.loadRun(id);
      }),
    );
    void workspaceProject().then((project) => {
      this.project = project;
      if (connection.state.kind === 'connected') void this.loadLatest();
    });
    this.item.show();
  }

  /** Shows team mode: its line in the tooltip, and a warning while the team store does not answer. */
  setTeam(team: TeamLook | undefined): void {
    this.team = team;
    this.render();
  }

  dispose(): void {
    clearInterval(this.ticker);
    for (const disposable of this.disposables) disposable.dispose();
    this.item.dispose();
  }

  private async loadLatest(): Promise<void> {
    const project = this.project;
    if (!project) return;
    try {
      const { runs } = await this.connection.request(RunsList, { project, limit: 1 });
      // A run that waits for approval has no log to open yet; the Runs view and the prompt show it.
      const latest = runs.find((run) => run.status !== 'awaiting_approval');
      if (latest) await this.loadRun(latest.id);
      else this.render();
    } catch {
      // An older daemon without deploys: the item keeps showing the connection only.
    }
  }

  private async loadRun(id: string): Promise<void> {
    try {
      const run = await this.connection.request(RunsGet, { id });
      // A late answer about an older run must not replace a newer one.
      if (this.run && this.run.id !== run.id && Date.parse(this.run.createdAt) > Date.parse(run.createdAt)) return;
      this.run = run;
      this.render();
    } catch {
      // Keep the last known state; the next notification tries again.
    }
  }

  private render(): void {
    const state: ConnectionState = this.connection.state;
    // The clock only redraws text (elapsed time, "5 min ago"); it never asks the daemon anything.
    const period = state.kind !== 'connected' || !this.run ? 0 : isActive(this.run.status) ? 1000 : 60_000;
    if (period !== this.tickPeriod) {
      clearInterval(this.ticker);
      this.ticker = period > 0 ? setInterval(() => this.render(), period) : undefined;
      this.tickPeriod = period;
    }
    this.item.backgroundColor = undefined;
    switch (state.kind) {
      case 'connecting':
        this.item.text = '$(sync~spin) Zavhoz: starting…';
        this.item.tooltip = 'Starting or connecting to the Zavhoz daemon… Click for its log.';
        this.item.command = CommandIds.showLog;
        break;
      case 'down':
        this.item.text = '$(error) Zavhoz: daemon down';
        this.item.tooltip = `${state.reason}${state.retrying ? ' (retrying)' : ' — click to restart the daemon'}`;
        this.item.backgroundColor = new vscode.ThemeColor('statusBarItem.errorBackground');
        this.item.command = state.retrying ? CommandIds.showLog : CommandIds.restartDaemon;
        break;
      case 'connected': {
        if (!this.run) {
          this.item.text = '$(server-process) Zavhoz';
          this.item.tooltip = this.project
            ? `Zavhoz daemon pid ${state.client.info.pid}: connected. ${this.project} has not been deployed yet: click to deploy it.`
            : `Zavhoz daemon pid ${state.client.info.pid}: connected, idle.`;
          this.item.command = this.project ? CommandIds.deployProject : CommandIds.showLog;
          break;
        }
        const shown = deployStatusText(this.run, new Date());
        const seen = isFailure(this.run) && this.memento.get<string[]>(SEEN_FAILURES_KEY, []).includes(this.run.id);
        this.item.text = seen ? '$(server-process) Zavhoz' : shown.text;
        this.item.tooltip = seen ? `Zavhoz daemon pid ${state.client.info.pid}: connected.\n${shown.tooltip}` : shown.tooltip;
        if (shown.error && !seen) this.item.backgroundColor = new vscode.ThemeColor('statusBarItem.errorBackground');
        this.item.command = { command: CommandIds.showDeployLog, title: 'Show Deploy Log', arguments: [this.run.id] };
        break;
      }
    }
    if (state.kind === 'connected' && this.team) {
      this.item.tooltip = `${typeof this.item.tooltip === 'string' ? this.item.tooltip : ''}\n${this.team.line}`;
      if (this.team.badge !== undefined) {
        this.item.text = `${this.item.text} · $(warning) ${this.team.badge}`;
        this.item.backgroundColor ??= new vscode.ThemeColor('statusBarItem.warningBackground');
      }
    }
    this.item.accessibilityInformation = { label: `Zavhoz: ${this.item.text.replace(/\$\([^)]*\)\s*/g, '')}`, role: 'button' };
  }
}

function isFailure(run: RunDetail): boolean {
  return run.status === 'failed' || run.status === 'interrupted';
}
