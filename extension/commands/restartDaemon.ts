import * as vscode from 'vscode';
import { DaemonShutdown } from '../../daemon/protocol/lifecycle.js';
import type { DaemonConnection } from '../daemonConnection.js';
import { CommandIds } from '../commandIds.js';

/** `zavhoz.daemon.restart`: stops the daemon if it answers, then connects again (starting a fresh one). */
export function registerRestartDaemon(context: vscode.ExtensionContext, connection: DaemonConnection): void {
  context.subscriptions.push(
    vscode.commands.registerCommand(CommandIds.restartDaemon, async () => {
      if (connection.state.kind === 'connected') {
        const client = connection.state.client;
        const closed = new Promise<void>((resolve) => client.onClose(resolve));
        await client.request(DaemonShutdown, {}).catch(() => undefined);
        await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, 10_000))]);
      }
      await connection.restart();
    }),
  );
}
