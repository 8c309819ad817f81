import * as vscode from 'vscode';
import { EXTENSION_ID } from '../model/deepLinks.js';
import type { ExtensionServices } from '../services.js';
import { CommandIds } from '../commandIds.js';
import { registerCommand } from './register.js';

/** `zavhoz.walkthrough.open`: opens the Getting Started walkthrough (add a server, a secret, deploy, push CI secrets). */
export function registerOpenWalkthrough(context: vscode.ExtensionContext, services: ExtensionServices): void {
  registerCommand(context, services.log, CommandIds.openWalkthrough, () =>
    vscode.commands.executeCommand('workbench.action.openWalkthrough', `${EXTENSION_ID}#gettingStarted`, false),
  );
}
