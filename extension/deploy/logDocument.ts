import * as vscode from 'vscode';
import { RunsDidChange, RunsGet } from '../../daemon/protocol/runs.js';
import type { DaemonConnection } from '../daemonConnection.js';
import type { RunLogs } from './runLogs.js';

/** URI scheme of read-only run log documents: `zavhoz-run:/run_xxxxxxxxxx.log`. */
export const RUN_LOG_SCHEME = 'zavhoz-run';

/** The document URI of a run's log. */
export function runLogUri(id: string): vscode.Uri {
  return vscode.Uri.from({ scheme: RUN_LOG_SCHEME, path: `/${id}.log` });
}

/**
 * Read-only documents showing a run's live log (redacted by the daemon). They grow as lines arrive, and an
 * editor showing one keeps its last line in view while the run goes on.
 */
export class RunLogDocuments implements vscode.TextDocumentContentProvider, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<vscode.Uri>();
  private readonly disposables: vscode.Disposable[] = [this.changed];
  private readonly headers = new Map<string, string>();
  private readonly timers = new Map<string, NodeJS.Timeout>();

  /** Fires when a run's document must be read again. */
  readonly onDidChange = this.changed.event;

  constructor(
    private readonly connection: DaemonConnection,
    private readonly logs: RunLogs,
  ) {
    this.disposables.push(
      logs.onDidChange((id) => this.schedule(id)),
      connection.onNotification(RunsDidChange, ({ id }) => {
        if (this.headers.has(id)) void this.loadHeader(id);
      }),
    );
  }

  provideTextDocumentContent(uri: vscode.Uri): string {
    const id = uri.path.replace(/^\//, '').replace(/\.log$/, '');
    if (!this.headers.has(id)) {
      this.headers.set(id, `# Deploy ${id}\n`);
      void this.loadHeader(id);
    }
    const log = this.logs.get(id);
    const body = log.lines.length > 0 ? log.lines.join('\n') : '(waiting for output…)';
    return `${this.headers.get(id) ?? ''}\n${body}\n`;
  }

  /** Opens a run's log in an editor, following its end while it runs. */
  async show(id: string): Promise<void> {
    const document = await vscode.workspace.openTextDocument(runLogUri(id));
    const editor = await vscode.window.showTextDocument(document, { preview: false, preserveFocus: false });
    this.reveal(editor);
  }

  private async loadHeader(id: string): Promise<void> {
    try {
      const run = await this.connection.request(RunsGet, { id });
      const place = run.allocation ? ` on ${run.allocation.server} (${run.allocation.host})` : '';
      this.headers.set(id, `# Deploy ${run.id}: ${run.project} from ${run.repository}@${run.ref}${place}: ${run.status}${run.error ? `\n# ${run.error}` : ''}\n`);
      this.schedule(id);
    } catch {
      // Shown without a header until the daemon answers.
    }
  }

  private schedule(id: string): void {
    if (this.timers.has(id)) return;
    this.timers.set(
      id,
      setTimeout(() => {
        this.timers.delete(id);
        const uri = runLogUri(id);
        this.changed.fire(uri);
        for (const editor of vscode.window.visibleTextEditors) if (editor.document.uri.toString() === uri.toString()) setTimeout(() => this.reveal(editor), 50);
      }, 150),
    );
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
