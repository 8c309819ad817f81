import type { ScopedLogger } from '../core/logger.js';
import type { Redactor } from '../core/redactor.js';
import { ZavhozError } from '../core/errors.js';
import { ErrorCodes } from '../protocol/errors.js';
import type { Database } from '../store/database.js';
import type { PostgresDatabase } from '../store/postgres/database.js';
import { openTeamStore } from '../team/connect.js';
import { readTeamRecord, type TeamRecord } from '../team/record.js';
import { recordMember } from '../team/service.js';

/** The store a daemon runs on: its embedded one, or the team's PostgreSQL when the data folder joined a team. */
export interface ChosenStore {
  /** What domain code uses. */
  readonly store: Database;
  /** The daemon's own embedded store (the team record lives there); the same as `store` outside a team. */
  readonly local: Database;
  /** The team store and its record, when the daemon runs on one. */
  readonly team?: { readonly record: TeamRecord; readonly store: PostgresDatabase } | undefined;
}

/**
 * Chooses the engine at start: the embedded store (zero configuration) unless this data folder joined a team
 * (`zavhoz team join`), then the team's PostgreSQL. `ZAVHOZ_STORE=embedded` keeps the embedded store for one start,
 * so a member whose team database is gone can still reach the daemon and run `zavhoz team leave`. A team database
 * that cannot be opened stops the start with a message saying what to do; the embedded store is never used in its
 * place behind the member's back (their allocations would collide with the team's).
 */
export async function chooseStore(local: Database, options: { folder: string; environment: NodeJS.ProcessEnv; redactor: Redactor; log: ScopedLogger }): Promise<ChosenStore> {
  const record = await readTeamRecord(local);
  if (!record) return { store: local, local };
  if (options.environment.ZAVHOZ_STORE === 'embedded') {
    options.log.warn('this data folder joined a team, but ZAVHOZ_STORE=embedded keeps the embedded store for this start', { host: record.host, port: record.port });
    return { store: local, local };
  }
  const { log, redactor, folder } = options;
  try {
    const store = await openTeamStore(record, {
      folder,
      onPassword: (password) => redactor.register(password),
      onConnectionLost: (reason) => log.warn('a connection to the team store was lost; the next request opens a new one', { reason }),
    });
    try {
      await recordMember(store, record.member);
    } catch (error) {
      await store.close();
      throw error;
    }
    log.info('running on the team store', { engine: 'postgres', host: record.host, port: record.port, database: record.database, member: record.member });
    return { store, local, team: { record, store } };
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new ZavhozError(
      ErrorCodes.StoreUnavailable,
      `${reason} This data folder joined the team at ${record.host}:${record.port}/${record.database}, so the daemon does not start without it. To work alone meanwhile, start the daemon with ZAVHOZ_STORE=embedded, or leave the team (zavhoz team leave, with ZAVHOZ_STORE=embedded set for the daemon).`,
    );
  }
}
