import { describeError } from '../core/errors.js';
import type { SecretReader, SecretUse } from '../vault/api.js';
import type { GithubApi, RateLimitGate } from './client.js';
import { type CiCredentialSource, type DeployTargetSource, deploySecretSet } from './deploySecrets.js';
import type { ListedSecret, ValueCheck } from './drift.js';
import { toGithubError } from './errors.js';
import { describeTarget, type SecretTarget } from './publicKeys.js';
import { type SecretSource, withSourceValue } from './push.js';
import type { PushRecord } from './records.js';
import { fingerprintValue } from './seal.js';

/** Lists a repository's (or environment's) secrets: names and times, every page. */
export async function listSecrets(
  api: GithubApi,
  target: SecretTarget,
  context: { readonly credentials: string; readonly baseUrl: string; readonly gate: RateLimitGate },
): Promise<ListedSecret[]> {
  const { owner, name } = target.repository;
  try {
    const secrets =
      target.environment === undefined
        ? await api.paginate(api.rest.actions.listRepoSecrets, { owner, repo: name, per_page: 100 })
        : await api.paginate(api.rest.actions.listEnvironmentSecrets, { owner, repo: name, environment_name: target.environment, per_page: 100 });
    return secrets.map((secret) => ({ name: secret.name, createdAt: secret.created_at, updatedAt: secret.updated_at }));
  } catch (error) {
    throw toGithubError(error, { ...context, target: describeTarget(target), action: 'list the Actions secrets of' });
  }
}

/** What a value check needs: the vault (for handles), the inventory (for computed deploy values), the key. */
export interface ValueCheckOptions {
  readonly vault: SecretReader;
  readonly targets: DeployTargetSource;
  readonly credentials: Pick<CiCredentialSource, 'current'>;
  readonly use: SecretUse;
}

/**
 * For every secret Zavhoz pushed and GitHub still lists: would Zavhoz push the same value today? Vault values are
 * borrowed one at a time (audited as `github-status`) only to fingerprint them; deploy values are recomputed from
 * the inventory. A value that cannot be read (keychain locked) is reported as not checked, not as a failure.
 */
export async function valueChecks(
  records: readonly PushRecord[],
  listed: readonly ListedSecret[],
  options: ValueCheckOptions,
): Promise<Map<string, ValueCheck>> {
  const onGithub = new Set(listed.map((secret) => secret.name));
  const checks = new Map<string, ValueCheck>();
  for (const record of records) {
    if (!onGithub.has(record.name)) continue;
    checks.set(record.name, await checkOne(record, options));
  }
  return checks;
}

async function checkOne(record: PushRecord, options: ValueCheckOptions): Promise<ValueCheck> {
  try {
    let source: SecretSource;
    if (record.project !== null) {
      // A deploy secret: what would the deploy push today, from the inventory's current view of the server?
      if (record.name === 'DEPLOY_KNOWN_HOSTS') return { kind: 'unchecked', why: 'the host key is read from the server only when pushing' };
      const credential = await options.credentials.current(record.project);
      if (!credential) return { kind: 'unchecked', why: `${record.project} has no CI deploy key any more; push its secrets again` };
      const planned = deploySecretSet(record.project, await options.targets.deployTarget(record.project), credential).find((secret) => secret.name === record.name);
      if (!planned) return { kind: 'unchecked', why: `${record.name} is no longer a deploy secret` };
      if (planned.source.kind === 'vault' && planned.source.handle !== record.source) {
        return { kind: 'changed', why: `it now comes from ${planned.source.handle}, not ${record.source}` };
      }
      source = planned.source;
    } else if (record.source === 'computed') {
      return { kind: 'unchecked', why: 'no project recorded for this computed value' };
    } else {
      source = { kind: 'vault', handle: record.source };
    }
    if (source.kind === 'vault' && !(await options.vault.has(source.handle))) {
      return { kind: 'changed', why: `its vault secret ${source.handle} was deleted` };
    }
    const use = { ...options.use, detail: { ...options.use.detail, name: record.name } };
    const fingerprint = await withSourceValue(options.vault, source, use, (value) => fingerprintValue(value, options.vault));
    if (fingerprint === record.fingerprint) return { kind: 'same' };
    return {
      kind: 'changed',
      why: source.kind === 'vault' ? `the value of ${source.handle} changed in the vault since it was pushed` : `the server details of ${record.project ?? ''} changed since it was pushed`,
    };
  } catch (error) {
    return { kind: 'unchecked', why: describeError(error) };
  }
}
