import type { AuditLog } from '../audit/auditLog.js';
import { describeError, invalidInput, notFound, ZavhozError } from '../core/errors.js';
import type { ScopedLogger } from '../core/logger.js';
import type { Notifier } from '../core/notifier.js';
import type { Redactor } from '../core/redactor.js';
import { ErrorCodes } from '../protocol/errors.js';
import { GithubDidChange, type GithubPushResult, type GithubStatusResult, isEnvironmentName } from '../protocol/github.js';
import type { Database } from '../store/database.js';
import type { SecretReader, SecretUse } from '../vault/api.js';
import { type GithubConnectionSettings, withAuthenticatedClient } from './auth.js';
import { RateLimitGate } from './client.js';
import { type CiCredentialSource, type DeployTarget, type DeployTargetSource, deploySecretSet } from './deploySecrets.js';
import { compareSecrets } from './drift.js';
import { listSecrets, valueChecks } from './inspect.js';
import { checkProject, normaliseSecretName, parseRepository } from './names.js';
import { describeTarget, type SecretTarget } from './publicKeys.js';
import { type BatchOutcome, type PlannedSecret, pushBatch } from './push.js';
import { deployKeyTargets, readPushes, recordPushes } from './records.js';
import { type ProjectSecretRemoval, removeProjectSecrets } from './removeSecrets.js';

/** Secrets sealed and sent at once in one batch. GitHub allows far more; this keeps a batch polite. */
export const DEFAULT_PUSH_CONCURRENCY = 4;

/** What the GitHub service is built from. */
export interface GithubServiceDependencies {
  readonly store: Database;
  readonly audit: AuditLog;
  readonly vault: SecretReader;
  readonly redactor: Redactor;
  readonly notifier: Notifier;
  readonly log: ScopedLogger;
  /** Read at every call, so a changed setting applies to the next push. */
  readonly connection: () => GithubConnectionSettings;
  readonly targets: DeployTargetSource;
  /** The scoped CI deploy credential of each project (daemon/cikey/): what DEPLOY_USER and DEPLOY_SSH_KEY are. */
  readonly credentials: CiCredentialSource;
  readonly concurrency?: number;
  /** Base of the 5xx backoff in ms (tests shorten it; rate-limit waits always follow GitHub's headers). */
  readonly serverRetryBaseMs?: number;
}

/** Who is asking, for the audit log and vault loans; `signal` cancels the GitHub calls. */
export interface GithubCaller {
  readonly client: string;
  readonly requestId: string;
  readonly log?: ScopedLogger;
  readonly signal?: AbortSignal;
}

/**
 * GitHub Actions secrets: seals vault values for a repository (or environment), pushes a project's deploy secrets,
 * and compares what GitHub holds with what Zavhoz pushed. Every push is audited (names, handles, request ids).
 */
export class GithubService {
  constructor(private readonly dependencies: GithubServiceDependencies) {}

  /** Seals the value behind `handle` and stores it as secret `name` of the repository (or environment). */
  async setSecret(params: { repo: string; name: string; handle: string; environment?: string | undefined; use: GithubCaller }): Promise<GithubPushResult> {
    return this.setSecrets({ ...params, secrets: [{ name: params.name, handle: params.handle }] });
  }

  /** Like {@link setSecret} for several secrets at once: one key fetch, sent with bounded concurrency. */
  async setSecrets(params: {
    repo: string;
    secrets: readonly { readonly name: string; readonly handle: string }[];
    environment?: string | undefined;
    use: GithubCaller;
  }): Promise<GithubPushResult> {
    const target = this.target(params.repo, params.environment);
    const planned: PlannedSecret[] = [];
    for (const { name, handle } of params.secrets) {
      if (!(await this.dependencies.vault.has(handle))) {
        throw notFound(`Secret ${handle}`, 'List secrets with `zavhoz secret list`, or store one with `zavhoz secret set`.');
      }
      planned.push({ name: normaliseSecretName(name), source: { kind: 'vault', handle } });
    }
    return this.push(target, planned, null, params.use);
  }

  /**
   * Pushes the deploy secrets of a project (DEPLOY_HOST, DEPLOY_USER, DEPLOY_SSH_KEY, DEPLOY_PORT,
   * DEPLOY_PROJECT_PATH, DEPLOY_COMPOSE_FILES, DEPLOY_KNOWN_HOSTS) so CI can redeploy it. The user and key are the
   * project's scoped CI credential, created or re-installed on the server first; the server's own key never leaves
   * the machine. With `rotateKey`, a new key is installed beside the old one, pushed, and the old one removed once
   * GitHub has the new one. The deploy pipeline calls this after a successful deploy, passing the server it deployed
   * to; otherwise the inventory says where the project lives.
   */
  async pushDeploySecrets(params: {
    repo: string;
    project: string;
    environment?: string | undefined;
    target?: DeployTarget | undefined;
    composeFiles?: string | undefined;
    rotateKey?: boolean | undefined;
    use: GithubCaller;
  }): Promise<GithubPushResult> {
    const target = this.target(params.repo, params.environment);
    const project = checkProject(params.project);
    const server = params.target ?? (await this.dependencies.targets.deployTarget(project));
    const installed = await this.dependencies.credentials.ensure(project, { server: server.server, host: server.host, sshPort: server.sshPort }, params.use, {
      rotate: params.rotateKey === true,
    });
    const result = await this.push(target, deploySecretSet(project, server, installed.credential, params.composeFiles), project, params.use);
    await installed.retire();
    return result;
  }

  /**
   * Rotates a project's CI deploy key where it is used: a new key is installed on the server beside the old one and
   * pushed to every repository (or environment) that got the project's DEPLOY_SSH_KEY; the old key is removed only
   * once all of them have the new one, so no CI run finds its key refused in between. When a push fails, the others
   * are still tried, the old key stays installed, and the rotation fails naming every repository still to push to.
   * Never pushed anywhere: the key is rotated on the server only. Answers where the new key went, as `owner/name` or
   * `owner/name (environment)`.
   */
  async rotateDeployKey(project: string, use: GithubCaller): Promise<string[]> {
    checkProject(project);
    const server = await this.dependencies.targets.deployTarget(project);
    const installed = await this.dependencies.credentials.ensure(project, { server: server.server, host: server.host, sshPort: server.sshPort }, use, { rotate: true });
    const pushedTo: string[] = [];
    const failed: { where: string; command: string; why: string }[] = [];
    for (const { repo, environment } of await deployKeyTargets(this.dependencies.store, project)) {
      const where = environment === '' ? repo : `${repo} (${environment})`;
      try {
        await this.push(this.target(repo, environment === '' ? undefined : environment), deploySecretSet(project, server, installed.credential, undefined), project, use);
        pushedTo.push(where);
      } catch (error) {
        const command = `zavhoz github push-secrets --repo ${repo} --project ${project}${environment === '' ? '' : ` --env ${environment}`}`;
        failed.push({ where, command, why: describeError(error) });
      }
    }
    if (failed.length > 0) {
      throw new ZavhozError(
        ErrorCodes.PreconditionFailed,
        `The new CI deploy key of ${project} is installed${pushedTo.length > 0 ? ` and pushed to ${pushedTo.join(', ')}` : ''}, but pushing it failed for ` +
          `${failed.map((entry) => `${entry.where} (${entry.why})`).join('; ')}. The old key stays installed so their CI keeps working; ` +
          `push to each of them: ${failed.map((entry) => `\`${entry.command}\``).join(', ')}.`,
      );
    }
    await installed.retire();
    return pushedTo;
  }

  /**
   * Deletes from GitHub every Actions secret Zavhoz pushed for a project (an undeploy), with their records. Nothing
   * pushed: no GitHub call. What could not be deleted comes back as warnings that say how to do it by hand.
   */
  removeProjectSecrets(project: string, use: GithubCaller): Promise<ProjectSecretRemoval> {
    return removeProjectSecrets({
      store: this.dependencies.store,
      audit: this.dependencies.audit,
      notifier: this.dependencies.notifier,
      project,
      client: use.client,
      requestId: use.requestId,
      withApi: (target, work) => {
        const { log, secretUse, gate } = this.context(target, use, 'github-delete');
        return withAuthenticatedClient(this.clientOptions(target, use, log, secretUse, gate), ({ api }) => work(api, log));
      },
    });
  }

  /** GitHub's secret names and times beside what Zavhoz last pushed, with missing and stale ones flagged. */
  async status(params: { repo: string; environment?: string | undefined; use: GithubCaller }): Promise<GithubStatusResult> {
    const target = this.target(params.repo, params.environment);
    const { log, secretUse, gate } = this.context(target, params.use, 'github-status');
    const listed = await withAuthenticatedClient(this.clientOptions(target, params.use, log, secretUse, gate), ({ api, credentials }) =>
      listSecrets(api, target, { credentials, baseUrl: this.dependencies.connection().apiBase, gate }),
    );
    const records = await readPushes(this.dependencies.store, target);
    const checks = await valueChecks(records, listed, {
      vault: this.dependencies.vault,
      targets: this.dependencies.targets,
      credentials: this.dependencies.credentials,
      use: secretUse,
    });
    const secrets = compareSecrets(listed, records, checks);
    return {
      repo: target.repository.fullName,
      environment: target.environment ?? null,
      drift: secrets.some((secret) => secret.state === 'missing' || secret.state === 'stale'),
      secrets,
    };
  }

  private target(repo: string, environment: string | undefined): SecretTarget {
    if (environment !== undefined && !isEnvironmentName(environment)) {
      throw invalidInput(`"${environment}" is not a valid environment name.`);
    }
    return { repository: parseRepository(repo), ...(environment === undefined ? {} : { environment }) };
  }

  private context(target: SecretTarget, use: GithubCaller, action: string): { log: ScopedLogger; secretUse: SecretUse; gate: RateLimitGate } {
    const log = (use.log ?? this.dependencies.log).child({ component: 'github', repo: target.repository.fullName });
    const secretUse: SecretUse = {
      client: use.client,
      requestId: use.requestId,
      action,
      detail: { repo: target.repository.fullName, environment: target.environment ?? '' },
    };
    return { log, secretUse, gate: new RateLimitGate() };
  }

  private clientOptions(target: SecretTarget, use: GithubCaller, log: ScopedLogger, secretUse: SecretUse, gate: RateLimitGate): Parameters<typeof withAuthenticatedClient>[0] {
    return {
      settings: this.dependencies.connection(),
      repository: target.repository,
      vault: this.dependencies.vault,
      redactor: this.dependencies.redactor,
      use: secretUse,
      log,
      gate,
      ...(use.signal ? { signal: use.signal } : {}),
      ...(this.dependencies.serverRetryBaseMs === undefined ? {} : { serverRetryBaseMs: this.dependencies.serverRetryBaseMs }),
    };
  }

  private async push(target: SecretTarget, secrets: readonly PlannedSecret[], project: string | null, use: GithubCaller): Promise<GithubPushResult> {
    const names = new Set<string>();
    for (const secret of secrets) {
      if (names.has(secret.name)) throw invalidInput(`Secret ${secret.name} appears twice in one push.`);
      names.add(secret.name);
    }
    const { log, secretUse, gate } = this.context(target, use, 'github-push');
    const outcome = await withAuthenticatedClient(this.clientOptions(target, use, log, secretUse, gate), ({ api, credentials }) =>
      pushBatch({
        api,
        credentials,
        baseUrl: this.dependencies.connection().apiBase,
        target,
        secrets,
        vault: this.dependencies.vault,
        use: secretUse,
        log,
        gate,
        concurrency: this.dependencies.concurrency ?? DEFAULT_PUSH_CONCURRENCY,
        ...(use.signal ? { signal: use.signal } : {}),
      }),
    );
    await this.remember(target, secrets, outcome, project, use);
    const result: GithubPushResult = {
      repo: target.repository.fullName,
      environment: target.environment ?? null,
      requestId: use.requestId,
      pushed: outcome.pushed.map(({ name, source, fingerprint, status, pushedAt, githubRequestId }) => ({
        name,
        source,
        fingerprint,
        status,
        pushedAt,
        githubRequestId,
      })),
    };
    if (outcome.failed.length > 0) throw partialFailure(target, outcome);
    return result;
  }

  /** Records what GitHub accepted and audits the push (names, handles, request ids) in one transaction. */
  private async remember(target: SecretTarget, secrets: readonly PlannedSecret[], outcome: BatchOutcome, project: string | null, use: GithubCaller): Promise<void> {
    const pushedNames = new Set(outcome.pushed.map((secret) => secret.name));
    const handles = secrets.flatMap((secret) => (secret.source.kind === 'vault' && pushedNames.has(secret.name) ? [secret.source.handle] : []));
    await this.dependencies.store.transaction(async (tx) => {
      await recordPushes(tx, target, outcome.pushed, { project, requestId: use.requestId });
      await this.dependencies.audit.record(
        {
          client: use.client,
          requestId: use.requestId,
          action: 'github-push',
          subject: `github:${target.repository.fullName}`,
          detail: {
            repo: target.repository.fullName,
            environment: target.environment ?? '',
            ...(project === null ? {} : { project }),
            names: outcome.pushed.map((secret) => secret.name),
            handles,
            failed: outcome.failed.map((secret) => secret.name),
            githubRequestIds: outcome.pushed.map((secret) => secret.githubRequestId).filter((id) => id !== ''),
          },
        },
        tx,
      );
    });
    if (outcome.pushed.length > 0) {
      this.dependencies.notifier.notify(GithubDidChange, {
        repo: target.repository.fullName,
        environment: target.environment ?? null,
        names: [...pushedNames],
      });
    }
  }
}

function partialFailure(target: SecretTarget, outcome: BatchOutcome): ZavhozError {
  const first = outcome.failed.find((secret) => secret.attempted) ?? outcome.failed[0];
  const cause = first?.error;
  const where = describeTarget(target);
  const failedNames = outcome.failed.map((secret) => secret.name).join(', ');
  const summary =
    outcome.pushed.length === 0
      ? `Nothing was pushed to ${where}.`
      : `Pushed ${outcome.pushed.length} of ${outcome.pushed.length + outcome.failed.length} secrets to ${where} (${outcome.pushed
          .map((secret) => secret.name)
          .join(', ')}); not pushed: ${failedNames}. Run the same command again once fixed.`;
  return new ZavhozError(cause?.code ?? ErrorCodes.ProviderError, `${summary} ${cause?.message ?? ''}`.trim(), {
    ...cause?.data,
    pushed: outcome.pushed.map((secret) => secret.name),
    failed: outcome.failed.map((secret) => ({ name: secret.name, code: secret.error.code, message: secret.error.message })),
  });
}
