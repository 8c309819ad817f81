import * as vscode from 'vscode';
import { newClientRequestId } from '../../daemon/client/client.js';
import { type ServiceAction, ServicesControl, ServicesProgress } from '../../daemon/protocol/services.js';
import type { ServiceStatusTracker } from '../operations/serviceStatus.js';
import type { ExtensionServices } from '../services.js';
import { CommandIds } from '../commandIds.js';
import { registerCommand } from './register.js';
import { serviceTarget, targetName } from './servicePickers.js';

const WORDS: Readonly<Record<ServiceAction, { readonly doing: string; readonly done: string }>> = {
  restart: { doing: 'Restarting', done: 'restarted' },
  stop: { doing: 'Stopping', done: 'stopped' },
  start: { doing: 'Starting', done: 'started' },
};

/**
 * `zavhoz.service.restart|stop|start`: restarts, stops or starts a project's containers (or one service's) on its
 * server. The daemon holds the project like a deploy, so behind a running deploy the notification says what it
 * waits for; cancelling it while it waits gives up. Stop asks first: the project goes offline.
 */
export function registerControlServices(context: vscode.ExtensionContext, services: ExtensionServices, tracker: ServiceStatusTracker): void {
  const run = control(services, tracker);
  registerCommand(context, services.log, CommandIds.restartService, (argument: unknown) => run('restart', argument));
  registerCommand(context, services.log, CommandIds.stopService, (argument: unknown) => run('stop', argument));
  registerCommand(context, services.log, CommandIds.startService, (argument: unknown) => run('start', argument));
}

function control(services: ExtensionServices, tracker: ServiceStatusTracker): (action: ServiceAction, argument: unknown) => Promise<void> {
  return async (action, argument) => {
    const text = WORDS[action];
    const target = await serviceTarget(argument, tracker, { placeHolder: `What to ${action}`, servicesToo: true, deployedOnly: true });
    if (!target) return;
    const name = targetName(target);
    if (action === 'stop') {
      const choice = await vscode.window.showWarningMessage(`Stop ${name} on ${target.server}?`, { modal: true, detail: 'It stops answering until it is started again.' }, 'Stop');
      if (choice !== 'Stop') return;
    }
    const client = await services.connection.client();
    const requestId = newClientRequestId('vscode');
    const result = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Zavhoz: ${text.doing} ${name}`, cancellable: true },
      async (progress, token) => {
        const waiting = services.connection.onNotification(ServicesProgress, (notice) => {
          if (notice.requestId === requestId) progress.report({ message: `${notice.message}…` });
        });
        try {
          return await client.request(ServicesControl, { project: target.project, action, ...(target.module ? { module: target.module } : {}) }, { token, requestId });
        } finally {
          waiting.dispose();
        }
      },
    );
    tracker.refresh();
    services.log.info(`${action} ${name}: ${result.services.join(', ')}${result.waitedFor ? ` (waited for ${result.waitedFor})` : ''}`);
    void vscode.window.showInformationMessage(`Zavhoz: ${name} ${text.done} (${result.services.join(', ') || 'no services'}).`);
  };
}
