/**
 * Where each secret's value lives (migration 13): a row per team secret, none for personal ones. Metadata only:
 * the value itself is in the team's Vault, never here. Read from the store on every question, not cached, so a team
 * secret another member's daemon added to a shared store is found at once.
 */
import type { SecretLocationName } from '../../protocol/secretFields.js';
import type { Store } from '../../store/store.js';

/** The `secret_locations` table. */
export class SecretLocations {
  constructor(private readonly store: Store) {}

  /** Where a secret's value lives. */
  of(handle: string): SecretLocationName {
    return this.store.get('SELECT location FROM secret_locations WHERE handle = ?', [handle])?.location === 'team' ? 'team' : 'personal';
  }

  /** Records that a new secret's value lives in the team's Vault (durable before the value is written). */
  markTeam(handle: string, at: string): void {
    this.store.transaction((tx) => tx.run('INSERT OR IGNORE INTO secret_locations (handle, location, created_at) VALUES (?, ?, ?)', [handle, 'team', at]));
  }

  /** Forgets rows whose secret is gone and whose removal has finished (no write in flight for it). */
  sweep(): number {
    const orphans = this.store
      .all('SELECT handle FROM secret_locations WHERE handle NOT IN (SELECT handle FROM secrets) AND handle NOT IN (SELECT handle FROM vault_pending)')
      .map((row) => String(row.handle));
    if (orphans.length === 0) return 0;
    this.store.transaction((tx) => {
      for (const handle of orphans) tx.run('DELETE FROM secret_locations WHERE handle = ?', [handle]);
    });
    return orphans.length;
  }

  /** How many secrets live in the team's Vault. */
  teamCount(): number {
    return Number(this.store.get("SELECT COUNT(*) AS n FROM secret_locations WHERE location = 'team' AND handle IN (SELECT handle FROM secrets)")?.n ?? 0);
  }

  /** One team secret's handle (the oldest), to check a new connection reaches the values already stored; undefined when there is none. */
  someTeamHandle(): string | undefined {
    const row = this.store.get("SELECT handle FROM secret_locations WHERE location = 'team' AND handle IN (SELECT handle FROM secrets) ORDER BY created_at, handle LIMIT 1");
    return row ? String(row.handle) : undefined;
  }

  /** The data folder's id (the vault's `folder_id`), which names this folder's keychain entries; undefined before the vault first opened. */
  folderId(): string | undefined {
    const row = this.store.get("SELECT value FROM vault_meta WHERE key = 'folder_id'");
    return row ? String(row.value) : undefined;
  }
}
