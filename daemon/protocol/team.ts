import { z } from 'zod';
import { defineRequest, result } from './define.js';
import { secretHandle } from './secretFields.js';

/**
 * Team mode: a member's daemon keeps its state in the team's PostgreSQL instead of its own embedded store. The
 * password never travels: it is a vault handle (whose value the daemon keeps in the OS keychain) or a PGPASSFILE.
 */

/**
 * What this data folder's embedded store holds that joining does not copy to the team store (counts): it stays on
 * this machine, unseen by the team, and comes back on `team leave`.
 */
export interface LocalStateLeftBehind {
  readonly servers: number;
  readonly allocations: number;
  readonly runs: number;
  readonly secrets: number;
}

/** What `team/status` (and `team/join`, `team/leave`) answer. Never a password. */
export interface TeamStatusView {
  /** The store this daemon runs on now. */
  readonly engine: 'embedded' | 'postgres';
  /** The team this data folder joined (what the next start opens), if any. */
  readonly joined: {
    readonly host: string;
    readonly port: number;
    readonly database: string;
    readonly user: string;
    /** `secret` (a vault handle, kept in the keychain), `passfile`, or `none` (the server asks for no password). */
    readonly password: 'secret' | 'passfile' | 'none';
    readonly passwordSecret: string | null;
    readonly member: string;
    readonly joinedAt: string;
  } | null;
  /** False when the daemon runs on another store than the one recorded: it switches at its next start. */
  readonly restartNeeded: boolean;
  /** Whether the team database answered this request (null: not asked, the daemon is not on it). */
  readonly reachable: boolean | null;
  /** The team database's schema version, and the newest this Zavhoz knows. */
  readonly schemaVersion: number | null;
  readonly latestSchema: number;
  /** Members whose daemons opened the team store, with when they were last seen (ISO). */
  readonly members: readonly { readonly member: string; readonly version: string; readonly lastSeen: string }[];
  /** What is wrong and what to do, when something is. */
  readonly message: string | null;
}

/**
 * Joins a team: checks that the team's PostgreSQL answers with these credentials, applies the migrations there, and
 * records it in this daemon's own store. The daemon keeps its current store until it restarts (the answer says so).
 * The password is a vault handle (`passwordSecret`) or a PGPASSFILE path, never a value.
 */
export const TeamJoin = defineRequest(
  'team/join',
  () => z.strictObject({
    host: z.string().min(1).max(255),
    port: z.number().int().min(1).max(65_535).default(5432),
    database: z.string().min(1).max(63),
    user: z.string().min(1).max(63),
    passwordSecret: secretHandle.optional(),
    passFile: z.string().min(1).max(4096).optional(),
    /** This member's name in the audit log and in lock messages (default user@host). */
    member: z.string().min(1).max(64).regex(/^[^\s]+$/, 'a name without spaces').optional(),
  }),
  result<TeamStatusView & { readonly notCopied?: LocalStateLeftBehind }>(),
);

/** The store this daemon runs on, the team it joined, whether the team database answers, its schema and members. */
export const TeamStatus = defineRequest('team/status', () => z.strictObject({}), result<TeamStatusView>());

/**
 * Leaves the team: the next start opens the embedded store again (as it was before joining). What the team shares
 * stays in PostgreSQL; the kept password is removed from the keychain.
 */
export const TeamLeave = defineRequest('team/leave', () => z.strictObject({}), result<TeamStatusView & { readonly left: boolean }>());
