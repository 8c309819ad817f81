import * as vscode from 'vscode';
import * as z from 'zod';
import { ReleasesGet } from '../../daemon/protocol/releases.js';
import { DEFAULT_REF, type RunDetail, RunsCancel, RunsDidChange, RunsGet } from '../../daemon/protocol/runs.js';
import { SECRET_TYPES, SecretsDidChange, type SecretType, SecretsList } from '../../daemon/protocol/secrets.js';
import type { DeployEvents, DeployForm, DeployInit, DeployPanelState, DeployRequests, PlanView, RunView, SecretChoice } from '../../webview/messages.js';
import { CommandIds } from '../commandIds.js';
import type { RunLogDocuments } from '../deploy/logDocument.js';
import type { RunLogs } from '../deploy/runLogs.js';
import { panelPlan, rememberBindings, rememberedBindings, startDeploy } from '../deploy/deployStarter.js';
import { runView } from '../model/deployView.js';
import type { ExtensionServices } from '../services.js';
import { workspaceDefaults } from '../workspace.js';
import { WebviewHost } from './host.js';
import { newSecretDraft, SecretFormPanel } from './secretForm.js';

/** The view type of the deploy panel (its serializer restores it after a reload). */
export const DEPLOY_VIEW_TYPE = 'zavhoz.deploy';

// A form saved before the modules came from the compose files may hold `modules`, `minRamMb`, `minDiskMb`: dropped.
const formSchema = z.object({
  project: z.string().max(64).catch(''),
  repository: z.string().max(200).catch(''),
  ref: z.string().max(200).catch(DEFAULT_REF),
});
const bindingsSchema = z.record(z.string().max(128), z.string().max(64)).catch({});
const stateSchema = z.object({ form: formSchema, bindings: bindingsSchema, runId: z.string().max(64).catch('') });
const deployParams = z.strictObject({ form: formSchema, bindings: bindingsSchema });

/** Opens the deploy panel from commands. */
export interface DeployPanelOpener {
  open(form?: Partial<DeployForm>): void;
}

/**
 * The deploy panel: project, repository and ref; the modules the compose files publish with their allocations
 * (`deploy/plan`: the deploy allocates them, as from the CLI); the env plan as a table with a secret picker
 * per user variable ("New secret…" opens the secret form); Deploy / Cancel; the live log with steps; the result
 * URLs. Only non-secret state (form, bindings as handles, run id) is kept and restored.
 */
export class DeployPanel {
  private static current: DeployPanel | undefined;
  private readonly host: WebviewHost<DeployInit, DeployRequests, DeployEvents>;
  private state: DeployPanelState;
  private sentLines = 0;

  private constructor(
    readonly panel: vscode.WebviewPanel,
    private readonly context: vscode.ExtensionContext,
    private readonly services: ExtensionServices,
    private readonly runLogs: RunLogs,
    documents: RunLogDocuments,
    state: DeployPanelState,
  ) {
    this.state = state;
    panel.iconPath = vscode.Uri.joinPath(context.extensionUri, 'media', 'zavhoz.svg');
    this.host = new WebviewHost<DeployInit, DeployRequests, DeployEvents>(panel, context.extensionUri, 'deploy', {
      log: services.log,
      init: () => this.initialState(),
      handlers: {
        plan: { params: deployParams, handle: (params) => this.plan(params.form, params.bindings) },
        newSecret: {
          params: z.strictObject({ variable: z.string().max(128), type: z.enum(SECRET_TYPES).catch('password'), project: z.string().max(64) }),
          handle: (params) => this.newSecret(params.variable, params.type, params.project),
        },
        deploy: { params: deployParams, handle: (params) => this.deploy(params.form, params.bindings) },
        cancel: { params: z.strictObject({ runId: z.string().max(64) }), handle: async (params) => (await services.connection.request(RunsCancel, { id: params.runId }), {}) },
        openUrl: {
          params: z.strictObject({ url: z.string().regex(/^https?:\/\/[^\s]+$/) }),
          handle: async (params) => (await vscode.env.openExternal(vscode.Uri.parse(params.url)), {}),
        },
        openLog: { params: z.strictObject({ runId: z.string().max(64) }), handle: async (params) => (await documents.show(params.runId), {}) },
        rollback: { params: z.strictObject({ project: z.string().max(64) }), handle: (params) => this.rollback(params.project) },
      },
    });
    const subscriptions = [
      services.connection.onNotification(RunsDidChange, ({ id }) => {
        if (id === this.state.runId) void this.pushRun();
      }),
      services.connection.onNotification(SecretsDidChange, () => void this.pushSecrets()),
      runLogs.onDidChange((id) => {
        if (id === this.state.runId) this.pushLog();
      }),
    ];
    panel.onDidDispose(() => {
      for (const subscription of subscriptions) subscription.dispose();
      this.host.dispose();
      if (DeployPanel.current === this) DeployPanel.current = undefined;
    });
  }

  /** Opens (or reveals) the panel with workspace defaults and remembered bindings. */
  static async show(
    context: vscode.ExtensionContext,
    services: ExtensionServices,
    runLogs: RunLogs,
    documents: RunLogDocuments,
    form: Partial<DeployForm> = {},
  ): Promise<void> {
    const existing = DeployPanel.current;
    if (existing) { existing.panel.reveal(); return; }
    const defaults = await workspaceDefaults();
    const project = form.project ?? defaults.project ?? '';
    const state: DeployPanelState = {
      form: formSchema.parse({ project, repository: defaults.repository ?? '', ref: defaults.branch ?? DEFAULT_REF, ...form }),
      bindings: rememberedBindings(context.workspaceState, project),
      runId: '',
    };
    const panel = vscode.window.createWebviewPanel(DEPLOY_VIEW_TYPE, 'Deploy Project', vscode.ViewColumn.Active, {});
    DeployPanel.current = new DeployPanel(panel, context, services, runLogs, documents, state);
  }

  /** Re-attaches a panel VS Code restored after a reload, from its non-secret state. */
  static restore(panel: vscode.WebviewPanel, context: vscode.ExtensionContext, services: ExtensionServices, runLogs: RunLogs, documents: RunLogDocuments, saved: unknown): void {
    DeployPanel.current?.panel.dispose();
    const parsed = stateSchema.safeParse(saved);
    const state: DeployPanelState = parsed.success ? parsed.data : stateSchema.parse({ form: {}, bindings: {}, runId: '' });
    DeployPanel.current = new DeployPanel(panel, context, services, runLogs, documents, state);
  }

  private async initialState(): Promise<DeployInit> {
    const defaults = await workspaceDefaults();
    const folder = defaults.folder?.fsPath ?? '';
    const [secrets, plan, run] = await Promise.all([
      this.secretChoices(),
      this.plan(this.state.form, this.state.bindings),
      this.state.runId ? this.fetchRun(this.state.runId) : Promise.resolve(undefined),
    ]);
    const lines = run ? (await this.runLogs.ready(run.id)).lines : [];
    this.sentLines = lines.length;
    return { state: this.state, folder, secrets, plan, ...(run ? { run: await this.viewOf(run) } : {}), lines: [...lines] };
  }

  private async secretChoices(): Promise<SecretChoice[]> {
    try {
      const secrets = await this.services.connection.listAll(SecretsList, {}, (page) => page.secrets);
      return secrets.map((secret) => ({ handle: secret.handle, name: secret.name, project: secret.project ?? '', type: secret.type }));
    } catch {
      return [];
    }
  }

  private async plan(form: DeployForm, bindings: Readonly<Record<string, string>>): Promise<PlanView> {
    this.state = { ...this.state, form, bindings };
    return panelPlan(this.services, (await workspaceDefaults()).folder?.fsPath, form.project, bindings);
  }

  private newSecret(variable: string, type: SecretType, project: string): Record<string, never> {
    const draft = newSecretDraft({ name: variable, type, project, category: 'other' });
    SecretFormPanel.show(this.context, this.services, draft, (saved) => {
      this.state = { ...this.state, bindings: { ...this.state.bindings, [variable]: saved.handle } };
      this.host.notify('bound', { variable, handle: saved.handle });
      this.panel.reveal(undefined, true);
    });
    return {};
  }

  private async deploy(form: DeployForm, bindings: Readonly<Record<string, string>>): Promise<{ runId: string }> {
    const defaults = await workspaceDefaults();
    await rememberBindings(this.context.workspaceState, form.project, bindings);
    // The run allocates the modules the compose files publish (one code path in the daemon, as for the CLI).
    const run = await startDeploy(this.services, defaults, { project: form.project, repository: form.repository, ref: form.ref, bindings });
    this.state = { form, bindings, runId: run.id };
    this.sentLines = 0;
    this.runLogs.get(run.id);
    this.host.notify('run', runView(run));
    return { runId: run.id };
  }

  private async fetchRun(id: string): Promise<RunDetail | undefined> {
    try {
      return await this.services.connection.request(RunsGet, { id });
    } catch {
      return undefined;
    }
  }

  private async pushRun(): Promise<void> {
    const run = await this.fetchRun(this.state.runId);
    if (run) this.host.notify('run', await this.viewOf(run));
  }

  /** The run as the panel shows it, with the release it recorded (when the daemon has releases). */
  private async viewOf(run: RunDetail): Promise<RunView> {
    if (!run.releaseId) return runView(run);
    try {
      return runView(run, await this.services.connection.request(ReleasesGet, { id: run.releaseId }));
    } catch {
      return runView(run);
    }
  }

  /** Rolls the project back (the command asks the human first) and follows the rollback run here. */
  private async rollback(project: string): Promise<{ runId?: string }> {
    const runId = await vscode.commands.executeCommand<string | undefined>(CommandIds.rollbackRelease, { project });
    if (!runId) return {};
    this.state = { ...this.state, runId };
    this.sentLines = 0;
    this.runLogs.get(runId);
    await this.pushRun();
    return { runId };
  }

  private async pushSecrets(): Promise<void> {
    this.host.notify('secrets', await this.secretChoices());
  }

  private pushLog(): void {
    const lines = this.runLogs.get(this.state.runId).lines;
    if (lines.length <= this.sentLines) return;
    this.host.notify('log', { runId: this.state.runId, from: this.sentLines, lines: lines.slice(this.sentLines) });
    this.sentLines = lines.length;
  }
}

/** Registers the deploy panel's serializer and answers the opener commands use. */
export function registerDeployPanel(context: vscode.ExtensionContext, services: ExtensionServices, runLogs: RunLogs, documents: RunLogDocuments): DeployPanelOpener {
  context.subscriptions.push(
    vscode.window.registerWebviewPanelSerializer(DEPLOY_VIEW_TYPE, {
      deserializeWebviewPanel: (panel, state: unknown) => {
        DeployPanel.restore(panel, context, services, runLogs, documents, state);
        return Promise.resolve();
      },
    }),
  );
  return { open: (form) => void DeployPanel.show(context, services, runLogs, documents, form) };
}
