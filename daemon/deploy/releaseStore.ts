import crypto from 'node:crypto';
import { notFound } from '../core/errors.js';
import type { EnvPlan } from '../protocol/env.js';
import type { ReleaseDetail, ReleaseImage, ReleaseSecret, ReleaseSummary } from '../protocol/releases.js';
import type { RunAllocation } from '../protocol/runs.js';
import type { Database, DatabaseRow as Row } from '../store/database.js';
import type { RunOptions } from './runStore.js';

/** What a release keeps of its run's request, to redeploy it: the clone and registry options (handles only). */
export type ReleaseOptions = Omit<RunOptions, 'projectFolder' | 'bindings' | 'noRollback' | 'healthPaths'>;

/** A release as stored: the detail clients see, and the options a rollback needs. */
export interface ReleaseRecord extends ReleaseDetail {
  readonly options: ReleaseOptions;
}

/**
 * A new release's fields: the stored form without what {@link ReleaseStore.insert} gives (id, number), what its
 * allocation already says (server) and what only an undeploy sets (archivedAt).
 */
export type NewRelease = Omit<ReleaseRecord, 'id' | 'number' | 'server' | 'archivedAt'>;

/** A new release id: `rel_` and 10 random base32 characters. */
export function newReleaseId(): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz234567';
  return `rel_${[...crypto.randomBytes(10)].map((byte) => alphabet[byte % 32]).join('')}`;
}

/** The `releases` table: every write is one durable transaction. */
export class ReleaseStore {
  constructor(private readonly store: Database) {}

  /** Stores a release as the project's next number and returns it. */
  async insert(release: NewRelease, id: string = newReleaseId()): Promise<ReleaseRecord> {
    const { allocation, images, plan, secrets, healthPaths, options } = release;
    await this.store.transaction(async (tx) => {
      const last = await tx.get('SELECT MAX(number) AS number FROM releases WHERE project = ?', [release.project]);
      const number = Number(last?.number ?? 0) + 1;
      await tx.run(
        `INSERT INTO releases (id, project, number, server, kind, repository, ref, commit_sha, run_id, created_at, rolled_back_to, detail)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        [
          id,
          release.project,
          number,
          allocation.server,
          release.kind,
          release.repository,
          release.ref,
          release.commit,
          release.runId,
          release.createdAt,
          release.rolledBackTo,
          JSON.stringify({ allocation, images, plan, secrets, healthPaths, options }),
        ],
      );
    });
    return this.get(id);
  }

  /** One release, or NotFound. */
  async get(id: string): Promise<ReleaseRecord> {
    const row = await this.store.get('SELECT * FROM releases WHERE id = ?', [id]);
    if (!row) throw notFound(`Release ${id}`, 'List releases with: zavhoz release list --project P');
    return toRecord(row);
  }

  /**
   * A project's releases, newest first; `before` (a release number) resumes after that release. Archived releases
   * (an undeploy's) only with `archived`.
   */
  async list(project: string, limit: number, before?: number, archived = false): Promise<ReleaseRecord[]> {
    const which = archived ? '' : ' AND archived_at IS NULL';
    const rows =
      before === undefined
        ? await this.store.all(`SELECT * FROM releases WHERE project = ?${which} ORDER BY number DESC LIMIT ?`, [project, limit])
        : await this.store.all(`SELECT * FROM releases WHERE project = ?${which} AND number < ? ORDER BY number DESC LIMIT ?`, [project, before, limit]);
    return rows.map(toRecord);
  }

  /** Archives every release of the project not archived yet, at `at`; returns their ids. */
  async archive(project: string, at: string): Promise<string[]> {
    // Read and archived in one transaction: the ids returned are exactly the releases archived.
    return this.store.transaction(async (tx) => {
      const ids = (await tx.all('SELECT id FROM releases WHERE project = ? AND archived_at IS NULL', [project])).map((row) => String(row.id));
      if (ids.length > 0) await tx.run('UPDATE releases SET archived_at = ? WHERE project = ? AND archived_at IS NULL', [at, project]);
      return ids;
    });
  }

  /** Deletes the given releases. */
  async remove(ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.store.transaction(async (tx) => {
      for (const id of ids) await tx.run('DELETE FROM releases WHERE id = ?', [id]);
    });
  }
}

/** The list form of a release. */
export function toReleaseSummary(release: ReleaseRecord): ReleaseSummary {
  return {
    id: release.id,
    number: release.number,
    project: release.project,
    server: release.server,
    kind: release.kind,
    repository: release.repository,
    ref: release.ref,
    commit: release.commit,
    runId: release.runId,
    createdAt: release.createdAt,
    rolledBackTo: release.rolledBackTo,
    archivedAt: release.archivedAt,
  };
}

/** The detail form of a release (drops the stored options). */
export function toReleaseDetail(release: ReleaseRecord): ReleaseDetail {
  const { options: _options, ...detail } = release;
  return detail;
}

interface StoredDetail {
  readonly allocation: RunAllocation;
  readonly images: readonly ReleaseImage[];
  readonly plan: EnvPlan;
  readonly secrets: readonly ReleaseSecret[];
  readonly healthPaths: Readonly<Record<string, string>>;
  readonly options: ReleaseOptions;
}

function toRecord(row: Row): ReleaseRecord {
  const detail = JSON.parse(String(row.detail)) as StoredDetail;
  return {
    id: String(row.id),
    number: Number(row.number),
    project: String(row.project),
    server: String(row.server),
    kind: row.kind === 'rollback' ? 'rollback' : 'deploy',
    repository: String(row.repository),
    ref: String(row.ref),
    commit: String(row.commit_sha),
    runId: String(row.run_id),
    createdAt: String(row.created_at),
    rolledBackTo: row.rolled_back_to === null || row.rolled_back_to === undefined ? null : String(row.rolled_back_to),
    archivedAt: row.archived_at === null || row.archived_at === undefined ? null : String(row.archived_at),
    allocation: detail.allocation,
    images: detail.images,
    plan: detail.plan,
    secrets: detail.secrets,
    healthPaths: detail.healthPaths,
    options: detail.options,
  };
}
