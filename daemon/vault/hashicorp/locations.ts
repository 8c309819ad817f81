/**
 * Where each secret's value lives (migration 13): a row per team secret, none for personal ones. Metadata only:
 * the value itself is in the team's Vault, never here. Read from the store on every question, not cached, so a team
 * secret another member's daemon added to a shared store is found at once.
 */
import type { SecretLocationName } from '../../protocol/secretFields.js';
import type { Database } from '../../store/database.js';
import { folderIdOf } from '../records.js';

/** The `secret_locations` table. */
export class SecretLocations {
  constructor(private readonly store: Database) {}

  /** Where a secret's value lives. */
  async of(handle: string): Promise<SecretLocationName> {
    return (await this.store.get('SELECT location FROM secret_locations WHERE handle = ?', [handle]))?.location === 'team' ? 'team' : 'personal';
  }

  /** Records that a new secret's value lives in the team's Vault (durable before the value is written). */
  async markTeam(handle: string, at: string): Promise<void> {
    await this.store.transaction((tx) => tx.run('INSERT OR IGNORE INTO secret_locations (handle, location, created_at) VALUES (?, ?, ?)', [handle, 'team', at]));
  }

  /** Forgets rows whose secret is gone and whose removal has finished (no write in flight for it). */
  async sweep(): Promise<number> {
    // Found and deleted in one transaction: a secret written meanwhile cannot lose its row.
    return this.store.transaction(async (tx) => {
      const orphans = (
        await tx.all('SELECT handle FROM secret_locations WHERE handle NOT IN (SELECT handle FROM secrets) AND handle NOT IN (SELECT handle FROM vault_pending)')
      ).map((row) => String(row.handle));
      for (const handle of orphans) await tx.run('DELETE FROM secret_locations WHERE handle = ?', [handle]);
      return orphans.length;
    });
  }

  /** How many secrets live in the team's Vault. */
  async teamCount(): Promise<number> {
    return Number((await this.store.get("SELECT COUNT(*) AS n FROM secret_locations WHERE location = 'team' AND handle IN (SELECT handle FROM secrets)"))?.n ?? 0);
  }

  /** One team secret's handle (the oldest), to check a new connection reaches the values already stored; undefined when there is none. */
  async someTeamHandle(): Promise<string | undefined> {
    const row = await this.store.get("SELECT handle FROM secret_locations WHERE location = 'team' AND handle IN (SELECT handle FROM secrets) ORDER BY created_at, handle LIMIT 1");
    return row ? String(row.handle) : undefined;
  }

  /** The data folder's id (the vault's `folder_id`), which names this folder's keychain entries; made if none yet. */
  folderId(): Promise<string> {
    return folderIdOf(this.store);
  }
}
