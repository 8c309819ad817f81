/**
 * What a successful deploy does about the modules its compose files no longer publish: their allocations are released
 * (port and RAM back to the server), each is said in the run's log and audited, and what the playbook did about their
 * firewall ports is said with them. Only ever after the run's new release passed its health checks.
 */
import type { AuditLog } from '../audit/auditLog.js';
import type { RetiredModule } from '../protocol/deploy.js';
import type { DeployTargets } from './ports.js';
import type { RunLog } from './runLog.js';
import type { RunRecord } from './runStore.js';

/** How the playbook's firewall task left one port: `closed`, `absent` (no rule), or why it could not say. */
type FirewallOutcome = 'closed' | 'absent' | 'no-ufw' | { readonly error: string } | undefined;

/** The firewall task's lines, as the playbook's `Release` task reports them (`firewall_closed`), by port. */
export function firewallOutcomes(report: unknown): (port: number) => FirewallOutcome {
  const lines = typeof report === 'object' && report !== null ? (report as Record<string, unknown>).firewall_closed : undefined;
  const texts = Array.isArray(lines) ? lines.filter((line): line is string => typeof line === 'string') : [];
  const byPort = new Map<number, FirewallOutcome>();
  let shared: FirewallOutcome;
  for (const line of texts) {
    const [key = '', ...rest] = line.trim().split(' ');
    const value = rest.join(' ');
    if ((key === 'closed' || key === 'absent') && /^\d+$/.test(value)) byPort.set(Number(value), key);
    else if (key === 'notinstalled') shared = 'no-ufw';
    else if (key === 'error') shared = { error: value || 'ufw failed' };
  }
  return (port) => byPort.get(port) ?? shared;
}

function firewallWords(outcome: FirewallOutcome, port: number): string {
  if (outcome === 'closed') return `; UFW rule ${port}/tcp deleted`;
  if (outcome === 'absent' || outcome === 'no-ufw') return '';
  const why = outcome === undefined ? 'the playbook did not report it' : outcome.error;
  return `; its UFW rule could not be deleted (${why}): on the server run sudo ufw delete allow ${port}/tcp`;
}

/**
 * Releases each retired module's allocation after a successful deploy, and says so: `released module worker: port 8003
 * on prod_vps_1` in the run's log, an audit entry `module-release`. A failure is noted and the run stays succeeded
 * (the next deploy tries again: the module is still not in the compose files).
 */
export async function releaseRetiredModules(
  dependencies: { readonly targets: DeployTargets; readonly audit: AuditLog },
  run: RunRecord,
  retired: readonly RetiredModule[],
  report: unknown,
  log: RunLog,
): Promise<void> {
  const firewall = firewallOutcomes(report);
  for (const module of retired) {
    try {
      const released = await dependencies.targets.releaseModule(run.project, module.module);
      if (released === undefined) {
        log.note(`module ${module.module} was no longer allocated (released meanwhile); nothing to release`);
        continue;
      }
      log.note(`released module ${released.module}: port ${released.port} on ${released.server}${firewallWords(firewall(module.port), module.port)}`);
      await dependencies.audit.record({
        client: run.client,
        requestId: run.requestId,
        action: 'module-release',
        subject: run.project,
        detail: { module: released.module, server: released.server, port: released.port, run: run.id, reason: 'not in the compose files' },
      });
    } catch (error) {
      log.note(`module ${module.module} (port ${module.port}) could not be released: ${error instanceof Error ? error.message : String(error)}; the next deploy tries again`);
    }
  }
}
