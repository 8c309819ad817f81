import * as vscode from 'vscode';
import { AGENT_CLIENT_NAME, AGENT_TOOLS, AGENT_MODE_CONTEXT_KEY, confirmationFor, runTool } from '../../daemon/agent/catalogue.js';
import { SettingsDidChange, SettingsGet } from '../../daemon/protocol/settings.js';
import { AgentDaemonLink } from '../../daemon/agent/link.js';
import type { AgentDefaults, AgentEnvironment, CommandConfirmer } from '../../daemon/agent/tool.js';
import { commandLineText } from '../../daemon/protocol/agent.js';
import { DaemonClient } from '../../daemon/client/client.js';
import { resolveDataFolder, ZAVHOZ_VERSION } from '../../daemon/client/defaults.js';
import type { ExtensionServices } from '../services.js';
import { workspaceDefaults } from '../workspace.js';
import { askHumanThroughForm } from '../webviews/secretRequest.js';

/** An AbortSignal that follows a VS Code cancellation token. */
function signalOf(token: vscode.CancellationToken): AbortSignal {
  const controller = new AbortController();
  if (token.isCancellationRequested) controller.abort();
  else token.onCancellationRequested(() => controller.abort());
  return controller.signal;
}

/** What the open workspace gives the tools as defaults: its folder, GitHub repository, clone URL and token handle. */
async function defaults(): Promise<AgentDefaults> {
  const workspace = await workspaceDefaults();
  return {
    ...(workspace.folder?.scheme === 'file' ? { folder: workspace.folder.fsPath } : {}),
    ...(workspace.repository ? { repository: workspace.repository } : {}),
    ...(workspace.repoUrl ? { repoUrl: workspace.repoUrl } : {}),
    ...(workspace.gitTokenSecret ? { gitToken: workspace.gitTokenSecret } : {}),
  };
}

/**
 * Asks the human, in a modal, before an agent runs a new command line with a project's secrets; the answer is
 * remembered for the project (listed and revoked with `zavhoz agent commands`).
 */
const confirmCommandInModal: CommandConfirmer = {
  through: 'vscode-modal',
  async ask(ask) {
    const allow = 'Allow This Command';
    const choice = await vscode.window.showWarningMessage(
      `Let an agent run \`${commandLineText(ask.command)}\` with the secrets of ${ask.project}?`,
      {
        modal: true,
        detail:
          `Folder: ${ask.folder}\nSecrets in its environment: ${ask.secrets.length > 0 ? ask.secrets.join(', ') : 'none of its own yet'}\n\n` +
          'Its output reaches the agent with these values masked, but a command can transform a value on purpose: allow only commands you trust. ' +
          'Allowed, this exact command line may run again for this project without asking (zavhoz agent commands revokes it).',
      },
      allow,
    );
    return choice === allow ? 'approved' : 'declined';
  },
};

/**
 * Keeps the context key the tools' `when` clauses in package.json read (`zavhoz.agentMode`) equal to the agentMode
 * setting, so chat offers only the tools the mode allows; until the daemon answers, the key is unset and only read
 * tools are offered. Calls are checked against the mode again when they run.
 */
function followAgentMode(context: vscode.ExtensionContext, services: ExtensionServices): void {
  const show = async (): Promise<void> => {
    try {
      const settings = await services.connection.request(SettingsGet, {});
      await vscode.commands.executeCommand('setContext', AGENT_MODE_CONTEXT_KEY, settings.agentMode);
    } catch (error) {
      services.log.warn(`agent tools: could not read the agent mode (${error instanceof Error ? error.message : String(error)})`);
    }
  };
  context.subscriptions.push(
    services.connection.onNotification(SettingsDidChange, (change) => {
      if (change.key === 'agentMode') void show();
    }),
    services.connection.onDidChangeState((state) => {
      if (state.kind === 'connected') void show();
    }),
  );
  void show();
}

/**
 * Registers the Zavhoz language model tools (declared in package.json `languageModelTools`). They share the tool
 * catalogue with `zavhoz mcp`, talk to the daemon on a connection of their own named `agent` (so the audit log says
 * who acted), ask the human before a deploy or a CI secret push, and ask for secret values through the secret form.
 */
export function registerAgentTools(context: vscode.ExtensionContext, services: ExtensionServices): void {
  const daemon = new AgentDaemonLink(async () => {
    // The extension's own connection starts the daemon when none runs; the agent connection then joins it.
    await services.connection.client();
    return DaemonClient.connect({ folder: resolveDataFolder(), clientName: AGENT_CLIENT_NAME, clientVersion: ZAVHOZ_VERSION });
  });
  context.subscriptions.push({ dispose: () => daemon.close() });
  const askHuman = askHumanThroughForm(context, services);
  const environment = async (): Promise<AgentEnvironment> => ({ daemon, frontEnd: 'vscode', defaults: await defaults(), askHuman, confirmCommand: confirmCommandInModal });
  followAgentMode(context, services);

  for (const tool of AGENT_TOOLS) {
    context.subscriptions.push(
      vscode.lm.registerTool<object>(tool.name, {
        async prepareInvocation(options, token) {
          const confirmation = await confirmationFor(tool.name, options.input, await environment(), signalOf(token));
          return {
            invocationMessage: `Zavhoz: ${tool.title}`,
            ...(confirmation ? { confirmationMessages: { title: confirmation.title, message: new vscode.MarkdownString(confirmation.message) } } : {}),
          };
        },
        async invoke(options, token) {
          const outcome = await runTool(tool.name, options.input, await environment(), signalOf(token));
          if (outcome.isError) services.log.warn(`agent tool ${tool.name}: ${outcome.text.split('\n')[0] ?? ''}`);
          return new vscode.LanguageModelToolResult([new vscode.LanguageModelTextPart(outcome.text)]);
        },
      }),
    );
  }
}
