import type { ReleaseSummary } from '../../daemon/protocol/releases.js';
import { relativeTime } from './format.js';

/**
 * What the Services view, the rollback command and the deploy panel show of releases. No VS Code import:
 * unit-tested directly.
 */

/** `#3`: how people name a release (its number within the project). */
export function releaseName(release: Pick<ReleaseSummary, 'number'>): string {
  return `#${release.number}`;
}

/** The commit, short: `1a2b3c4`. */
export function shortCommit(commit: string): string {
  return /^[0-9a-f]{40,64}$/.test(commit) ? commit.slice(0, 7) : commit;
}

/** A release's line: `1a2b3c4 · main · 2 h ago`, with what a rollback redeployed and whether it runs now. */
export function describeRelease(release: ReleaseSummary, current: boolean, now: Date, rolledBackTo?: ReleaseSummary): string {
  return [
    shortCommit(release.commit),
    release.ref,
    relativeTime(release.createdAt, now),
    ...(release.kind === 'rollback' ? [`rollback${rolledBackTo ? ` to ${releaseName(rolledBackTo)}` : ''}`] : []),
    ...(current ? ['current'] : []),
  ].join(' · ');
}

/** Hover text of a release. */
export function releaseTooltip(release: ReleaseSummary): string {
  return [
    `Release ${releaseName(release)} of ${release.project} on ${release.server}`,
    `${release.repository}@${release.ref} → ${release.commit}`,
    `made by ${release.kind} run ${release.runId} at ${release.createdAt}`,
  ].join('\n');
}

/** The release a rollback without `to` goes back to: the one before the current (newest) one. */
export function previousRelease(releases: readonly ReleaseSummary[]): ReleaseSummary | undefined {
  return [...releases].sort((a, b) => b.number - a.number)[1];
}

/** The modal confirmation of a rollback: names the project, the server and the release. */
export function rollbackQuestion(release: ReleaseSummary, now: Date): { readonly title: string; readonly detail: string } {
  return {
    title: `Roll ${release.project} on ${release.server} back to release ${releaseName(release)}?`,
    detail:
      `Release ${releaseName(release)} (${shortCommit(release.commit)} of ${release.ref}, deployed ${relativeTime(release.createdAt, now)}) is redeployed ` +
      'exactly: its commit, its images by digest and its secret versions. The running version is replaced.',
  };
}
