import { ZavhozError, invalidInput } from '../core/errors.js';
import type { Notifier } from '../core/notifier.js';
import { DEFAULT_SETTINGS, type SettingKey, SettingSchemas, type Settings, SettingsDidChange } from '../protocol/settings.js';
import { ErrorCodes } from '../protocol/errors.js';
import type { Database, DatabaseTransaction } from '../store/database.js';

/**
 * Daemon-wide settings: defaults overlaid with what the user stored. Read on every request path (deploy, agents,
 * proxies), so they are kept in memory, loaded once by {@link SettingsService.open} and replaced on each change; only a
 * change goes to the store.
 */
export class SettingsService {
  private readonly listeners = new Set<(key: SettingKey) => void | Promise<void>>();

  private constructor(
    private readonly store: Database,
    private readonly notifier: Notifier,
    private current: Settings,
  ) {}

  /** Reads the stored settings once. */
  static async open(store: Database, notifier: Notifier): Promise<SettingsService> {
    return new SettingsService(store, notifier, await readSettings(store));
  }

  /** Every setting's current value. */
  all(): Settings {
    return { ...this.current };
  }

  /** One setting's current value. */
  get<K extends SettingKey>(key: K): Settings[K] {
    return this.current[key];
  }

  /** Validates and stores one setting, then tells every client. */
  async set(key: SettingKey, value: unknown): Promise<Settings> {
    const parsed = SettingSchemas[key].safeParse(value);
    if (!parsed.success) throw invalidInput(`Invalid value for setting ${key}: ${parsed.error.issues[0]?.message ?? 'malformed'}.`);
    this.current = await this.store.transaction(async (tx) => {
      await tx.run('INSERT OR REPLACE INTO settings (key, value, updated_at) VALUES (?, ?, ?)', [
        key,
        JSON.stringify(parsed.data),
        new Date().toISOString(),
      ]);
      return readSettings(tx);
    });
    this.notifier.notify(SettingsDidChange, { key });
    // Awaited: what a setting drives (the ghost flags) is in line with it when the change is answered.
    for (const listener of this.listeners) await listener(key);
    return this.all();
  }

  /**
   * Reads the stored settings afresh after another member's daemon changed `key` in the team's shared store (told by
   * its change notice), then calls the listeners as a change made here would. Clients are told by whoever relays the
   * notice.
   */
  async reload(key: SettingKey): Promise<void> {
    this.current = await readSettings(this.store);
    for (const listener of this.listeners) await listener(key);
  }

  /**
   * A change a client asks for (`settings/set`): as {@link set}, except that a `ghostServers` list leaving out a
   * current ghost is refused unless `dropGhosts`. `server ghost` and `server manage` edit the same list, so a list
   * typed without an entry someone ghosted must never quietly make that machine available to automation again.
   */
  change(key: SettingKey, value: unknown, options: { readonly dropGhosts: boolean }): Promise<Settings> {
    if (key === 'ghostServers' && !options.dropGhosts) {
      const parsed = SettingSchemas.ghostServers.safeParse(value);
      if (parsed.success) refuseDroppedGhosts(this.get('ghostServers'), parsed.data);
    }
    return this.set(key, value);
  }

  /** Calls `listener` after a setting changed, so daemon services can react (re-evaluate ghosts, reschedule timers). */
  onDidChange(listener: (key: SettingKey) => void | Promise<void>): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

/** The stored settings over the defaults; a stored value that no longer passes its schema reads as the default. */
async function readSettings(reader: Pick<DatabaseTransaction, 'all'>): Promise<Settings> {
  const settings: Record<string, unknown> = { ...DEFAULT_SETTINGS };
  for (const row of await reader.all<{ key: string; value: string }>('SELECT key, value FROM settings')) {
    if (row.key in SettingSchemas) {
      const parsed = SettingSchemas[row.key as SettingKey].safeParse(JSON.parse(row.value));
      if (parsed.success) settings[row.key] = parsed.data;
    }
  }
  return settings as Settings;
}

/** Throws when `next` leaves out entries of `current`, saying which and how to add or drop ghosts instead. */
function refuseDroppedGhosts(current: readonly string[], next: readonly string[]): void {
  const dropped = current.filter((entry) => !next.includes(entry));
  if (dropped.length === 0) return;
  const kept = JSON.stringify([...new Set([...current, ...next])]).replace(/'/g, "'\\''");
  const names = dropped.join(', ');
  throw new ZavhozError(
    ErrorCodes.Conflict,
    `Not changed: the new ghostServers list leaves out ${names}, which ${dropped.length === 1 ? 'is a ghost' : 'are ghosts'} now. ` +
      `Setting it would make ${dropped.length === 1 ? 'that server' : 'those servers'} managed again, so automation and agents could deploy there. ` +
      `To add ghosts, keep the current ones: zavhoz config set ghostServers '${kept}' (or zavhoz server ghost HANDLE). ` +
      `To make a ghost managed again: zavhoz server manage ${dropped.find((entry) => /^[a-z][a-z0-9_-]{0,63}$/.test(entry)) ?? 'HANDLE'}; to drop entries from the list anyway, repeat the command with --drop-ghosts.`,
    { dropped },
  );
}
