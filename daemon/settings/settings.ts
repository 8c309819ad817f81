import { invalidInput } from '../core/errors.js';
import type { Notifier } from '../core/notifier.js';
import { DEFAULT_SETTINGS, type SettingKey, SettingSchemas, type Settings, SettingsDidChange } from '../protocol/settings.js';
import type { Store } from '../store/store.js';

/** Daemon-wide settings: defaults overlaid with what the user stored. */
export class SettingsService {
  private readonly listeners = new Set<(key: SettingKey) => void>();

  constructor(
    private readonly store: Store,
    private readonly notifier: Notifier,
  ) {}

  /** Every setting's current value. */
  all(): Settings {
    const settings: Record<string, unknown> = { ...DEFAULT_SETTINGS };
    for (const row of this.store.all<{ key: string; value: string }>('SELECT key, value FROM settings')) {
      if (row.key in SettingSchemas) {
        const parsed = SettingSchemas[row.key as SettingKey].safeParse(JSON.parse(row.value));
        if (parsed.success) settings[row.key] = parsed.data;
      }
    }
    return settings as Settings;
  }

  /** One setting's current value. */
  get<K extends SettingKey>(key: K): Settings[K] {
    return this.all()[key];
  }

  /** Validates and stores one setting, then tells every client. */
  set(key: SettingKey, value: unknown): Settings {
    const parsed = SettingSchemas[key].safeParse(value);
    if (!parsed.success) throw invalidInput(`Invalid value for setting ${key}: ${parsed.error.issues[0]?.message ?? 'malformed'}.`);
    this.store.transaction((tx) => {
      tx.run('INSERT OR REPLACE INTO settings (key, value, updated_at) VALUES (?, ?, ?)', [
        key,
        JSON.stringify(parsed.data),
        new Date().toISOString(),
      ]);
    });
    this.notifier.notify(SettingsDidChange, { key });
    for (const listener of this.listeners) listener(key);
    return this.all();
  }

  /** Calls `listener` after a setting changed, so daemon services can react (re-evaluate ghosts, reschedule timers). */
  onDidChange(listener: (key: SettingKey) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
