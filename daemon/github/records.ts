import type { Database, DatabaseRow as Row, DatabaseTransaction as Transaction } from '../store/database.js';
import type { PushedSecret } from './push.js';
import type { SecretTarget } from './publicKeys.js';

/** What Zavhoz last pushed to one secret of one repository (or environment). */
export interface PushRecord {
  readonly name: string;
  /** Vault handle, or `computed`. */
  readonly source: string;
  /** Set for deploy secrets, so a drift check can recompute their values. */
  readonly project: string | null;
  readonly fingerprint: string;
  readonly keyId: string;
  /** GitHub's clock when it accepted the value. */
  readonly githubTime: string;
  readonly pushedAt: string;
  readonly requestId: string;
  readonly githubRequestId: string;
}

interface PushRow extends Row {
  name: string;
  source: string;
  project: string | null;
  fingerprint: string;
  key_id: string;
  github_time: string;
  pushed_at: string;
  request_id: string;
  github_request_id: string;
}

/** Writes the records of a batch's accepted secrets, inside the caller's transaction. */
export async function recordPushes(
  tx: Transaction,
  target: SecretTarget,
  pushed: readonly PushedSecret[],
  extra: { readonly project: string | null; readonly requestId: string },
): Promise<void> {
  for (const secret of pushed) {
    await tx.run(
      `INSERT OR REPLACE INTO github_secret_pushes
         (repo, environment, name, repo_display, source, project, fingerprint, key_id, github_time, pushed_at, request_id, github_request_id)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [
        target.repository.key,
        target.environment ?? '',
        secret.name,
        target.repository.fullName,
        secret.source,
        extra.project,
        secret.fingerprint,
        secret.keyId,
        secret.githubTime,
        secret.pushedAt,
        extra.requestId,
        secret.githubRequestId,
      ],
    );
  }
}

/** Every record of a repository (or environment), by name. */
export async function readPushes(store: Database, target: SecretTarget): Promise<PushRecord[]> {
  const rows = await store.all<PushRow>('SELECT * FROM github_secret_pushes WHERE repo = ? AND environment = ? ORDER BY name', [
    target.repository.key,
    target.environment ?? '',
  ]);
  return rows.map((row) => ({
    name: row.name,
    source: row.source,
    project: row.project,
    fingerprint: row.fingerprint,
    keyId: row.key_id,
    githubTime: row.github_time,
    pushedAt: row.pushed_at,
    requestId: row.request_id,
    githubRequestId: row.github_request_id,
  }));
}

/** Every repository (or environment) that got a project's CI deploy key, as `owner/name` and environment ('' for none). */
export async function deployKeyTargets(store: Database, project: string): Promise<{ repo: string; environment: string }[]> {
  return (
    await store.all<{ repo_display: string; environment: string } & Row>(
      `SELECT DISTINCT repo_display, environment FROM github_secret_pushes WHERE name = 'DEPLOY_SSH_KEY' AND project = ? ORDER BY repo_display, environment`,
      [project],
    )
  ).map((row) => ({ repo: row.repo_display, environment: row.environment }));
}
