import type { GithubSecretStatus } from '../protocol/github.js';
import type { PushRecord } from './records.js';

/** A secret as GitHub lists it (names and times only: GitHub never returns values). */
export interface ListedSecret {
  readonly name: string;
  readonly createdAt: string;
  readonly updatedAt: string;
}

/** What the value check found for one record: same as pushed, changed since, or not checkable (and why). */
export type ValueCheck = { readonly kind: 'same' } | { readonly kind: 'changed'; readonly why: string } | { readonly kind: 'unchecked'; readonly why: string };

/** GitHub's `updated_at` has one-second resolution; a later time than this after our push means someone else wrote. */
const CLOCK_SLACK_MS = 1000;

/**
 * Lines GitHub's list up with what Zavhoz pushed: `missing` (pushed, no longer on GitHub), `stale` (changed on
 * GitHub after our push, or the value Zavhoz would push now differs), `in-sync`, or `unmanaged` (never pushed by
 * Zavhoz). Sorted by name.
 */
export function compareSecrets(
  listed: readonly ListedSecret[],
  records: readonly PushRecord[],
  checks: ReadonlyMap<string, ValueCheck>,
): GithubSecretStatus[] {
  const byName = new Map(listed.map((secret) => [secret.name, secret]));
  const names = [...new Set([...listed.map((secret) => secret.name), ...records.map((record) => record.name)])].sort();
  const recordsByName = new Map(records.map((record) => [record.name, record]));
  return names.map((name): GithubSecretStatus => {
    const github = byName.get(name);
    const record = recordsByName.get(name);
    const githubPart = github ? { github: { createdAt: github.createdAt, updatedAt: github.updatedAt } } : {};
    if (!record) return { name, state: 'unmanaged', reasons: ['not pushed by Zavhoz'], ...githubPart };
    const zavhoz = { source: record.source, fingerprint: record.fingerprint, pushedAt: record.pushedAt, project: record.project };
    if (!github) {
      return { name, state: 'missing', reasons: [`pushed by Zavhoz at ${record.pushedAt} but no longer on GitHub`], zavhoz };
    }
    const reasons: string[] = [];
    if (Date.parse(github.updatedAt) > Date.parse(record.githubTime) + CLOCK_SLACK_MS) {
      reasons.push(`changed on GitHub at ${github.updatedAt}, after Zavhoz pushed it`);
    }
    const check = checks.get(name);
    if (check?.kind === 'changed') reasons.push(check.why);
    const stale = reasons.length > 0;
    if (check?.kind === 'unchecked') reasons.push(`value not checked: ${check.why}`);
    return { name, state: stale ? 'stale' : 'in-sync', reasons, zavhoz, ...githubPart };
  });
}
