import { ZavhozError } from '../core/errors.js';
import type { ScopedLogger } from '../core/logger.js';
import type { Notifier } from '../core/notifier.js';
import { ErrorCodes } from '../protocol/errors.js';
import { ReleasesDidChange } from '../protocol/releases.js';
import type { Database } from '../store/database.js';
import type { DeploySecretVersions } from './ports.js';
import { type NewRelease, newReleaseId, type ReleaseRecord, ReleaseStore } from './releaseStore.js';

/** What the releases are kept with. */
export interface ReleasesOptions {
  readonly store: Database;
  readonly secrets: Pick<DeploySecretVersions, 'retain' | 'releaseHolder'>;
  readonly notifier: Notifier;
  readonly log: ScopedLogger;
  /** How many releases per project to keep (the `releasesKept` setting). */
  readonly kept: () => number;
}

/**
 * The releases of every project: each successful deploy or rollback records one, the vault keeps the secret versions
 * of every kept release, and the oldest beyond `releasesKept` go (with their versions).
 */
export class Releases {
  private readonly releases: ReleaseStore;

  constructor(private readonly options: ReleasesOptions) {
    this.releases = new ReleaseStore(options.store);
  }

  /** Records a release as the project's newest: its secret versions are retained first, then older releases pruned. */
  async record(release: NewRelease): Promise<ReleaseRecord> {
    const id = newReleaseId();
    await this.options.secrets.retain(id, release.secrets);
    let recorded: ReleaseRecord;
    try {
      recorded = await this.releases.insert(release, id);
    } catch (error) {
      await this.options.secrets.releaseHolder(id).catch(() => undefined);
      throw error;
    }
    await this.prune(release.project);
    this.options.notifier.notify(ReleasesDidChange, { project: release.project });
    return recorded;
  }

  /** A project's releases, newest first; `before` (a release number) resumes after that one; archived ones on request. */
  list(project: string, limit: number, before?: number, archived = false): Promise<ReleaseRecord[]> {
    return this.releases.list(project, limit, before, archived);
  }

  /**
   * After an undeploy: the project's releases are archived (kept for the record, never current or redeployable
   * again) and the vault lets go of the secret versions they kept. Returns how many were archived.
   */
  async archive(project: string): Promise<number> {
    const ids = await this.releases.archive(project, new Date().toISOString());
    for (const id of ids) {
      try {
        await this.options.secrets.releaseHolder(id);
      } catch (error) {
        this.options.log.warn('the vault could not let go of an archived release', { release: id, error: (error as Error).message });
      }
    }
    if (ids.length > 0) {
      this.options.log.info('releases archived', { project, releases: ids });
      this.options.notifier.notify(ReleasesDidChange, { project });
    }
    return ids.length;
  }

  /** One release, or NotFound. */
  get(id: string): Promise<ReleaseRecord> {
    return this.releases.get(id);
  }

  /** The project's newest release: what runs now, as far as Zavhoz knows. */
  async current(project: string): Promise<ReleaseRecord | undefined> {
    return (await this.releases.list(project, 1))[0];
  }

  /** The release a rollback redeploys: `to`, or the one before the current release; errors say what to do. */
  async rollbackTarget(project: string, to: string | undefined): Promise<ReleaseRecord> {
    if (to !== undefined) {
      const release = await this.releases.get(to);
      if (release.project !== project) {
        throw new ZavhozError(ErrorCodes.InvalidInput, `Release ${to} is a release of ${release.project}, not of ${project}. List ${project}'s with: zavhoz release list --project ${project}`);
      }
      if (release.archivedAt !== null) {
        throw new ZavhozError(
          ErrorCodes.PreconditionFailed,
          `Release ${to} of ${project} was archived when ${project} was undeployed (${release.archivedAt}); its secret versions may be gone. Deploy ${project} again instead: zavhoz deploy DIR --project ${project} --repo OWNER/NAME`,
        );
      }
      return release;
    }
    const [current, previous] = await this.releases.list(project, 2);
    if (current === undefined) {
      throw new ZavhozError(ErrorCodes.PreconditionFailed, `${project} has no release to roll back to: it was never deployed successfully. Deploy it with: zavhoz deploy DIR --project ${project} --repo OWNER/NAME`);
    }
    if (previous === undefined) {
      throw new ZavhozError(
        ErrorCodes.PreconditionFailed,
        `${project} has one release (${current.number}, ${current.id}) and none before it to roll back to. Deploy the version you want instead, or give --to RELEASE.`,
      );
    }
    return previous;
  }

  /** Deletes the project's releases beyond `releasesKept`, oldest first, and lets the vault drop their versions. */
  private async prune(project: string): Promise<void> {
    const kept = Math.max(1, this.options.kept());
    const old = (await this.releases.list(project, 1_000_000)).slice(kept);
    if (old.length === 0) return;
    await this.releases.remove(old.map((release) => release.id));
    for (const release of old) {
      try {
        await this.options.secrets.releaseHolder(release.id);
      } catch (error) {
        this.options.log.warn('the vault could not let go of a pruned release', { release: release.id, error: (error as Error).message });
      }
    }
    this.options.log.info('releases pruned', { project, releases: old.map((release) => String(release.number)) });
  }
}
