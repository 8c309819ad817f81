import type { AuditLog } from './core/audit.js';
import type { Logger, ScopedLogger } from './core/logger.js';
import type { Notifier } from './core/notifier.js';
import type { DataPaths } from './core/paths.js';
import type { Redactor } from './core/redactor.js';
import type { SettingsService } from './settings/settings.js';
import type { Store } from './store/store.js';

/**
 * The domain services of one daemon, handed to every handler module. Each capability adds its service here and
 * registers its handlers in `handlers/index.ts`.
 */
export interface Services {
  readonly paths: DataPaths;
  readonly store: Store;
  readonly redactor: Redactor;
  readonly logger: Logger;
  readonly log: ScopedLogger;
  readonly notifier: Notifier;
  readonly settings: SettingsService;
  readonly audit: AuditLog;
  /** Register background work (timers, child processes) that shutdown must stop. */
  readonly lifecycle: Lifecycle;
}

/** A daemon-wide hook for background work (timers, child processes) that shutdown must stop first. */
export interface Lifecycle {
  /** Registers a function that stops background work; called in reverse order on shutdown. */
  onShutdown(stop: () => Promise<void> | void): void;
  /** Asks the daemon to shut down. */
  requestShutdown(reason: string): void;
}
