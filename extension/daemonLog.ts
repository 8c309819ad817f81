import * as vscode from 'vscode';
import { DaemonLog, DaemonLogSubscribe, DaemonWillShutdown } from '../daemon/protocol/lifecycle.js';
import type { DaemonConnection } from './daemonConnection.js';
import { errorMessage, isMethodNotFound } from './model/errors.js';
import { formatDaemonLine } from './model/daemonLog.js';

/**
 * Forwards the daemon's (already redacted) log lines into the "Zavhoz" channel with a `[daemon]` prefix. The
 * subscription is per connection, so it is asked for again after every reconnect; a daemon without the
 * subscription is tolerated (its lines stay in its own log file).
 */
export function forwardDaemonLog(context: vscode.ExtensionContext, connection: DaemonConnection, log: vscode.LogOutputChannel): void {
  context.subscriptions.push(
    connection.onNotification(DaemonLog, ({ line }) => {
      const forwarded = formatDaemonLine(line);
      log[forwarded.level](forwarded.text);
    }),
    connection.onNotification(DaemonWillShutdown, ({ reason }) => log.info(`[daemon] stopping: ${reason}`)),
    connection.onDidChangeState((state) => {
      if (state.kind !== 'connected') return;
      state.client.request(DaemonLogSubscribe, {}).catch((error: unknown) => {
        if (isMethodNotFound(error)) log.debug('this daemon does not stream its log; see daemon.log in its data folder');
        else log.warn(`could not subscribe to the daemon log: ${errorMessage(error)}`);
      });
    }),
  );
}
