import * as vscode from 'vscode';
import { CommandIds } from '../commandIds.js';
import { teamLook } from '../model/team.js';
import type { ExtensionServices } from '../services.js';
import type { TeamState } from '../teamState.js';
import { registerCommand } from './register.js';

/**
 * `zavhoz.team.status` ("Zavhoz: Team Status"): asks the daemon about team mode now and shows it: the team database,
 * this member, whether it answers, the schema, the members and what to do when something is wrong. Never a password.
 */
export function registerShowTeamStatus(context: vscode.ExtensionContext, services: ExtensionServices, team: TeamState): void {
  registerCommand(context, services.log, CommandIds.showTeamStatus, async () => {
    const status = await team.refresh();
    const look = teamLook(status);
    if (!look) {
      await vscode.window.showInformationMessage('Zavhoz: no team. This daemon keeps its state on this machine only.', {
        modal: true,
        detail: 'A team shares servers, allocations, runs and the audit log through one PostgreSQL database. Join one in a terminal: zavhoz team join postgres://user@host:5432/db --password-secret HANDLE',
      });
      return;
    }
    const show = look.warning ? vscode.window.showWarningMessage : vscode.window.showInformationMessage;
    await show(`Zavhoz ${look.line}`, { modal: true, detail: look.detail.join('\n') });
  });
}
