import crypto from 'node:crypto';
import os from 'node:os';
import type { Database } from '../store/database.js';

/**
 * The team this daemon joined, as kept in its own embedded store (never in the shared one): where the team's
 * PostgreSQL is, who logs in, where the password comes from, and this member's name. No password in it.
 */
export interface TeamRecord {
  readonly host: string;
  readonly port: number;
  readonly database: string;
  readonly user: string;
  /** The vault handle the password was taken from at join; the value itself is kept in the OS keychain. */
  readonly passwordSecret?: string;
  /** A PostgreSQL password file (mode 0600), read on each new connection. */
  readonly passFile?: string;
  /** This member's name in the audit log, in `team status` and in lock messages. */
  readonly member: string;
  readonly joinedAt: string;
}

/** The row of the embedded store's `settings` table the record is kept in (not a setting clients list or change). */
const RECORD_KEY = 'team.store';

/** The member name when none is given: the OS user at this machine. */
export function defaultMemberName(): string {
  let user = 'user';
  try {
    user = os.userInfo().username || user;
  } catch {
    // No passwd entry for this uid (containers): the default stays.
  }
  return `${user}@${os.hostname()}`;
}

/** The keychain account holding the team database's password, one per data folder. */
export function passwordAccountOf(folder: string): string {
  return `team-store.${crypto.createHash('sha256').update(folder).digest('hex').slice(0, 16)}`;
}

/** The team this data folder joined, if any; a record that cannot be read counts as none. */
export async function readTeamRecord(local: Database): Promise<TeamRecord | undefined> {
  const row = await local.get<{ value: string }>('SELECT value FROM settings WHERE key = ?', [RECORD_KEY]);
  if (!row) return undefined;
  try {
    const parsed = JSON.parse(row.value) as Partial<TeamRecord>;
    if (typeof parsed.host !== 'string' || typeof parsed.port !== 'number' || typeof parsed.database !== 'string' || typeof parsed.user !== 'string' || typeof parsed.member !== 'string') {
      return undefined;
    }
    return parsed as TeamRecord;
  } catch {
    return undefined;
  }
}

/** Records the team (durably: the next start opens it). */
export async function writeTeamRecord(local: Database, record: TeamRecord): Promise<void> {
  await local.transaction(async (tx) => {
    await tx.run('INSERT OR REPLACE INTO settings (key, value, updated_at) VALUES (?, ?, ?)', [RECORD_KEY, JSON.stringify(record), new Date().toISOString()]);
  });
}

/** Forgets the team; true if there was one. */
export async function removeTeamRecord(local: Database): Promise<boolean> {
  return local.transaction(async (tx) => (await tx.run('DELETE FROM settings WHERE key = ?', [RECORD_KEY])) > 0);
}
