import * as z from 'zod';
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

/**
 * What `team join --copy-local` put into the (empty) team store: counts per kind, and the secrets whose records were
 * copied while their values stay in this member's keychain (other members' daemons see them but cannot read them).
 */
export interface LocalStateCopied {
  readonly servers: number;
  readonly allocations: number;
  readonly runs: number;
  readonly releases: number;
  /** Secret records (handle, name, metadata; never a value), with their kept versions and where each value lives. */
  readonly secrets: number;
  readonly domains: number;
  readonly settings: number;
  /** Secrets whose values only this member's keychain holds, the first {@link PERSONAL_SECRETS_LISTED} of them. */
  readonly personalSecrets: readonly PersonalSecretCopied[];
  /** How many copied secrets keep their values in this member's keychain (the list above may stop short). */
  readonly personalSecretCount: number;
  /**
   * True when the team store's vault already had a folder id of its own (another member's daemon started on it
   * first): it names this member's keychain entries after the switch, so the fingerprint key is made anew (the copied
   * secrets' fingerprints read as changed; their values are unaffected) and a team Vault connection must be made again.
   */
  readonly vaultFolderDiffers: boolean;
  /** What stays in the embedded store, as it is this member's own: audit entries, notification endpoints, agent grants and approved commands, approval requests. */
  readonly keptHere: { readonly audit: number; readonly notifyEndpoints: number; readonly agentGrants: number; readonly agentCommands: number; readonly approvals: number };
}

/** How many personal secrets {@link LocalStateCopied} names one by one. */
export const PERSONAL_SECRETS_LISTED = 50;

/** A copied secret whose value stays in this member's keychain, and what the copied rows use it for. */
export interface PersonalSecretCopied {
  readonly handle: string;
  readonly name: string;
  readonly project: string | null;
  /** E.g. `SSH key of server vps_one`, `setting githubTokenSecret`. */
  readonly usedBy: readonly string[];
}

/**
 * What became of the join's `--password-secret` record: copied into the team store (so that rotating it keeps
 * working after the switch), already there, or not copied and why.
 */
export interface PasswordSecretCopy {
  readonly outcome: 'copied' | 'present' | 'not-copied';
  readonly message: string | null;
}

/** What `team/join` answers besides the status. */
export interface TeamJoinResult extends TeamStatusView {
  /** Without `copyLocal`: what stays behind in the embedded store (counts), when it holds any. */
  readonly notCopied?: LocalStateLeftBehind;
  /** With `copyLocal`: what was copied. */
  readonly copied?: LocalStateCopied;
  /** With `passwordSecret`: whether its vault record is in the team store. */
  readonly passwordSecretCopy?: PasswordSecretCopy;
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
 * The password is a vault handle (`passwordSecret`) or a PGPASSFILE path, never a value; that handle's vault record is
 * copied to the team store, so it can still be rotated after the switch. With `copyLocal`, an empty team store gets
 * this machine's servers, allocations, runs, releases, domains, settings and the vault records they use (never a
 * value), in one transaction; a team store that holds any of these is refused, unchanged. The embedded store is
 * never changed.
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
    /** Copies this machine's state into the team store, which must be empty. */
    copyLocal: z.boolean().optional(),
  }),
  result<TeamJoinResult>(),
);

/** The store this daemon runs on, the team it joined, whether the team database answers, its schema and members. */
export const TeamStatus = defineRequest('team/status', () => z.strictObject({}), result<TeamStatusView>());

/**
 * Leaves the team: the next start opens the embedded store again (as it was before joining). What the team shares
 * stays in PostgreSQL; the kept password is removed from the keychain.
 */
export const TeamLeave = defineRequest('team/leave', () => z.strictObject({}), result<TeamStatusView & { readonly left: boolean }>());
