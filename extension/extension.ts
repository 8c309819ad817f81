import * as vscode from 'vscode';
import { registerAddSecret } from './commands/addSecret.js';
import { registerAddServer } from './commands/addServer.js';
import { registerAllocateResources } from './commands/allocateResources.js';
import { registerCheckServerHealth } from './commands/checkServerHealth.js';
import { registerCopySecretHandle } from './commands/copySecretHandle.js';
import { registerDeleteSecret } from './commands/deleteSecret.js';
import { registerFilterServers } from './commands/filterServers.js';
import { registerGhostServersToggle } from './commands/ghostServers.js';
import { registerImportEnv } from './commands/importEnv.js';
import { registerMoveEnvValues } from './commands/moveEnvValues.js';
import { registerReleaseAllocation } from './commands/releaseAllocation.js';
import { registerRemoveServer } from './commands/removeServer.js';
import { registerRestartDaemon } from './commands/restartDaemon.js';
import { registerRevealSecret } from './commands/revealSecret.js';
import { registerRotateSecret } from './commands/rotateSecret.js';
import { registerServerGhost } from './commands/serverGhost.js';
import { registerShowLog } from './commands/showLog.js';
import { registerSyncServers } from './commands/syncServers.js';
import { registerTestNotification } from './commands/testNotification.js';
import { registerManageNotifications } from './commands/manageNotifications.js';
import { registerNotifyView } from './views/notifyView.js';
import { registerApprovalPrompts } from './approvalPrompts.js';
import { registerCancelDeploy } from './commands/cancelDeploy.js';
import { registerDeployProject } from './commands/deployProject.js';
import { registerOpenServerTerminal } from './commands/openServerTerminal.js';
import { registerOpenInRemoteSsh } from './commands/openInRemoteSsh.js';
import { registerPushCiSecrets } from './commands/pushCiSecrets.js';
import { registerPushSecretToGithub } from './commands/pushSecretToGithub.js';
import { registerShowDeployLog } from './commands/showDeployLog.js';
import { registerRunLogDocuments } from './deploy/logDocument.js';
import { RunLogs } from './deploy/runLogs.js';
import { registerRunsView } from './views/runsView.js';
import { registerFilterRuns } from './commands/filterRuns.js';
import { registerRetryDeploy } from './commands/retryDeploy.js';
import { registerDecideRun } from './commands/decideRun.js';
import { registerOpenWalkthrough } from './commands/openWalkthrough.js';
import { registerDeepLinks } from './deepLinks.js';
import { registerDeployPanel } from './webviews/deployPanel.js';
import { workspaceDefaults } from './workspace.js';
import { ContextKeyTracker } from './contextKeys.js';
import { DaemonConnection } from './daemonConnection.js';
import { forwardDaemonLog } from './daemonLog.js';
import { createLog } from './log.js';
import type { ExtensionServices } from './services.js';
import { StatusBar } from './statusBar.js';
import { TeamState } from './teamState.js';
import { teamLook } from './model/team.js';
import { registerShowTeamStatus } from './commands/showTeamStatus.js';
import { registerAllocationsView } from './views/allocationsView.js';
import { registerDaemonView } from './views/daemonView.js';
import { registerSecretsView } from './views/secretsView.js';
import { registerServersView } from './views/serversView.js';
import { registerSecretFormSerializer } from './webviews/secretForm.js';
import { registerAgentTools } from './agentTools/register.js';
import { registerControlServices } from './commands/controlServices.js';
import { registerOpenServiceUrl } from './commands/openServiceUrl.js';
import { registerRefreshServices } from './commands/refreshServices.js';
import { registerShowServiceLogs } from './commands/showServiceLogs.js';
import { registerRollbackRelease } from './commands/rollbackRelease.js';
import { registerUndeployProject } from './commands/undeployProject.js';
import { registerAddDomain } from './commands/addDomain.js';
import { ServiceStatusTracker } from './operations/serviceStatus.js';
import { ServicesStatusBar } from './servicesStatusBar.js';
import { registerServicesView } from './views/servicesView.js';

/**
 * Activation stays light: create the UI pieces and start connecting in the background. Views ask the daemon
 * for data only when VS Code shows them.
 */
export function activate(context: vscode.ExtensionContext): void {
  const log = createLog(context);
  const connection = new DaemonConnection(context, log);
  context.subscriptions.push(connection);
  const team = new TeamState(connection);
  context.subscriptions.push(team);
  const services: ExtensionServices = { connection, log, team };
  context.subscriptions.push(new ContextKeyTracker(connection, context.globalState));
  forwardDaemonLog(context, connection, log);

  registerShowLog(context, log);
  registerRestartDaemon(context, connection);
  registerDaemonView(context, connection, team);
  registerShowTeamStatus(context, services, team);

  const servers = registerServersView(context, services);
  registerAddServer(context, services);
  registerSyncServers(context, services);
  registerTestNotification(context, services);
  registerNotifyView(context, services);
  registerManageNotifications(context, services);
  registerApprovalPrompts(context, services);
  registerCheckServerHealth(context, services);
  registerServerGhost(context, services);
  registerRemoveServer(context, services);
  registerGhostServersToggle(context, services, servers);
  registerFilterServers(context, services, servers);
  registerOpenServerTerminal(context, services);
  registerOpenInRemoteSsh(context, services);

  const serviceStatus = new ServiceStatusTracker(connection);
  context.subscriptions.push(serviceStatus, new ServicesStatusBar(serviceStatus));
  registerServicesView(context, services, serviceStatus);
  registerRefreshServices(context, services, serviceStatus);
  registerControlServices(context, services, serviceStatus);
  registerShowServiceLogs(context, services, serviceStatus);
  registerOpenServiceUrl(context, services, serviceStatus);
  registerRollbackRelease(context, services, serviceStatus);
  registerUndeployProject(context, services, serviceStatus);
  registerAddDomain(context, services, serviceStatus);

  registerAllocationsView(context, services);
  registerAllocateResources(context, services);
  registerReleaseAllocation(context, services);

  const secrets = registerSecretsView(context, services);
  registerSecretFormSerializer(context, services);
  registerAddSecret(context, services);
  registerImportEnv(context, services);
  registerMoveEnvValues(context, services);
  registerRotateSecret(context, services);
  registerRevealSecret(context, services);
  registerCopySecretHandle(context, services);
  registerDeleteSecret(context, services);
  registerPushSecretToGithub(context, services);
  registerPushCiSecrets(context, services);

  const runLogs = new RunLogs(connection);
  context.subscriptions.push(runLogs);
  const logDocuments = registerRunLogDocuments(context, connection, runLogs);
  const statusBar = new StatusBar(connection, async () => (await workspaceDefaults()).project, context.workspaceState, logDocuments.onDidShowRun);
  context.subscriptions.push(statusBar, team.onDidChange((status) => statusBar.setTeam(teamLook(status))));
  const deployPanel = registerDeployPanel(context, services, runLogs, logDocuments);
  const runs = registerRunsView(context, services);
  registerFilterRuns(context, services, runs);
  registerRetryDeploy(context, services, logDocuments);
  registerDecideRun(context, services);
  registerDeepLinks(context, services, logDocuments, { secrets, servers, runs });
  registerOpenWalkthrough(context, services);
  registerDeployProject(context, services, logDocuments, deployPanel);
  registerShowDeployLog(context, services, logDocuments);
  registerCancelDeploy(context, services);
  registerAgentTools(context, services);

  connection.start();
}

/** Everything is disposed through `context.subscriptions`. */
export function deactivate(): void {}
