/**
 * Shared set-up for the inventory and allocation tests that run in-process: a real store (sql.js + journal in a
 * throwaway folder, with the real migrations), the real settings service, and a notifier that records what clients
 * would have been told.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Allocator } from '../../daemon/allocation/allocator.js';
import type { Notifier } from '../../daemon/core/notifier.js';
import { Inventory, type NewServer } from '../../daemon/inventory/inventory.js';
import type { NotificationDefinition } from '../../daemon/protocol/define.js';
import { SettingsService } from '../../daemon/settings/settings.js';
import { MIGRATIONS } from '../../daemon/store/schema.js';
import { EmbeddedDatabase } from '../../daemon/store/embedded.js';
import { Store } from '../../daemon/store/store.js';

/** A notifier that keeps every notification, for assertions. */
export class RecordingNotifier implements Notifier {
  readonly sent: { method: string; params: unknown }[] = [];
  notify<P>(definition: NotificationDefinition<P>, params: P): void {
    this.sent.push({ method: definition.method, params });
  }
}

import { MemorySecrets } from '../fakes/memorySecrets.js';

export { MemorySecrets };

/** An inventory and allocator over a fresh store. */
export interface TestInventory {
  readonly folder: string;
  readonly store: Store;
  /** The same store as domain code uses it. */
  readonly database: EmbeddedDatabase;
  readonly settings: SettingsService;
  readonly notifier: RecordingNotifier;
  readonly inventory: Inventory;
  readonly allocator: Allocator;
  /** Adds a server and marks it as a health check would have: reachable, with this much free RAM and disk. */
  addReady(handle: string, free: { ramMb: number; diskMb?: number; listening?: number[] }, extra?: Partial<NewServer>): Promise<void>;
  /** Re-opens the same files (a daemon restart) and returns a new inventory over them. */
  reopen(): Promise<TestInventory>;
  close(): void;
}

/** Opens a store in `folder` (a new one if omitted) and builds the inventory and allocator over it. */
export async function openTestInventory(folder = fs.mkdtempSync(path.join(os.tmpdir(), 'zavhoz-inventory-'))): Promise<TestInventory> {
  const store = await Store.open({ database: path.join(folder, 'zavhoz.db'), journal: path.join(folder, 'zavhoz.journal'), migrations: MIGRATIONS });
  const database = EmbeddedDatabase.of(store);
  const notifier = new RecordingNotifier();
  const settings = await SettingsService.open(database, notifier);
  const allocator = new Allocator(database, notifier);
  const inventory = new Inventory(database, settings, notifier, allocator, new MemorySecrets(new Map()));
  settings.onDidChange(async (key) => {
    if (key === 'ghostServers') await inventory.reevaluateGhosts();
  });
  const self: TestInventory = {
    folder,
    store,
    database,
    settings,
    notifier,
    inventory,
    allocator,
    async addReady(handle, free, extra = {}) {
      await inventory.add({ handle, host: '127.0.0.1', sshPort: 22, sshUser: 'root', labels: [], ...extra });
      store.transaction((tx) =>
        tx.run(
          "UPDATE servers SET status = 'ready', available_ram_mb = ?, available_disk_mb = ?, listening_ports = ? WHERE handle = ?",
          [free.ramMb, free.diskMb ?? 100_000, JSON.stringify(free.listening ?? []), handle],
        ),
      );
    },
    async reopen() {
      store.close();
      return openTestInventory(folder);
    },
    close() {
      store.close();
      fs.rmSync(folder, { recursive: true, force: true });
    },
  };
  return self;
}
