import { TextDecoder } from 'node:util';
import * as vscode from 'vscode';
import type { DaemonClient } from '../../daemon/client/client.js';
import { ShellClose, ShellOpen, ShellRead, ShellResize, ShellWrite } from '../../daemon/protocol/shell.js';
import { errorMessage } from '../model/errors.js';

/**
 * A VS Code terminal over a daemon-side SSH shell: the daemon logs in with the vault key and pinned host key;
 * this side only forwards keystrokes and screen output (pulled with `shell/read`). The extension never sees the
 * key. The session belongs to the daemon connection that opened it, so a daemon restart ends the terminal.
 */
export class SshTerminal implements vscode.Pseudoterminal {
  private readonly writeEmitter = new vscode.EventEmitter<string>();
  // eslint-disable-next-line @typescript-eslint/no-invalid-void-type -- the type of vscode.Pseudoterminal's onDidClose
  private readonly closeEmitter = new vscode.EventEmitter<number | void>();
  private readonly decoder = new TextDecoder('utf-8');
  private session: string | undefined;
  private ended = false;
  private writes: Promise<unknown> = Promise.resolve();

  /** Screen output for VS Code's terminal. */
  readonly onDidWrite = this.writeEmitter.event;
  /** Fires when the remote shell ends. */
  readonly onDidClose = this.closeEmitter.event;

  constructor(
    private readonly client: DaemonClient,
    private readonly server: string,
    private readonly log: vscode.LogOutputChannel,
  ) {}

  open(dimensions: vscode.TerminalDimensions | undefined): void {
    this.writeEmitter.fire(`Connecting to ${this.server} through the Zavhoz daemon…\r\n`);
    void this.start(dimensions);
  }

  handleInput(data: string): void {
    const session = this.session;
    if (!session || this.ended) return;
    // In order: keystrokes must not overtake each other.
    this.writes = this.writes.then(() => this.client.request(ShellWrite, { session, data }).catch(() => undefined));
  }

  setDimensions(dimensions: vscode.TerminalDimensions): void {
    const session = this.session;
    if (!session || this.ended) return;
    void this.client.request(ShellResize, { session, cols: dimensions.columns, rows: dimensions.rows }).catch(() => undefined);
  }

  close(): void {
    this.ended = true;
    const session = this.session;
    if (session) void this.client.request(ShellClose, { session }).catch(() => undefined);
  }

  private async start(dimensions: vscode.TerminalDimensions | undefined): Promise<void> {
    try {
      const opened = await this.client.request(ShellOpen, {
        server: this.server,
        // Without dimensions, the daemon opens a terminal of the protocol's default size.
        ...(dimensions ? { cols: dimensions.columns, rows: dimensions.rows } : {}),
      });
      this.session = opened.session;
      this.log.info(`ssh terminal to ${opened.server} (${opened.user}@${opened.host}) opened`);
      if (this.ended) { this.close(); return; }
      await this.pump(opened.session);
    } catch (error) {
      this.finish(`\r\n\x1b[31m${errorMessage(error)}\x1b[0m\r\n`, 1);
    }
  }

  private async pump(session: string): Promise<void> {
    for (;;) {
      const output = await this.client.request(ShellRead, { session });
      if (output.data) this.writeEmitter.fire(this.decoder.decode(Buffer.from(output.data, 'base64'), { stream: true }));
      if (output.closed) {
        const code = output.exitCode;
        this.finish(`\r\n[Connection to ${this.server} closed${code === null ? '' : `, exit code ${code}`}]\r\n`, code ?? 0);
        return;
      }
      if (this.ended) return;
    }
  }

  private finish(message: string, code: number): void {
    if (!this.ended) this.writeEmitter.fire(message);
    this.ended = true;
    this.log.info(`ssh terminal to ${this.server} ended`);
    this.closeEmitter.fire(code);
  }
}
