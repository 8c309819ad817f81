import * as vscode from 'vscode';
import { errorDetail, errorMessage, isCancellation } from '../model/errors.js';
import { CommandIds, type CommandId } from '../commandIds.js';

/**
 * Registers a command whose failures reach the user as one error notification (with "Show Log") and one log
 * line, instead of an unhandled rejection. Messages come from the daemon already redacted.
 */
export function registerCommand(
  context: vscode.ExtensionContext,
  log: vscode.LogOutputChannel,
  id: CommandId,
  handler: (...args: unknown[]) => unknown,
): void {
  context.subscriptions.push(
    vscode.commands.registerCommand(id, async (...args: unknown[]) => {
      try {
        return await handler(...args);
      } catch (error) {
        if (isCancellation(error)) return undefined;
        // The log keeps the daemon's own wording (method, rule); the person reads theirs.
        const message = errorMessage(error);
        log.error(`${id}: ${errorDetail(error)}`);
        void vscode.window.showErrorMessage(`Zavhoz: ${message}`, 'Show Log').then((choice) => {
          if (choice === 'Show Log') void vscode.commands.executeCommand(CommandIds.showLog);
        });
        return undefined;
      }
    }),
  );
}
