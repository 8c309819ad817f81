import * as vscode from 'vscode';
import type { EnvPlan, MissingVariable } from '../../daemon/protocol/env.js';
import { DEFAULT_REF, DeployStart } from '../../daemon/protocol/runs.js';
import { SECRET_TYPES, type SecretType, SecretsList, SecretsSet } from '../../daemon/protocol/secrets.js';
import type { RunLogDocuments } from '../deploy/logDocument.js';
import { planDeploy, rememberBindings, rememberedBindings, startDeploy } from '../deploy/deployStarter.js';
import type { ExtensionServices } from '../services.js';
import type { DeployPanelOpener } from '../webviews/deployPanel.js';
import { askHumanThroughForm } from '../webviews/secretRequest.js';
import { workspaceDefaults, type WorkspaceDefaults } from '../workspace.js';
import { CommandIds } from '../commandIds.js';
import { registerCommand } from './register.js';
import { fieldValidator } from './validate.js';
import { askSecretValue } from './secretInput.js';

const base = { folder: '/', project: 'p', repository: 'o/r' };

/** Opens the secret form for one variable and answers the handle the human saved there. */
type AskForm = ReturnType<typeof askHumanThroughForm>;

/**
 * `zavhoz.deploy.start`: deploys the workspace folder with defaults from the workspace (project from the folder,
 * OWNER/REPO from the git remote, the checked-out branch), binding missing variables on the way; or opens the
 * deploy panel for modules, resources and the env table.
 */
export function registerDeployProject(
  context: vscode.ExtensionContext,
  services: ExtensionServices,
  logs: RunLogDocuments,
  panel: DeployPanelOpener,
): void {
  const askForm = askHumanThroughForm(context, services);
  registerCommand(context, services.log, CommandIds.deployProject, async () => {
    const defaults = await workspaceDefaults();
    if (!defaults.folder) {
      void vscode.window.showWarningMessage('Zavhoz deploys the open workspace folder: open your project folder first.');
      return;
    }
    const ref = defaults.branch ?? DEFAULT_REF;
    const quick = defaults.project && defaults.repository;
    const items = [
      ...(quick ? [{ label: `$(rocket) Deploy ${defaults.project}`, description: `${defaults.repository}@${ref}`, action: 'quick' as const }] : []),
      { label: '$(edit) Deploy with Other Settings…', description: 'choose project, repository and ref', action: 'custom' as const },
      { label: '$(window) Open Deploy Panel…', description: 'modules, resources and the environment table', action: 'panel' as const },
    ];
    const picked = await vscode.window.showQuickPick(items, { title: 'Deploy Project', placeHolder: `Deploy ${defaults.folder.fsPath}` });
    if (!picked) return;
    if (picked.action === 'panel') { panel.open(); return; }
    const target = picked.action === 'quick' ? { project: defaults.project ?? '', repository: defaults.repository ?? '', ref } : await askTarget(defaults, ref);
    if (!target) return;
    let bindings = rememberedBindings(context.workspaceState, target.project);
    let plan = await planDeploy(services, defaults.folder.fsPath, target.project, bindings);
    while (!plan.ready) {
      const added = await bindMissing(services, askForm, plan, target.project);
      if (added === 'panel') { panel.open({ project: target.project, repository: target.repository, ref: target.ref }); return; }
      if (!added) return;
      bindings = { ...bindings, ...added };
      plan = await planDeploy(services, defaults.folder.fsPath, target.project, bindings);
    }
    await rememberBindings(context.workspaceState, target.project, bindings);
    const run = await startDeploy(services, defaults, { ...target, bindings });
    await logs.show(run.id);
  });
}

async function askTarget(defaults: WorkspaceDefaults, ref: string): Promise<{ project: string; repository: string; ref: string } | undefined> {
  const title = 'Deploy Project';
  const project = await vscode.window.showInputBox({ title, prompt: 'Project', value: defaults.project ?? '', ignoreFocusOut: true, validateInput: fieldValidator(DeployStart, base, 'project') });
  if (!project) return undefined;
  const repository = await vscode.window.showInputBox({
    title,
    prompt: 'GitHub repository (OWNER/REPO)',
    value: defaults.repository ?? '',
    ignoreFocusOut: true,
    validateInput: fieldValidator(DeployStart, base, 'repository'),
  });
  if (!repository) return undefined;
  const chosenRef = await vscode.window.showInputBox({ title, prompt: 'Branch, tag or commit', value: ref, ignoreFocusOut: true, validateInput: fieldValidator(DeployStart, base, 'ref') });
  if (!chosenRef) return undefined;
  return { project: project.trim(), repository: repository.trim(), ref: chosenRef.trim() };
}

/**
 * Asks, for each missing user variable, which vault secret to bind (or creates one through a masked InputBox).
 * Answers the new bindings, `panel` to continue in the deploy panel, or undefined if dismissed.
 */
async function bindMissing(services: ExtensionServices, askForm: AskForm, plan: EnvPlan, project: string): Promise<Record<string, string> | 'panel' | undefined> {
  const secrets = await services.connection.listAll(SecretsList, {}, (page) => page.secrets);
  const added: Record<string, string> = {};
  for (const [index, missing] of plan.missing.entries()) {
    const title = `Bind ${missing.name} (${index + 1}/${plan.missing.length})`;
    const candidates = secrets
      .slice()
      .sort((a, b) => Number(b.project === project) - Number(a.project === project) || Number(b.name === missing.name) - Number(a.name === missing.name));
    const items = [
      { label: `$(add) New Secret ${missing.name}…`, description: `type ${missing.type}, project ${project}`, action: 'new' as const, handle: undefined },
      ...candidates.map((secret) => ({
        label: secret.name,
        description: `${secret.handle} · ${secret.project ?? 'shared'}`,
        action: 'bind' as const,
        handle: secret.handle,
      })),
      { label: '$(window) Bind in the Deploy Panel…', description: 'multi-line values and the full table', action: 'panel' as const, handle: undefined },
    ];
    const picked = await vscode.window.showQuickPick(items, {
      title,
      placeHolder: `${missing.name} has no value yet: pick a vault secret for it`,
      ignoreFocusOut: true,
      matchOnDescription: true,
    });
    if (!picked) return undefined;
    if (picked.action === 'panel') return 'panel';
    if (picked.handle) {
      added[missing.name] = picked.handle;
      continue;
    }
    const created = await createSecretFor(services, askForm, missing, project, title);
    if (!created) return undefined;
    added[missing.name] = created;
  }
  return added;
}

async function createSecretFor(
  services: ExtensionServices,
  askForm: AskForm,
  missing: MissingVariable,
  project: string,
  title: string,
): Promise<string | undefined> {
  // A daemon of another version may suggest a type this one does not know.
  const type: SecretType = SECRET_TYPES.includes(missing.type) ? missing.type : 'token';
  if (type === 'text' || type === 'private_key') {
    // An InputBox is one line: multi-line values (keys, certificates) go through the secret form, and the deploy
    // goes on once the human saved it there.
    const answer = await askForm({ name: missing.name, type, project, category: 'other' }, new AbortController().signal);
    return answer.kind === 'saved' ? answer.handle : undefined;
  }
  const value = await askSecretValue({ title, prompt: `Value of ${missing.name} (stored in the OS keychain for project ${project})` });
  if (!value) return undefined;
  const saved = await services.connection.request(SecretsSet, { name: missing.name, type, value, project, category: 'other' });
  return saved.handle;
}
