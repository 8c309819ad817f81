import * as vscode from 'vscode';
import { DomainsAdd } from '../../daemon/protocol/domains.js';
import type { ServiceStatusTracker } from '../operations/serviceStatus.js';
import type { ExtensionServices } from '../services.js';
import { CommandIds } from '../commandIds.js';
import { registerCommand } from './register.js';
import { serviceTarget } from './servicePickers.js';

/**
 * `zavhoz.domain.add`: routes a domain to a deployed project (the one whose node it was called on, or one picked)
 * through the proxy on its server, with automatic HTTPS; the answer says what was done and what needs the user.
 */
export function registerAddDomain(context: vscode.ExtensionContext, services: ExtensionServices, tracker: ServiceStatusTracker): void {
  registerCommand(context, services.log, CommandIds.addDomain, async (argument: unknown) => {
    const target = await serviceTarget(argument, tracker, { placeHolder: 'Project the domain routes to', servicesToo: false, deployedOnly: true });
    if (!target) return;
    const domain = await vscode.window.showInputBox({
      title: `Add a domain to ${target.project}`,
      prompt: 'The name the proxy on its server answers with HTTPS, e.g. shop.example.com',
      placeHolder: 'shop.example.com',
      ignoreFocusOut: true,
      validateInput: (value) => (/^(\*\.)?[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+\.?$/.test(value.trim()) ? undefined : 'A domain name like shop.example.com'),
    });
    if (!domain) return;
    const change = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Zavhoz: adding ${domain.trim()} to ${target.project}` },
      () => services.connection.request(DomainsAdd, { domain: domain.trim(), project: target.project }),
    );
    const message = `${change.domain.domain} routes to ${change.domain.project}/${change.domain.module}: ${change.domain.url}`;
    services.log.info(`domain add: ${message}${change.warnings.length > 0 ? `; ${change.warnings.join('; ')}` : ''}`);
    const open = 'Open';
    const choice =
      change.warnings.length > 0
        ? await vscode.window.showWarningMessage(`Zavhoz: ${message}`, { detail: change.warnings.join('\n') }, open)
        : await vscode.window.showInformationMessage(`Zavhoz: ${message}`, open);
    if (choice === open) await vscode.env.openExternal(vscode.Uri.parse(change.domain.url));
  });
}
