import fs from 'node:fs';
import type { AuditLog } from '../audit/auditLog.js';
import { describeError } from '../core/errors.js';
import type { ScopedLogger } from '../core/logger.js';
import type { RotatedSecret, RotationRedeploy, RotationResult } from '../protocol/rotation.js';
import { GENERATABLE_TYPES, type SecretMetadata } from '../protocol/secretFields.js';
import { dueSecrets } from './due.js';

/** Who the rotation acts as, in the audit log, the vault's loans and the deploy runs it starts. */
export const ROTATION_CALLER = { client: 'daemon', requestId: 'rotation' } as const;

/** The vault as the rotation sees it. */
export interface RotationSecrets {
  /** Metadata of every secret (no keychain access). */
  list(): Promise<readonly SecretMetadata[]>;
  /** Gives a generated secret a new generated value as its next version. */
  rotateGenerated(handle: string, caller: typeof ROTATION_CALLER): Promise<unknown>;
}

/** A project's last successful deploy: what a redeploy repeats. */
export interface LastDeploy {
  readonly project: string;
  readonly runId: string;
  /** The project folder on this machine the deploy read its templates from. */
  readonly folder: string;
  /** Every vault handle its env plan used. */
  readonly handles: readonly string[];
}

/** The deploy service as the rotation sees it. */
export interface RotationDeploys {
  /** Each project's newest successful deploy run (rollbacks aside: they repeat a release, not a request). */
  lastSuccessfulDeploys(): Promise<readonly LastDeploy[]>;
  /** Starts a deploy with the request of run `runId`; answers the new run's id. */
  redeploy(runId: string, caller: typeof ROTATION_CALLER): Promise<string>;
}

/** Projects' CI deploy keys as the rotation sees them (daemon/cikey/, pushed by daemon/github/). */
export interface RotationDeployKeys {
  /** Whether `secret` is a project's CI deploy key. */
  isDeployKey(secret: SecretMetadata): boolean;
  /** Installs a new key, pushes it wherever the old one was pushed, removes the old one; answers where it went. */
  rotate(project: string, caller: typeof ROTATION_CALLER): Promise<readonly string[]>;
}

/** What the rotation service is built from. */
export interface RotationOptions {
  readonly secrets: RotationSecrets;
  readonly deploys: RotationDeploys;
  /** Without it, a due CI deploy key is only reported. */
  readonly deployKeys?: RotationDeployKeys;
  readonly audit: AuditLog;
  readonly log: ScopedLogger;
  /** The clock; tests pass one that stands later, production uses the system's. */
  readonly now?: () => Date;
}

/**
 * Rotation that applies itself: generated secrets whose `rotationDays` are up get a new generated value, then every
 * project whose last successful deploy used one is deployed again with the same request (health-gated with rollback,
 * like every deploy; the GitHub re-push follows a successful deploy). A project's CI deploy key that is due is
 * replaced on its server and in GitHub. Typed-in secrets that are due are reported. Rounds never overlap.
 */
export class RotationService {
  private running: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: RotationOptions) {}

  /** Runs one round after any running one; with `dryRun`, changes nothing and says what it would do. */
  run(dryRun: boolean): Promise<RotationResult> {
    const round = this.running.then(() => this.round(dryRun));
    this.running = round.catch(() => undefined);
    return round;
  }

  private async round(dryRun: boolean): Promise<RotationResult> {
    const { secrets, audit, log } = this.options;
    const now = this.options.now?.() ?? new Date();
    const rotated: RotatedSecret[] = [];
    const reported: RotatedSecret[] = [];
    const failed: (RotatedSecret & { error: string })[] = [];
    for (const { secret, dueSince } of dueSecrets(await secrets.list(), now)) {
      const entry: RotatedSecret = { handle: secret.handle, name: secret.name, project: secret.project, dueSince: dueSince.toISOString() };
      const why = `due since ${entry.dueSince} (rotate every ${secret.rotationDays} day(s))`;
      const { deployKeys } = this.options;
      const deployKeyProject = secret.project !== null && deployKeys?.isDeployKey(secret) ? secret.project : undefined;
      if (deployKeys && deployKeyProject !== undefined) {
        if (dryRun) {
          rotated.push(entry);
          continue;
        }
        try {
          const pushedTo = await deployKeys.rotate(deployKeyProject, ROTATION_CALLER);
          rotated.push(entry);
          await audit.record({ ...ROTATION_CALLER, action: 'rotation', subject: secret.handle, detail: { result: 'rotated', why, pushedTo: [...pushedTo] } });
          log.info('CI deploy key rotated because due', { handle: secret.handle, project: deployKeyProject, pushedTo });
        } catch (error) {
          const message = describeError(error);
          failed.push({ ...entry, error: message });
          await audit.record({ ...ROTATION_CALLER, action: 'rotation', subject: secret.handle, detail: { result: 'failed', why, error: message } });
          log.warn('due CI deploy key rotation failed', { handle: secret.handle, project: deployKeyProject, error: message });
        }
        continue;
      }
      if (!rotatesItself(secret)) {
        reported.push(entry);
        log.warn('secret due for rotation needs a new value from you', { handle: secret.handle, name: secret.name, dueSince: entry.dueSince, fix: `zavhoz secret rotate ${secret.handle}` });
        if (!dryRun) await audit.record({ ...ROTATION_CALLER, action: 'rotation', subject: secret.handle, detail: { result: 'reported', why } });
        continue;
      }
      if (dryRun) {
        rotated.push(entry);
        continue;
      }
      try {
        await secrets.rotateGenerated(secret.handle, ROTATION_CALLER);
        rotated.push(entry);
        await audit.record({ ...ROTATION_CALLER, action: 'rotation', subject: secret.handle, detail: { result: 'rotated', why } });
        log.info('secret rotated because due', { handle: secret.handle, dueSince: entry.dueSince });
      } catch (error) {
        const message = describeError(error);
        failed.push({ ...entry, error: message });
        await audit.record({ ...ROTATION_CALLER, action: 'rotation', subject: secret.handle, detail: { result: 'failed', why } });
        log.warn('due rotation failed', { handle: secret.handle, error: message });
      }
    }
    const redeploys = await this.redeploy(new Set(rotated.map((entry) => entry.handle)), dryRun);
    return { dryRun, rotated, reported, failed, redeploys };
  }

  private async redeploy(handles: ReadonlySet<string>, dryRun: boolean): Promise<RotationRedeploy[]> {
    if (handles.size === 0) return [];
    const { deploys, audit, log } = this.options;
    const redeploys: RotationRedeploy[] = [];
    for (const last of await deploys.lastSuccessfulDeploys()) {
      const used = last.handles.filter((handle) => handles.has(handle));
      if (used.length === 0) continue;
      const base = { project: last.project, fromRun: last.runId };
      if (dryRun) {
        redeploys.push({ ...base, runId: null });
        continue;
      }
      let outcome: RotationRedeploy;
      if (!fs.existsSync(last.folder)) {
        outcome = {
          ...base,
          runId: null,
          error: `The project folder ${last.folder} of ${last.project} no longer exists, so it was not redeployed with its rotated secret(s) ${used.join(', ')}; deploy it from its folder (zavhoz deploy).`,
        };
      } else {
        try {
          outcome = { ...base, runId: await deploys.redeploy(last.runId, ROTATION_CALLER) };
        } catch (error) {
          outcome = { ...base, runId: null, error: describeError(error) };
        }
      }
      redeploys.push(outcome);
      await audit.record({
        ...ROTATION_CALLER,
        action: 'rotation',
        subject: last.project,
        detail: {
          result: outcome.runId ? 'redeploy' : 'redeploy-failed',
          handles: used,
          from: last.runId,
          ...(outcome.runId ? { run: outcome.runId } : {}),
          ...(outcome.error ? { error: outcome.error } : {}),
        },
      });
      if (outcome.error) log.warn('redeploy after rotation not started', { project: last.project, error: outcome.error });
      else log.info('redeploy after rotation started', { project: last.project, run: outcome.runId });
    }
    return redeploys;
  }
}

/** Whether Zavhoz can make up the next value itself: it generated the current one, and can generate its type. */
export function rotatesItself(secret: Pick<SecretMetadata, 'origin' | 'type'>): boolean {
  return secret.origin === 'generated' && (GENERATABLE_TYPES as readonly string[]).includes(secret.type);
}
