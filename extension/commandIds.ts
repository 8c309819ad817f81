/**
 * Every command id the extension registers, in one place: package.json declares the same set (a unit test
 * compares them), and menus match tree items by these ids.
 */
export const CommandIds = {
  // Palette commands (issue 7).
  deployProject: 'zavhoz.deploy.start',
  allocateResources: 'zavhoz.allocation.create',
  addServer: 'zavhoz.server.add',
  syncServers: 'zavhoz.server.sync',
  checkServerHealth: 'zavhoz.server.checkHealth',
  addSecret: 'zavhoz.secret.add',
  importEnv: 'zavhoz.secret.importEnv',
  moveEnvValues: 'zavhoz.secret.moveEnvValues',
  rotateSecret: 'zavhoz.secret.rotate',
  pushCiSecrets: 'zavhoz.github.pushSecrets',
  showDeployLog: 'zavhoz.deploy.showLog',
  cancelDeploy: 'zavhoz.deploy.cancel',
  restartDaemon: 'zavhoz.daemon.restart',
  showLog: 'zavhoz.log.show',
  // Tree item and view title actions.
  copySecretHandle: 'zavhoz.secret.copyHandle',
  revealSecret: 'zavhoz.secret.reveal',
  deleteSecret: 'zavhoz.secret.delete',
  pushSecretToGithub: 'zavhoz.github.pushSecret',
  openServerTerminal: 'zavhoz.server.openTerminal',
  openInRemoteSsh: 'zavhoz.server.openInRemoteSsh',
  openSystemSshTerminal: 'zavhoz.server.openSystemSshTerminal',
  markServerGhost: 'zavhoz.server.markGhost',
  unmarkServerGhost: 'zavhoz.server.unmarkGhost',
  removeServer: 'zavhoz.server.remove',
  showGhostServers: 'zavhoz.server.showGhosts',
  hideGhostServers: 'zavhoz.server.hideGhosts',
  filterServers: 'zavhoz.server.filter',
  clearServerFilter: 'zavhoz.server.clearFilter',
  releaseAllocation: 'zavhoz.allocation.release',
  // Day-2 operations of deployed projects (issue 14).
  refreshServices: 'zavhoz.service.refresh',
  restartService: 'zavhoz.service.restart',
  stopService: 'zavhoz.service.stop',
  startService: 'zavhoz.service.start',
  showServiceLogs: 'zavhoz.service.showLogs',
  openServiceUrl: 'zavhoz.service.openUrl',
  undeployProject: 'zavhoz.service.undeploy',
  rollbackRelease: 'zavhoz.release.rollback',
  // Outbound notifications (issue 18).
  testNotification: 'zavhoz.notify.test',
  addNotification: 'zavhoz.notify.add',
  removeNotification: 'zavhoz.notify.remove',
  approveRun: 'zavhoz.deploy.approve',
  rejectRun: 'zavhoz.deploy.reject',
  // Daily use (issue 20).
  retryDeploy: 'zavhoz.deploy.retry',
  filterRuns: 'zavhoz.deploy.filterRuns',
  clearRunFilter: 'zavhoz.deploy.clearRunFilter',
  openWalkthrough: 'zavhoz.walkthrough.open',
  // Domains behind the proxy (issue 15).
  addDomain: 'zavhoz.domain.add',
  // Team mode (issue 19).
  showTeamStatus: 'zavhoz.team.status',
} as const;

/** One of the extension's command ids. */
export type CommandId = (typeof CommandIds)[keyof typeof CommandIds];
