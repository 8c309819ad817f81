import * as vscode from 'vscode';
import { type RunStatus, RunsLog, RunsLogLines } from '../../daemon/protocol/runs.js';
import type { DaemonConnection } from '../daemonConnection.js';
import { isActive } from '../model/runs.js';

/** The log of one run as far as it is known here. Lines are already redacted by the daemon. */
export interface RunLog {
  readonly lines: readonly string[];
  readonly status: RunStatus | undefined;
}

interface Followed {
  lines: string[];
  next: number;
  status: RunStatus | undefined;
  loading: Promise<void> | undefined;
}

/**
 * Live run logs shared by the log documents and the deploy panel: the first watcher loads the log and asks the
 * daemon to follow it (`runs/log` notifications on this connection); after a reconnect the follow is asked for
 * again from the last line seen, so nothing is lost or doubled.
 */
export class RunLogs implements vscode.Disposable {
  private readonly runs = new Map<string, Followed>();
  private readonly changed = new vscode.EventEmitter<string>();
  private readonly disposables: { dispose(): void }[] = [this.changed];

  /** Fires with a run id when its log grew or its status changed. */
  readonly onDidChange = this.changed.event;

  constructor(private readonly connection: DaemonConnection) {
    this.disposables.push(
      connection.onNotification(RunsLogLines, (update) => this.receive(update)),
      connection.onDidChangeState((state) => {
        if (state.kind !== 'connected') return;
        for (const [id, run] of this.runs) if (run.status === undefined || isActive(run.status)) void this.load(id, run);
      }),
    );
  }

  /** The log of a run, starting to follow it if this is the first time it is asked for. */
  get(id: string): RunLog {
    let run = this.runs.get(id);
    if (!run) {
      run = { lines: [], next: 0, status: undefined, loading: undefined };
      this.runs.set(id, run);
      void this.load(id, run);
    }
    return { lines: run.lines, status: run.status };
  }

  /** Waits for the first load of a run's log. */
  async ready(id: string): Promise<RunLog> {
    this.get(id);
    await this.runs.get(id)?.loading;
    return this.get(id);
  }

  private load(id: string, run: Followed): Promise<void> {
    run.loading ??= (async () => {
      try {
        // Page by page (a long log is never one answer); the page that reaches the end starts the follow.
        for (let more = true; more; ) {
          const from = run.next;
          const answer = await this.connection.request(RunsLog, { id, from, follow: true });
          this.append(run, from, answer.lines);
          run.next = Math.max(run.next, answer.next);
          run.status = answer.status;
          more = answer.more;
          this.changed.fire(id);
        }
      } catch {
        // The daemon is away or the run is gone; a reconnect loads again.
      } finally {
        run.loading = undefined;
      }
    })();
    return run.loading;
  }

  private receive(update: { id: string; from: number; lines: string[]; done: boolean }): void {
    const run = this.runs.get(update.id);
    if (!run) return;
    if (update.from > run.next) {
      // A gap (lines sent before our follow began): read them instead of guessing.
      void this.load(update.id, run);
      return;
    }
    this.append(run, update.from, update.lines);
    if (update.done && run.status !== undefined && isActive(run.status)) run.status = undefined;
    this.changed.fire(update.id);
    if (update.done) void this.load(update.id, run);
  }

  private append(run: Followed, from: number, lines: readonly string[]): void {
    const skip = run.lines.length - from;
    const fresh = skip > 0 ? lines.slice(skip) : lines;
    run.lines.push(...fresh);
    run.next = run.lines.length;
  }

  dispose(): void {
    for (const disposable of this.disposables) disposable.dispose();
  }
}
