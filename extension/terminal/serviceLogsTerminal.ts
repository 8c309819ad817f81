import * as vscode from 'vscode';
import { CancellationTokenSource } from 'vscode-jsonrpc';
import { type DaemonClient, newClientRequestId } from '../../daemon/client/client.js';
import { ServicesLogLines, ServicesLogs } from '../../daemon/protocol/services.js';
import { errorMessage, isCancellation } from '../model/errors.js';
import { terminalLogText } from '../model/services.js';

/** Lines of history the terminal starts with, per container. */
export const LOGS_TERMINAL_TAIL = 200;

/**
 * A read-only VS Code terminal that follows a project's (or one service's) container logs: a `services/logs`
 * request with `follow`, whose lines arrive as `services/log` notifications tied to it by request id. The daemon
 * masks every vault value before a line leaves it; this side only prints what came. Closing the terminal cancels
 * the request, which stops the remote `docker logs`.
 */
export class ServiceLogsTerminal implements vscode.Pseudoterminal {
  private readonly writeEmitter = new vscode.EventEmitter<string>();
  private readonly cancel = new CancellationTokenSource();
  private readonly requestId = newClientRequestId('vscode');
  private subscription: { dispose(): void } | undefined;
  private closed = false;

  /** Log text for VS Code's terminal. */
  readonly onDidWrite = this.writeEmitter.event;

  constructor(
    private readonly client: DaemonClient,
    private readonly project: string,
    private readonly module: string | undefined,
    private readonly log: vscode.LogOutputChannel,
  ) {}

  open(): void {
    const name = this.module ? `${this.project}/${this.module}` : this.project;
    this.writeEmitter.fire(`\x1b[2mFollowing the logs of ${name} (vault values masked). Close the terminal to stop.\x1b[0m\r\n`);
    void this.follow();
  }

  /** Typing does nothing: the terminal only shows logs. */
  handleInput(): void {}

  close(): void {
    this.closed = true;
    this.cancel.cancel();
    this.subscription?.dispose();
    this.cancel.dispose();
  }

  private async follow(): Promise<void> {
    const prefixed = this.module === undefined;
    this.subscription = this.client.onNotification(ServicesLogLines, (notice) => {
      if (notice.requestId === this.requestId && !this.closed) this.writeEmitter.fire(terminalLogText(notice.lines, prefixed));
    });
    try {
      await this.client.request(
        ServicesLogs,
        { project: this.project, follow: true, tail: LOGS_TERMINAL_TAIL, ...(this.module ? { module: this.module } : {}) },
        { token: this.cancel.token, requestId: this.requestId },
      );
      if (!this.closed) this.writeEmitter.fire('\r\n\x1b[2m[The containers\' logs ended: they stopped or were recreated.]\x1b[0m\r\n');
    } catch (error) {
      if (this.closed || isCancellation(error)) return;
      this.log.warn(`logs of ${this.project}: ${errorMessage(error)}`);
      this.writeEmitter.fire(`\r\n\x1b[31m${errorMessage(error)}\x1b[0m\r\n`);
    } finally {
      this.subscription.dispose();
    }
  }
}
