import { deployGate } from '../approvals/requests.js';
import type { ApprovalService } from '../approvals/service.js';
import type { AuditLog } from '../audit/auditLog.js';
import { describeError } from '../core/errors.js';
import { CI_KEY_SECRET_NAME } from '../cikey/service.js';
import type { DeployService } from '../deploy/service.js';
import type { GithubService } from '../github/service.js';
import { RunStore } from '../deploy/runStore.js';
import { PeriodicTask } from '../inventory/periodic.js';
import { type LastDeploy, type RotationDeploys, RotationService } from '../rotation/service.js';
import type { SettingsService } from '../settings/settings.js';
import type { Vault } from '../vault/vault.js';
import type { Foundation } from './services.js';

/** What the rotation is built from, besides the foundation. */
export interface RotationNeeds {
  readonly settings: SettingsService;
  readonly audit: AuditLog;
  readonly vault: Vault;
  readonly deploy: DeployService;
  readonly github: GithubService;
  /** A protected project's redeploy waits for a person (the timer confirms nothing). */
  readonly approvals?: ApprovalService;
}

/** How many runs, newest first, are read to find each project's last successful deploy. */
const RUNS_READ = 1000;

/**
 * Builds the rotation service, runs one round in the background once the daemon is wired (it waits for the vault
 * like any vault call, and never holds up the start), and then one every `rotationCheckIntervalSeconds`.
 */
export function wireRotation(foundation: Foundation, needs: RotationNeeds): RotationService {
  const { store, logger, lifecycle } = foundation;
  const log = logger.child({ component: 'rotation' });
  const runs = new RunStore(store);
  const deploys: RotationDeploys = {
    async lastSuccessfulDeploys() {
      const last = new Map<string, LastDeploy>();
      for (const run of await runs.list({ limit: RUNS_READ })) {
        if (run.kind !== 'deploy' || run.status !== 'succeeded' || last.has(run.project)) continue;
        const handles = (run.plan?.variables ?? []).flatMap((variable) => (variable.handle ? [variable.handle] : []));
        last.set(run.project, { project: run.project, runId: run.id, folder: run.options.projectFolder, handles });
      }
      return [...last.values()];
    },
    async redeploy(runId, caller) {
      const run = await runs.get(runId);
      const { options } = run;
      const request = {
        folder: options.projectFolder,
        project: run.project,
        repository: run.repository,
        ref: run.ref,
        bindings: options.bindings,
        repoUrl: options.repoUrl,
        gitToken: options.gitToken,
        registryToken: options.registryToken,
        registry: options.registry,
        registryUser: options.registryUser,
        timeoutSeconds: run.timeoutSeconds,
        healthPaths: options.healthPaths ?? {},
        noRollback: options.noRollback ?? false,
      };
      await needs.approvals?.gate(deployGate(request), caller, false);
      return (await needs.deploy.start(request, caller)).id;
    },
  };
  const rotation = new RotationService({
    secrets: {
      list: () => needs.vault.list(),
      rotateGenerated: (handle, caller) => needs.vault.rotate({ handle, generate: true }, caller),
    },
    deploys,
    deployKeys: {
      isDeployKey: (secret) => secret.name === CI_KEY_SECRET_NAME && secret.type === 'private_key' && secret.tags.includes('ci'),
      rotate: (project, caller) => needs.github.rotateDeployKey(project, caller),
    },
    audit: needs.audit,
    log,
  });
  const round = async (): Promise<void> => {
    // A locked keychain would fail every rotation; the next round (or the first after the vault is ready) does it.
    if (!needs.vault.ready) return;
    const result = await rotation.run(false);
    if (result.rotated.length + result.reported.length + result.failed.length > 0) {
      log.info('rotation round', { rotated: result.rotated.length, reported: result.reported.length, failed: result.failed.length, redeploys: result.redeploys.length });
    }
  };
  const task = new PeriodicTask('rotation check', () => needs.settings.get('rotationCheckIntervalSeconds'), round, log);
  const unsubscribe = needs.settings.onDidChange((key) => {
    if (key === 'rotationCheckIntervalSeconds') task.schedule();
  });
  // The first round waits for the vault to be ready (it starts in the background), checking once a second.
  let stopped = false;
  let waiting: NodeJS.Timeout | undefined;
  const firstRound = (): void => {
    waiting = undefined;
    if (stopped) return;
    if (!needs.vault.ready) {
      waiting = setTimeout(firstRound, 1000);
      waiting.unref();
      return;
    }
    round().catch((error: unknown) => log.warn('rotation at start failed', { error: describeError(error) }));
  };
  firstRound();
  task.schedule();
  lifecycle.onShutdown(async () => {
    stopped = true;
    if (waiting) clearTimeout(waiting);
    unsubscribe();
    await task.stop();
  });
  return rotation;
}
