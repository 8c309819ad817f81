import { ZavhozError } from '../core/errors.js';
import { ErrorCodes } from '../protocol/errors.js';
import { type PostgresConnection, PostgresDatabase } from '../store/postgres/database.js';
import { MIGRATIONS } from '../store/schema.js';
import { KeychainBackend } from '../vault/keychainBackend.js';
import { passwordAccountOf, type TeamRecord } from './record.js';

/** What opening the team store needs besides the record. */
export interface TeamStoreOptions {
  /** The data folder (names the keychain entry of the password). */
  readonly folder: string;
  /** Told about connections lost while idle, for the log. */
  readonly onConnectionLost?: (reason: string) => void;
  /** Registers the password with the redactor once read. */
  readonly onPassword?: (password: string) => void;
  /** Overrides the default connect timeout (join checks quickly). */
  readonly connectTimeoutMs?: number;
}

/** The connection of a record: the password from the keychain copy (fetched per new connection) or the password file. */
export function connectionOf(record: TeamRecord, options: TeamStoreOptions, password?: string): PostgresConnection {
  const base = {
    host: record.host,
    port: record.port,
    database: record.database,
    user: record.user,
    applicationName: `zavhoz ${record.member}`.slice(0, 63),
    ...(options.connectTimeoutMs === undefined ? {} : { connectTimeoutMs: options.connectTimeoutMs }),
  };
  if (password !== undefined) return { ...base, password };
  if (record.passFile !== undefined) return { ...base, passFile: record.passFile };
  if (record.passwordSecret === undefined) return base;
  const account = passwordAccountOf(options.folder);
  const backend = new KeychainBackend();
  return {
    ...base,
    password: async () => {
      const value = await backend.read(account);
      if (value === undefined) {
        throw new ZavhozError(
          ErrorCodes.StoreUnavailable,
          `The password of the team database is no longer in the OS keychain. Run zavhoz team join again with --password-secret ${record.passwordSecret ?? 'HANDLE'}.`,
        );
      }
      options.onPassword?.(value);
      return value;
    },
  };
}

/** Opens the team's store: connects, applies pending migrations. Errors say what to do (unreachable, login, too new). */
export function openTeamStore(record: TeamRecord, options: TeamStoreOptions, password?: string): Promise<PostgresDatabase> {
  return PostgresDatabase.open({
    connection: connectionOf(record, options, password),
    migrations: MIGRATIONS,
    ...(options.onConnectionLost ? { onConnectionLost: options.onConnectionLost } : {}),
  });
}

/** Keeps the team database's password in the OS keychain (the daemon reads it from there on each new connection). */
export async function keepPassword(folder: string, password: string): Promise<void> {
  await new KeychainBackend().write(passwordAccountOf(folder), password);
}

/** Removes the kept password, if any. */
export async function forgetPassword(folder: string): Promise<void> {
  await new KeychainBackend().remove(passwordAccountOf(folder)).catch(() => false);
}
