import { ZavhozError } from '../core/errors.js';
import type { ScopedLogger } from '../core/logger.js';
import type { Redactor } from '../core/redactor.js';
import { ZAVHOZ_VERSION } from '../core/version.js';
import { ErrorCodes } from '../protocol/errors.js';
import type { LocalStateCopied, LocalStateLeftBehind, PasswordSecretCopy, TeamJoinResult, TeamStatusView } from '../protocol/team.js';
import type { Database } from '../store/database.js';
import type { PostgresDatabase } from '../store/postgres/database.js';
import { MIGRATIONS } from '../store/schema.js';
import type { SecretReader, SecretUse } from '../vault/api.js';
import { forgetPassword, keepPassword, openTeamStore } from './connect.js';
import { copyIntoTeam, copyPasswordRecord, type LocalSnapshot, readLocalState, vaultMetaOf } from './copy.js';
import { defaultMemberName, readTeamRecord, removeTeamRecord, type TeamRecord, writeTeamRecord } from './record.js';

/** What joining asks for: where the team database is, who logs in, where the password comes from. */
export interface TeamJoinRequest {
  readonly host: string;
  readonly port: number;
  readonly database: string;
  readonly user: string;
  readonly passwordSecret?: string | undefined;
  readonly passFile?: string | undefined;
  readonly member?: string | undefined;
  /** Copy this machine's state into the team store, which must be empty (`--copy-local`). */
  readonly copyLocal?: boolean | undefined;
}

/** The team store this daemon runs on, when it does. */
export interface RunningTeamStore {
  readonly record: TeamRecord;
  readonly store: PostgresDatabase;
}

/** What the team service is built from. */
export interface TeamServiceOptions {
  readonly folder: string;
  /** This daemon's own embedded store, where the team record is kept. */
  readonly local: Database;
  /** The team store the daemon runs on (undefined: it runs on the embedded store). */
  readonly running?: RunningTeamStore | undefined;
  readonly vault: SecretReader;
  readonly redactor: Redactor;
  readonly log: ScopedLogger;
}

/**
 * `team/join`, `team/status`, `team/leave`: which store the next start opens, and what the team's store says now.
 * The switch itself happens at start (wiring/store.ts): a running daemon never changes stores under its requests.
 */
export class TeamService {
  constructor(private readonly options: TeamServiceOptions) {}

  /** This daemon's member name: the joined team's, else the default (user@host). */
  get member(): string {
    return this.options.running?.record.member ?? defaultMemberName();
  }

  /** Checks the team database with these credentials, migrates it, records the team; the switch is at the next start. */
  async join(request: TeamJoinRequest, use: SecretUse): Promise<TeamJoinResult> {
    if (request.passwordSecret !== undefined && request.passFile !== undefined) {
      throw new ZavhozError(ErrorCodes.InvalidInput, 'Give the password as a vault handle (--password-secret) or a password file (--passfile), not both.');
    }
    const record: TeamRecord = {
      host: request.host,
      port: request.port,
      database: request.database,
      user: request.user,
      ...(request.passwordSecret === undefined ? {} : { passwordSecret: request.passwordSecret }),
      ...(request.passFile === undefined ? {} : { passFile: request.passFile }),
      member: request.member ?? defaultMemberName(),
      joinedAt: new Date().toISOString(),
    };
    const { folder, log } = this.options;
    const password =
      request.passwordSecret === undefined
        ? undefined
        : await this.options.vault.withValue(request.passwordSecret, use, (value) => value);
    if (password !== undefined) this.options.redactor.register(password);
    // Read first, so that a run under way refuses the copy before anything else happens.
    const snapshot = request.copyLocal === true ? await readLocalState(this.options.local) : undefined;
    const check = await openTeamStore(record, { folder, connectTimeoutMs: 5_000 }, password);
    let copied: LocalStateCopied | undefined;
    let passwordSecretCopy: PasswordSecretCopy | undefined;
    try {
      if (snapshot) copied = await this.copyLocal(check, snapshot, record, use);
      if (request.passwordSecret !== undefined) passwordSecretCopy = await this.copyPasswordSecret(check, request.passwordSecret, snapshot);
      await recordMember(check, record.member);
    } finally {
      await check.close();
    }
    if (password !== undefined) await keepPassword(folder, password);
    else await forgetPassword(folder);
    await writeTeamRecord(this.options.local, record);
    log.info('joined a team store; the daemon switches at its next start', { host: record.host, port: record.port, database: record.database, member: record.member, copied: copied !== undefined });
    const notCopied = copied ? undefined : await leftBehind(this.options.local);
    return { ...(await this.status()), ...(notCopied ? { notCopied } : {}), ...(copied ? { copied } : {}), ...(passwordSecretCopy ? { passwordSecretCopy } : {}) };
  }

  /** `--copy-local`: this machine's state into the (empty) team store, in one transaction. */
  private copyLocal(team: PostgresDatabase, snapshot: LocalSnapshot, record: TeamRecord, use: SecretUse): Promise<LocalStateCopied> {
    return copyIntoTeam(team, snapshot, {
      member: record.member,
      client: use.client,
      requestId: use.requestId,
      where: `${record.host}:${record.port}/${record.database}`,
      log: this.options.log,
      testFault: process.env.ZAVHOZ_TEST_FAULT,
    });
  }

  /**
   * The join's password secret: its vault record goes to the team store too (a copy of the embedded store's took it
   * already), so that rotating it after the switch still renews the keychain copy. A failure here does not fail the
   * join: the answer says what happened.
   */
  private async copyPasswordSecret(team: PostgresDatabase, handle: string, snapshot: LocalSnapshot | undefined): Promise<PasswordSecretCopy> {
    if (snapshot?.rows.get('secrets')?.some((row) => row.handle === handle)) return { outcome: 'copied', message: null };
    const source = this.options.running?.store ?? this.options.local;
    try {
      return await copyPasswordRecord(team, source, handle, await vaultMetaOf(source));
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      this.options.log.warn("the team database password's vault record was not copied to the team store", { handle, error: reason });
      return { outcome: 'not-copied', message: `The record of ${handle} was not copied to the team store (${reason}): after the switch it cannot be rotated there; run zavhoz team join again then.` };
    }
  }

  /** The store in use, the team joined, and — when the daemon runs on it — whether it answers, its schema and members. */
  async status(): Promise<TeamStatusView> {
    const recorded = await readTeamRecord(this.options.local);
    const running = this.options.running;
    const engine = running ? 'postgres' : 'embedded';
    const restartNeeded = !sameTeam(recorded, running?.record);
    const base = {
      engine,
      joined: recorded ? viewOf(recorded) : null,
      restartNeeded,
      latestSchema: MIGRATIONS.length,
    } as const;
    if (!running) {
      const message = recorded
        ? `Joined the team at ${recorded.host}:${recorded.port}/${recorded.database}, but this daemon still runs on its embedded store: it switches when it restarts (zavhoz daemon stop; the next command starts it again).${process.env.ZAVHOZ_STORE === 'embedded' ? ' ZAVHOZ_STORE=embedded keeps it on the embedded store.' : ''}`
        : null;
      return { ...base, reachable: null, schemaVersion: null, members: [], message };
    }
    const { store } = running;
    try {
      const version = await store.get<{ user_version: number }>('PRAGMA user_version');
      const members = await store.all<{ member: string; version: string; last_seen: string }>('SELECT member, version, last_seen FROM team_members ORDER BY member');
      const message = restartNeeded
        ? recorded
          ? 'This daemon runs on another team database than the one recorded: it switches when it restarts.'
          : 'This daemon left the team: it opens its embedded store when it restarts (zavhoz daemon stop; the next command starts it again).'
        : null;
      return {
        ...base,
        reachable: true,
        schemaVersion: version ? version.user_version : null,
        members: members.map((row) => ({ member: row.member, version: row.version, lastSeen: row.last_seen })),
        message,
      };
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      return { ...base, reachable: false, schemaVersion: null, members: [], message: reason };
    }
  }

  /**
   * Keeps the OS keychain's copy of the team database's password equal to its vault secret: called with the handles
   * of secrets that changed (a rotation here, or another member's of a team secret). The daemon reads the copy on each
   * new connection to the team database, before its vault exists, so a rotated password must reach it before the
   * next connection. True when the copy was renewed.
   */
  async secretsChanged(handles: readonly string[]): Promise<boolean> {
    const recorded = await readTeamRecord(this.options.local);
    const handle = recorded?.passwordSecret;
    if (handle === undefined || !handles.includes(handle)) return false;
    const use: SecretUse = { client: 'daemon', requestId: 'team-password-follow', action: 'team-password-copy', detail: { host: recorded?.host ?? '', database: recorded?.database ?? '' } };
    const password = await this.options.vault.withValue(handle, use, (value) => value);
    this.options.redactor.register(password);
    await keepPassword(this.options.folder, password);
    this.options.log.info("the keychain copy of the team database's password follows its vault secret", { handle });
    return true;
  }

  /** Forgets the team (and the kept password); the next start opens the embedded store. */
  async leave(): Promise<TeamStatusView & { left: boolean }> {
    const left = await removeTeamRecord(this.options.local);
    await forgetPassword(this.options.folder);
    if (left) this.options.log.info('left the team store; the daemon opens its embedded store at its next start');
    return { ...(await this.status()), left };
  }
}

/** Records that this member's daemon uses the team store (for `team status`). */
export async function recordMember(store: Database, member: string): Promise<void> {
  const now = new Date().toISOString();
  await store.transaction(async (tx) => {
    const updated = await tx.run('UPDATE team_members SET version = ?, last_seen = ? WHERE member = ?', [ZAVHOZ_VERSION, now, member]);
    if (updated === 0) await tx.run('INSERT OR IGNORE INTO team_members (member, version, first_seen, last_seen) VALUES (?, ?, ?, ?)', [member, ZAVHOZ_VERSION, now, now]);
  });
}

function viewOf(record: TeamRecord): NonNullable<TeamStatusView['joined']> {
  return {
    host: record.host,
    port: record.port,
    database: record.database,
    user: record.user,
    password: record.passwordSecret !== undefined ? 'secret' : record.passFile !== undefined ? 'passfile' : 'none',
    passwordSecret: record.passwordSecret ?? null,
    member: record.member,
    joinedAt: record.joinedAt,
  };
}

function sameTeam(left: TeamRecord | undefined, right: TeamRecord | undefined): boolean {
  if (!left || !right) return left === right;
  return left.host === right.host && left.port === right.port && left.database === right.database && left.user === right.user;
}

/** What the embedded store holds that joining leaves behind (counts); undefined when it holds none of it. */
async function leftBehind(local: Database): Promise<LocalStateLeftBehind | undefined> {
  if (local.engine !== 'embedded') return undefined;
  const count = async (table: string): Promise<number> => (await local.get<{ n: number }>(`SELECT COUNT(*) AS n FROM ${table}`))?.n ?? 0;
  const counts = { servers: await count('servers'), allocations: await count('allocations'), runs: await count('deploy_runs'), secrets: await count('secrets') };
  return Object.values(counts).some((value) => value > 0) ? counts : undefined;
}
