/**
 * Deleting the Actions secrets Zavhoz pushed for a project (an undeploy): the records of `github_secret_pushes`
 * with that project say which, in which repositories and environments. A secret already gone from GitHub counts as
 * deleted. Each deleted secret's record goes with it, so a second run only retries what failed.
 */
import type { AuditLog } from '../audit/auditLog.js';
import { describeError } from '../core/errors.js';
import type { ScopedLogger } from '../core/logger.js';
import type { Notifier } from '../core/notifier.js';
import { GithubDidChange } from '../protocol/github.js';
import type { Database, DatabaseRow as Row } from '../store/database.js';
import type { GithubApi } from './client.js';
import { parseRepository } from './names.js';
import { describeTarget, type SecretTarget } from './publicKeys.js';

/** What one removal did: secrets deleted (`OWNER/NAME:SECRET`, `OWNER/NAME@ENV:SECRET`) and why others stay. */
export interface ProjectSecretRemoval {
  readonly removed: readonly string[];
  readonly warnings: readonly string[];
}

/** What {@link removeProjectSecrets} needs. */
export interface RemovalContext {
  readonly store: Database;
  readonly audit: AuditLog;
  readonly notifier: Notifier;
  readonly project: string;
  readonly client: string;
  readonly requestId: string;
  /** Runs `work` with a client authenticated for the target (throws when no credentials are configured). */
  withApi<T>(target: SecretTarget, work: (api: GithubApi, log: ScopedLogger) => Promise<T>): Promise<T>;
}

interface PushedRow extends Row {
  repo: string;
  environment: string;
  name: string;
  repo_display: string;
}

function label(target: SecretTarget, name: string): string {
  return `${target.repository.fullName}${target.environment === undefined ? '' : `@${target.environment}`}:${name}`;
}

/** Deletes every secret pushed for the project from GitHub, target by target; failures become warnings. */
export async function removeProjectSecrets(context: RemovalContext): Promise<ProjectSecretRemoval> {
  const rows = await context.store.all<PushedRow>('SELECT repo, environment, name, repo_display FROM github_secret_pushes WHERE project = ? ORDER BY repo, environment, name', [
    context.project,
  ]);
  const groups = new Map<string, { target: SecretTarget; key: string; environment: string; names: string[] }>();
  for (const row of rows) {
    const id = `${row.repo}|${row.environment}`;
    const group = groups.get(id) ?? {
      target: { repository: parseRepository(row.repo_display), ...(row.environment === '' ? {} : { environment: row.environment }) },
      key: row.repo,
      environment: row.environment,
      names: [],
    };
    group.names.push(row.name);
    groups.set(id, group);
  }
  const removed: string[] = [];
  const warnings: string[] = [];
  for (const group of groups.values()) {
    const { target } = group;
    const deleted: string[] = [];
    try {
      await context.withApi(target, async (api, log) => {
        const { owner, name: repo } = target.repository;
        for (const name of group.names) {
          try {
            if (target.environment === undefined) await api.rest.actions.deleteRepoSecret({ owner, repo, secret_name: name });
            else await api.rest.actions.deleteEnvironmentSecret({ owner, repo, environment_name: target.environment, secret_name: name });
            deleted.push(name);
          } catch (error) {
            if ((error as { status?: unknown }).status === 404) {
              deleted.push(name);
              continue;
            }
            log.warn('deleting a CI secret failed', { secret: name, error: describeError(error) });
            warnings.push(`CI secret ${label(target, name)} could not be deleted (${describeError(error)}); delete it in the repository's Settings → Secrets and variables → Actions.`);
          }
        }
      });
    } catch (error) {
      warnings.push(
        `The CI secrets Zavhoz pushed to ${describeTarget(target)} (${group.names.join(', ')}) were not deleted: ${describeError(error)} Delete them in the repository's Settings → Secrets and variables → Actions.`,
      );
    }
    if (deleted.length === 0) continue;
    await context.store.transaction(async (tx) => {
      for (const name of deleted) await tx.run('DELETE FROM github_secret_pushes WHERE repo = ? AND environment = ? AND name = ?', [group.key, group.environment, name]);
      await context.audit.record(
        {
          client: context.client,
          requestId: context.requestId,
          action: 'github-delete',
          subject: `github:${target.repository.fullName}`,
          detail: { repo: target.repository.fullName, environment: target.environment ?? '', project: context.project, names: deleted },
        },
        tx,
      );
    });
    removed.push(...deleted.map((name) => label(target, name)));
    context.notifier.notify(GithubDidChange, { repo: target.repository.fullName, environment: target.environment ?? null, names: deleted });
  }
  return { removed, warnings };
}
