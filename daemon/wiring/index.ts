/**
 * The composition root of the capabilities: builds each one's service from the daemon's foundation, in dependency
 * order. A new capability adds `wiring/<capability>.ts` with a `wire<Capability>` function, calls it here and adds
 * its service to `Services` (services.ts).
 */
import { AuditLog } from '../audit/auditLog.js';
import { SettingsService } from '../settings/settings.js';
import { wireAgentAccess } from './agentAccess.js';
import { removeCiKeysAfterUndeploy, wireCiKeys } from './cikey.js';
import { wireDeploy } from './deploy.js';
import { wireDomains } from './domains.js';
import type { ProxySwitch } from '../deploy/ports.js';
import { wireGithub } from './github.js';
import { wireInventory } from './inventory.js';
import { wireOperations } from './operations.js';
import { tapNotifier, wireNotify } from './notify.js';
import { wireApprovals } from './approvals.js';
import { wireRotation } from './rotation.js';
import type { Foundation, Services } from './services.js';
import { ProjectLocks } from '../core/projectLocks.js';
import { wireTerminal } from './terminal.js';
import { wireHandoff } from './handoff.js';
import { wireUndeploy } from './undeploy.js';
import { wireVault } from './vault.js';
import { wireTeamChanges, wireTeamService } from './team.js';
import { SecretsDidChange } from '../protocol/secrets.js';
import { ServersDidChange } from '../protocol/servers.js';

/**
 * Builds every capability's service and registers its background work with the lifecycle. Stoppers run in reverse
 * order at shutdown, so the order here matters: shells close first, then deploys, the inventory's timers, the vault.
 */
export async function wireServices(base: Foundation): Promise<Services> {
  // On a team's store, changes also travel to (and from) the other members' daemons.
  const team = await wireTeamChanges(base);
  // Every change the capabilities announce is also heard by the notification watchers.
  const tap = tapNotifier(team.foundation);
  const foundation = tap.foundation;
  const { paths, store, redactor, logger, log, server, lifecycle } = foundation;
  const locks = new ProjectLocks({
    shared: store,
    member: team.member,
    onReleaseFailed: (project, error) => log.warn('a project lock shared with the team could not be given back; it goes with the connection', { project, error: (error as Error).message }),
  });
  const settings = await SettingsService.open(store, server);
  team.followSettings(settings);
  const audit = new AuditLog(store, foundation.team ? team.member : undefined, redactor);
  const { vault, teamVault } = wireVault(foundation, { audit });
  const { inventory, allocator } = wireInventory(foundation, { settings, audit, vault });
  // Joined once the domains exist: they are built over the deploy's releases.
  const proxySwitches: { of?: (project: string, server: string) => Promise<ProxySwitch | undefined> } = {};
  const deploy = await wireDeploy(foundation, { audit, vault, inventory, allocator, locks, settings, proxySwitches });
  const ciKeys = wireCiKeys(foundation, { audit, vault, inventory, settings });
  const github = wireGithub(foundation, { settings, audit, vault, inventory, allocator, deploy, ciKeys });
  const terminal = wireTerminal(foundation, { inventory });
  const handoff = wireHandoff(foundation, {
    inventory,
    vault,
    audit,
    // A ghosting here, or a removal or ghosting by a team member, takes the server's alias away at once.
    serverChanges: (listener) => {
      team.followServers(listener);
      tap.observe((definition, params) => {
        if (definition.method === ServersDidChange.method) listener((params as { handles: readonly string[] }).handles);
      });
    },
  });
  const operations = wireOperations(foundation, { audit, inventory, allocator, locks, releases: deploy.releases });
  const undeploy = wireUndeploy(foundation, { audit, inventory, allocator, github, locks, releases: deploy.releases });
  removeCiKeysAfterUndeploy(ciKeys, undeploy, foundation);
  const { domains, proxy, proxyRestarts } = await wireDomains(foundation, { settings, audit, vault, inventory, allocator, locks, releases: deploy.releases, undeploy });
  proxySwitches.of = (project, server) => domains.switchOf(project, server);
  // Last: its first round may start redeploys, whose success hooks (the GitHub re-push) are registered above.
  const notify = await wireNotify(foundation, { settings, audit, vault, deploy, inventory, operations, locks, observe: (observer) => tap.observe(observer) });
  proxyRestarts.raise = (event) => void notify.raise(event);
  const approvals = wireApprovals(foundation, { settings, audit, deploy, undeploy, notify });
  const rotation = wireRotation(foundation, { settings, audit, vault, deploy, github, approvals });
  const agentAccess = wireAgentAccess(foundation, { settings, audit, vault });
  const teamService = wireTeamService(foundation, {
    vault,
    secrets: (listener) => {
      team.followSecrets(listener);
      tap.observe((definition, params) => {
        if (definition.method === SecretsDidChange.method) listener((params as { handles: readonly string[] }).handles);
      });
    },
  });
  return {
    team: teamService, paths, store, redactor, logger, log, notifier: server, settings, audit, vault, teamVault, inventory, allocator, deploy, github, ciKeys, terminal, handoff, operations, undeploy, rotation, agentAccess, notify, approvals, domains, proxy, lifecycle, locks };
}
