import crypto from 'node:crypto';
import * as vscode from 'vscode';
import type * as z from 'zod';
import type { EventMessage, InitMessage, RequestTable, WebviewReply } from '../../webview/messages.js';
import { FieldError, describeRule, userMessage } from '../../daemon/client/userMessages.js';
import { errorDetail } from '../model/errors.js';
import { webviewHtml } from '../model/webviewHtml.js';

/** How the extension answers one webview request: a schema for its params (the page is a boundary) and a handler. */
export interface RequestHandler<P, R> {
  readonly params: z.ZodType<P>;
  handle(params: P): Promise<R> | R;
}

/** One handler per request of a panel's table. */
export type RequestHandlers<Requests extends RequestTable> = {
  readonly [M in keyof Requests]: RequestHandler<Requests[M]['params'], Requests[M]['result']>;
};

/** Options every Zavhoz webview panel is created with: scripts on, resources only from the built webview folder. */
export function webviewOptions(extensionUri: vscode.Uri): vscode.WebviewPanelOptions & vscode.WebviewOptions {
  return {
    enableScripts: true,
    enableCommandUris: false,
    localResourceRoots: [vscode.Uri.joinPath(extensionUri, 'dist', 'webview')],
    retainContextWhenHidden: false,
  };
}

/**
 * The extension side of a webview: writes the page (CSP with a fresh nonce per load), answers `ready` with the
 * initial state, validates and dispatches requests, and pushes events. It logs method names only, never
 * params: a request may carry a secret value on its way to the daemon.
 */
export class WebviewHost<Init, Requests extends RequestTable, Events extends Record<string, unknown>> implements vscode.Disposable {
  private readonly disposables: vscode.Disposable[] = [];
  private ready = false;

  constructor(
    readonly panel: vscode.WebviewPanel,
    extensionUri: vscode.Uri,
    entry: string,
    private readonly options: {
      readonly init: () => Promise<Init> | Init;
      readonly handlers: RequestHandlers<Requests>;
      readonly log: vscode.LogOutputChannel;
    },
  ) {
    const webview = panel.webview;
    webview.options = webviewOptions(extensionUri);
    const folder = vscode.Uri.joinPath(extensionUri, 'dist', 'webview');
    webview.html = webviewHtml({
      title: panel.title,
      cspSource: webview.cspSource,
      nonce: crypto.randomBytes(16).toString('base64'),
      scriptUri: webview.asWebviewUri(vscode.Uri.joinPath(folder, `${entry}.js`)).toString(),
      styleUri: webview.asWebviewUri(vscode.Uri.joinPath(folder, `${entry}.css`)).toString(),
    });
    this.disposables.push(webview.onDidReceiveMessage((message: unknown) => void this.receive(message)));
  }

  /** True once the page said `ready` and got its state. */
  get isReady(): boolean {
    return this.ready;
  }

  /** Pushes an event to the page (dropped if the page is not listening yet: `init` carries the state then). */
  notify<E extends keyof Events & string>(event: E, data: Events[E]): void {
    if (!this.ready) return;
    const message: EventMessage<E, Events[E]> = { type: 'event', event, data };
    void this.panel.webview.postMessage(message);
  }

  dispose(): void {
    for (const disposable of this.disposables) disposable.dispose();
  }

  private async receive(message: unknown): Promise<void> {
    if (typeof message !== 'object' || message === null) return;
    const candidate = message as { type?: unknown; id?: unknown; method?: unknown; params?: unknown };
    if (candidate.type === 'ready') {
      const state = await this.options.init();
      this.ready = true;
      const init: InitMessage<Init> = { type: 'init', state };
      await this.panel.webview.postMessage(init);
      return;
    }
    if (candidate.type !== 'request' || typeof candidate.id !== 'number' || typeof candidate.method !== 'string') return;
    const id = candidate.id;
    const method = candidate.method;
    let reply: WebviewReply;
    try {
      if (!Object.prototype.hasOwnProperty.call(this.options.handlers, method)) throw new Error(`Unknown request ${method}.`);
      const handler = this.options.handlers[method as keyof Requests] as RequestHandler<unknown, unknown>;
      const parsed = handler.params.safeParse(candidate.params);
      // Zod's issues name fields and rules, never their contents (a value could be in them). The page's fields are
      // the request's (a draft's `name` is the form's Name), so the first issue is shown next to its field.
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        const path = (issue?.path ?? []).map(String).filter((segment) => segment !== 'draft');
        const described = describeRule(path.join('.') || 'params', issue?.message ?? 'not valid');
        throw new FieldError(described.text, described.field);
      }
      reply = { type: 'reply', id, result: await handler.handle(parsed.data) };
    } catch (error) {
      this.options.log.warn(`webview ${this.panel.viewType} request ${method} failed: ${errorDetail(error)}`);
      const shown = userMessage(error);
      reply = { type: 'reply', id, error: shown.text, ...(shown.field === undefined ? {} : { errorField: shown.field }) };
    }
    await this.panel.webview.postMessage(reply);
  }
}
