import * as vscode from 'vscode';
import { type RunDetail, RunsDidChange, RunsGet } from '../../daemon/protocol/runs.js';
import type { DaemonConnection } from '../daemonConnection.js';
import { runLogText } from '../model/runLogText.js';
import { isActive } from '../model/runs.js';
import type { RunLogs } from './runLogs.js';

/** URI scheme of read-only run log documents: `zavhoz-run:/run_xxxxxxxxxx.log`. */
export const RUN_LOG_SCHEME = 'zavhoz-run';

/** The document URI of a run's log. */
export function runLogUri(id: string): vscode.Uri {
  return vscode.Uri.from({ scheme: RUN_LOG_SCHEME, path: `/${id}.log` });
}

/** The run id a log document shows, or undefined for another document. */
export function runIdOfUri(uri: vscode.Uri): string | undefined {
  return uri.scheme === RUN_LOG_SCHEME ? uri.path.replace(/^\//, '').replace(/\.log$/, '') : undefined;
}

/**
 * Read-only documents showing a run's live log (redacted by the daemon) under a heading, the result and the steps
 * with their durations (`model/runLogText.ts`); the failed step and the log's error lines are highlighted. They
 * grow as lines arrive, and an editor showing one keeps its last line in view while the run goes on.
 */
export class RunLogDocuments implements vscode.TextDocumentContentProvider, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<vscode.Uri>();
  private readonly shown = new vscode.EventEmitter<string>();
  private readonly failure = vscode.window.createTextEditorDecorationType({
    isWholeLine: true,
    backgroundColor: new vscode.ThemeColor('inputValidation.errorBackground'),
    overviewRulerColor: new vscode.ThemeColor('editorError.foreground'),
    overviewRulerLane: vscode.OverviewRulerLane.Right,
  });
  private readonly disposables: { dispose(): void }[] = [this.changed, this.shown, this.failure];
  private readonly runs = new Map<string, RunDetail | undefined>();
  private readonly failureLines = new Map<string, readonly number[]>();
  private readonly timers = new Map<string, NodeJS.Timeout>();

  /** Fires when a run's document must be read again. */
  readonly onDidChange = this.changed.event;
  /** Fires with a run id when its log is shown in an editor (the status bar then counts its failure as seen). */
  readonly onDidShowRun = this.shown.event;

  constructor(
    private readonly connection: DaemonConnection,
    private readonly logs: RunLogs,
  ) {
    this.disposables.push(
      logs.onDidChange((id) => this.schedule(id)),
      connection.onNotification(RunsDidChange, ({ id }) => {
        if (this.runs.has(id)) void this.loadRun(id);
      }),
      vscode.window.onDidChangeVisibleTextEditors((editors) => {
        for (const editor of editors) this.decorate(editor);
      }),
    );
  }

  provideTextDocumentContent(uri: vscode.Uri): string {
    const id = runIdOfUri(uri) ?? '';
    if (!this.runs.has(id)) {
      this.runs.set(id, undefined);
      void this.loadRun(id);
    }
    const shown = runLogText(id, this.runs.get(id), this.logs.get(id).lines, new Date());
    this.failureLines.set(id, shown.failureLines);
    return shown.text;
  }

  /**
   * Opens a run's log in an editor: a running one follows its end; a finished one opens at its top, where the result,
   * the failure and the steps are.
   */
  async show(id: string): Promise<void> {
    if (!this.runs.get(id)) await this.loadRun(id);
    const document = await vscode.workspace.openTextDocument(runLogUri(id));
    const editor = await vscode.window.showTextDocument(document, { preview: false, preserveFocus: false });
    if (this.following(id)) this.reveal(editor);
    else editor.revealRange(new vscode.Range(0, 0, 0, 0), vscode.TextEditorRevealType.AtTop);
    this.decorate(editor);
    this.shown.fire(id);
  }

  private async loadRun(id: string): Promise<void> {
    try {
      this.runs.set(id, await this.connection.request(RunsGet, { id }));
      this.schedule(id);
    } catch {
      // Shown without its heading until the daemon answers.
    }
  }

  /** Highlights the failed step and the log's error lines in an editor showing a run's log. */
  private decorate(editor: vscode.TextEditor): void {
    const id = runIdOfUri(editor.document.uri);
    if (id === undefined) return;
    const lines = (this.failureLines.get(id) ?? []).filter((line) => line < editor.document.lineCount);
    editor.setDecorations(
      this.failure,
      lines.map((line) => new vscode.Range(line, 0, line, 0)),
    );
  }

  private schedule(id: string): void {
    if (this.timers.has(id)) return;
    this.timers.set(
      id,
      setTimeout(() => {
        this.timers.delete(id);
        const uri = runLogUri(id);
        this.changed.fire(uri);
        for (const editor of vscode.window.visibleTextEditors) {
          if (editor.document.uri.toString() !== uri.toString()) continue;
          setTimeout(() => {
            if (this.following(id)) this.reveal(editor);
            this.decorate(editor);
          }, 50);
        }
      }, 150),
    );
  }

  /** True while the run can still grow (or is not known yet): its editor keeps the last line in view. */
  private following(id: string): boolean {
    const run = this.runs.get(id);
    return run === undefined || isActive(run.status);
  }

  private reveal(editor: vscode.TextEditor): void {
    const last = editor.document.lineCount - 1;
    editor.revealRange(new vscode.Range(last, 0, last, 0), vscode.TextEditorRevealType.Default);
  }

  dispose(): void {
    for (const timer of this.timers.values()) clearTimeout(timer);
    for (const disposable of this.disposables) disposable.dispose();
  }
}

/** Registers the run log document provider. */
export function registerRunLogDocuments(context: vscode.ExtensionContext, connection: DaemonConnection, logs: RunLogs): RunLogDocuments {
  const documents = new RunLogDocuments(connection, logs);
  context.subscriptions.push(documents, vscode.workspace.registerTextDocumentContentProvider(RUN_LOG_SCHEME, documents));
  return documents;
}
