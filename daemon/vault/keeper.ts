import crypto from 'node:crypto';
import { describeError, ZavhozError } from '../core/errors.js';
import type { ScopedLogger } from '../core/logger.js';
import type { Redactor } from '../core/redactor.js';
import { ErrorCodes } from '../protocol/errors.js';
import type { Database, DatabaseTransaction as Transaction } from '../store/database.js';
import { accountOf, accountsOf, type SecretBackend, versionAccountOf, versionAccountsOf } from './backend.js';
import { folderIdOf, type KeptVersion, type SecretRecord, type SecretRecords, type VersionKey } from './records.js';

/** A change whose value must land in the backend and whose metadata must land in the store, both or neither. */
export type Change =
  | { readonly kind: 'create'; readonly record: SecretRecord; readonly value: string; readonly passphrase?: string }
  /**
   * `record` is the metadata after the change (its version one up); `retired` the version leaving the current
   * slot, whose value moves to its numbered account (null when its value is gone from the backend).
   */
  | { readonly kind: 'replace'; readonly record: SecretRecord; readonly retired: KeptVersion | null; readonly value: string; readonly passphrase?: string };

/** What the keeper needs. */
export interface KeeperOptions {
  readonly store: Database;
  readonly records: SecretRecords;
  readonly redactor: Redactor;
  readonly log: ScopedLogger;
  /** Opens the backend; called once, its outcome (value or error) kept. */
  readonly openBackend: () => Promise<SecretBackend>;
  /** Test-only crash hook (`ZAVHOZ_TEST_FAULT`): the daemon kills itself with SIGKILL at the named point. */
  readonly testFault?: string;
}

/**
 * Keeps the backend and the store in step. Every write follows one protocol: a pending row first (durable), then
 * the backend, then one store transaction that is the commit point; a rotation stages its new value under
 * `#next` so the committed value is never touched before the commit, and after it moves the replaced value to
 * its numbered account (`@v<n>`). Removals commit the metadata first, then remove the accounts. Start-up (and any call that finds pending
 * rows) rolls prepared writes back and committed ones forward, so a crash at any point leaves both sides agreeing.
 * It also masks every value it holds with the redactor.
 */
export class Keeper {
  private backendOpening: Promise<SecretBackend> | undefined;
  private fingerprintKey: Buffer | undefined;
  private ready = false;
  /** account → value registered with the redactor, so each value is unregistered exactly when it leaves. */
  private readonly masked = new Map<string, string>();

  constructor(private readonly options: KeeperOptions) {}

  /**
   * Makes the vault usable and returns the backend: opens it, checks it is the one this folder uses, loads the
   * fingerprint key, finishes interrupted writes, and (once) masks every stored value. Throws the backend's error
   * (locked, unavailable, wrong key) if it cannot; the next call tries again.
   */
  async prepare(): Promise<SecretBackend> {
    this.backendOpening ??= this.options.openBackend();
    const backend = await this.backendOpening;
    if (!this.ready) {
      const started = performance.now();
      await this.checkBackendKind(backend);
      await this.loadFingerprintKey(backend);
      await this.reconcile(backend);
      const counts = await this.maskAll(backend);
      this.ready = true;
      this.options.log.info('vault ready', { backend: backend.kind, ...counts, ms: Math.round(performance.now() - started) });
    } else if ((await this.options.records.pending()).length > 0) {
      await this.reconcile(backend);
    }
    return backend;
  }

  /** True once every stored value is masked. */
  get isReady(): boolean {
    return this.ready;
  }

  /** The keyed fingerprint of a value (prepare first). */
  fingerprint(value: string): string {
    if (!this.fingerprintKey) throw new Error('vault: fingerprint key not loaded');
    return crypto.createHmac('sha256', this.fingerprintKey).update(value, 'utf8').digest('hex');
  }

  /**
   * Reads one account of the current version (`kept` undefined) or of a kept one, failing clearly if a value the
   * metadata promises is missing.
   */
  async readRequired(backend: SecretBackend, record: SecretRecord, kept: KeptVersion | undefined, part: 'value' | 'passphrase'): Promise<string> {
    const account = kept ? versionAccountOf(record.handle, kept.version, part) : accountOf(record.handle, 'current', part);
    const value = await backend.read(account);
    if (value === undefined) {
      throw new ZavhozError(
        ErrorCodes.NotFound,
        `The ${part} of ${record.handle} (${record.name})${kept ? ` version ${kept.version}` : ''} is missing from the ${backend.kind === 'file' ? 'vault file' : 'OS keychain'}: it was removed outside Zavhoz. ${kept ? `Deploy with the current version instead, or give the value again with: zavhoz secret rotate ${record.handle}` : `Give it a new value with: zavhoz secret rotate ${record.handle}`}`,
      );
    }
    this.mask(account, value);
    if (part === 'value' && this.fingerprint(value) !== (kept ?? record).fingerprint) {
      this.options.log.warn('secret value changed outside Zavhoz', { handle: record.handle, name: record.name, ...(kept ? { version: kept.version } : {}) });
    }
    return value;
  }

  /** Applies changes all-or-nothing (see the class comment); `commit` adds its own rows (audit) to the commit. */
  async apply(backend: SecretBackend, changes: readonly Change[], commit: (tx: Transaction) => Promise<void>): Promise<void> {
    const { store, records } = this.options;
    const at = new Date().toISOString();
    const ids = await store.transaction(async (tx) => {
      const added: number[] = [];
      for (const change of changes) added.push(await records.addPending(tx, change.record.handle, change.kind, 'prepared', at));
      return added;
    });
    const staged: string[] = [];
    try {
      for (const change of changes) {
        const slot = change.kind === 'create' ? 'current' : 'next';
        const parts: ['value' | 'passphrase', string | undefined][] = [['value', change.value], ['passphrase', change.passphrase]];
        for (const [part, value] of parts) {
          if (value === undefined) continue;
          const account = accountOf(change.record.handle, slot, part);
          this.mask(account, value); // before the write: from here on a log line could carry it
          staged.push(account);
          await backend.write(account, value);
        }
      }
      this.fault('vault-after-keychain');
      await store.transaction(async (tx) => {
        for (const [index, change] of changes.entries()) {
          const id = ids[index] ?? -1;
          if (change.kind === 'create') {
            await records.insert(tx, change.record);
            await records.removePending(tx, id);
          } else {
            await records.update(tx, change.record);
            if (change.retired) await records.insertVersion(tx, change.retired);
            await records.commitPending(tx, id);
          }
        }
        await commit(tx);
      });
    } catch (error) {
      // Masked while the values are still registered: the error may quote one (a store that refuses by echoing what
      // it was sent, as a team Vault's policy check can), and the roll-back unregisters them before it leaves.
      const masked = maskedError(error, this.options.redactor);
      await this.rollBack(backend, staged, ids);
      throw masked;
    }
    this.fault('vault-after-commit');
    for (const [index, change] of changes.entries()) {
      if (change.kind !== 'replace') continue;
      try {
        await this.finishReplace(backend, change.record);
        await store.transaction((tx) => records.removePending(tx, ids[index] ?? -1));
      } catch (error) {
        // Committed already: the pending row makes the next vault call finish the job before reading anything.
        this.options.log.warn('rotation committed but not finished; will finish on next use', { handle: change.record.handle, error: describeError(error) });
      }
    }
  }

  /**
   * Deletes secrets: metadata first (the commit: the secret, its kept versions and every holder's pins on them),
   * then every backend account.
   */
  async remove(backend: SecretBackend, handles: readonly string[], commit: (tx: Transaction) => Promise<void>): Promise<void> {
    const { store, records } = this.options;
    const at = new Date().toISOString();
    const pending = await store.transaction(async (tx) => {
      const added: { id: number; accounts: string[] }[] = [];
      for (const handle of handles) {
        for (const kept of await records.versions(handle, tx)) {
          added.push({ id: await records.addPending(tx, handle, 'drop-version', 'committed', at, kept.version), accounts: versionAccountsOf(handle, kept.version) });
        }
        await records.removeAllVersions(tx, handle);
        await records.remove(tx, handle);
        added.push({ id: await records.addPending(tx, handle, 'delete', 'committed', at), accounts: accountsOf(handle) });
      }
      await commit(tx);
      return added;
    });
    this.fault('vault-delete-after-commit');
    await this.finishRemovals(backend, pending);
  }

  /**
   * Drops kept versions: `decide` makes its metadata changes (holds, grace) inside the commit and returns the
   * versions nobody keeps any more; their metadata goes in the same commit, then their accounts. Returns those.
   */
  async dropVersions(backend: SecretBackend, decide: (tx: Transaction) => Promise<readonly VersionKey[]>): Promise<VersionKey[]> {
    const { store, records } = this.options;
    const at = new Date().toISOString();
    const { dropped, pending } = await store.transaction(async (tx) => {
      const chosen = [...(await decide(tx))];
      const added: { id: number; accounts: string[] }[] = [];
      for (const key of chosen) {
        await records.removeVersion(tx, key);
        added.push({ id: await records.addPending(tx, key.handle, 'drop-version', 'committed', at, key.version), accounts: versionAccountsOf(key.handle, key.version) });
      }
      return { dropped: chosen, pending: added };
    });
    this.fault('vault-drop-after-commit');
    await this.finishRemovals(backend, pending);
    return dropped;
  }

  private async finishRemovals(backend: SecretBackend, pending: readonly { id: number; accounts: readonly string[] }[]): Promise<void> {
    for (const { id, accounts } of pending) {
      await this.removeAccounts(backend, accounts);
      await this.options.store.transaction((tx) => this.options.records.removePending(tx, id));
    }
  }

  private async rollBack(backend: SecretBackend, staged: readonly string[], ids: readonly number[]): Promise<void> {
    try {
      await this.removeAccounts(backend, staged);
      await this.options.store.transaction(async (tx) => {
        for (const id of ids) await this.options.records.removePending(tx, id);
      });
    } catch (error) {
      // The pending rows stay; the next start or vault call rolls the rest back.
      this.options.log.warn('could not undo a failed vault write yet', { error: describeError(error) });
    }
  }

  /**
   * Moves a committed rotation into place: current → its numbered account (`@v<n>`), next → current, then drops
   * `#next`. Safe to run again after a crash at any step: fingerprints tell which value each account holds.
   */
  private async finishReplace(backend: SecretBackend, record: SecretRecord): Promise<void> {
    const handle = record.handle;
    const retired = await this.options.records.version({ handle, version: record.version - 1 });
    const next = await backend.read(accountOf(handle, 'next'));
    if (next !== undefined) {
      const current = await backend.read(accountOf(handle));
      if (current !== undefined && retired !== undefined && this.fingerprint(current) === retired.fingerprint) {
        const retiredPassphrase = retired.hasPassphrase ? await backend.read(accountOf(handle, 'current', 'passphrase')) : undefined;
        await this.put(backend, versionAccountOf(handle, retired.version, 'passphrase'), retiredPassphrase);
        await this.put(backend, versionAccountOf(handle, retired.version), current);
      }
      await this.put(backend, accountOf(handle), next);
    }
    const nextPassphrase = await backend.read(accountOf(handle, 'next', 'passphrase'));
    // Without a staged passphrase while one is expected, it was already moved (it is dropped only after the move).
    if (!record.hasPassphrase) await this.put(backend, accountOf(handle, 'current', 'passphrase'), undefined);
    else if (nextPassphrase !== undefined) await this.put(backend, accountOf(handle, 'current', 'passphrase'), nextPassphrase);
    await this.removeAccounts(backend, [accountOf(handle, 'next', 'passphrase'), accountOf(handle, 'next')]);
  }

  /**
   * Moves the old layout's `#previous` value (and passphrase) to the numbered account of the version migration 8
   * made of it, then removes `#previous`. Safe to run again: a numbered account already written is not touched.
   */
  private async movePrevious(backend: SecretBackend, key: VersionKey): Promise<void> {
    const kept = await this.options.records.version(key);
    if (kept && (await backend.read(versionAccountOf(key.handle, key.version))) === undefined) {
      const value = await backend.read(accountOf(key.handle, 'previous'));
      if (value !== undefined) {
        if (kept.hasPassphrase) await this.put(backend, versionAccountOf(key.handle, key.version, 'passphrase'), await backend.read(accountOf(key.handle, 'previous', 'passphrase')));
        await this.put(backend, versionAccountOf(key.handle, key.version), value);
      }
    }
    await this.removeAccounts(backend, [accountOf(key.handle, 'previous', 'passphrase'), accountOf(key.handle, 'previous')]);
  }

  /** Writes (or with `undefined`, removes) an account, keeping the redactor in step. */
  private async put(backend: SecretBackend, account: string, value: string | undefined): Promise<void> {
    if (value === undefined) {
      await backend.remove(account);
      this.unmask(account);
      return;
    }
    this.mask(account, value);
    await backend.write(account, value);
  }

  private async removeAccounts(backend: SecretBackend, accounts: readonly string[]): Promise<void> {
    for (const account of accounts) {
      await backend.remove(account);
      this.unmask(account);
    }
  }

  /** Finishes every interrupted write: prepared ones are undone, committed ones completed. */
  private async reconcile(backend: SecretBackend): Promise<void> {
    const { store, records, log } = this.options;
    for (const pending of await records.pending()) {
      const { handle, operation, state } = pending;
      let outcome: 'rolled back' | 'completed';
      if (state === 'prepared') {
        const slot = operation === 'create' ? 'current' : 'next';
        await this.removeAccounts(backend, [accountOf(handle, slot, 'value'), accountOf(handle, slot, 'passphrase')]);
        outcome = 'rolled back';
      } else {
        const record = await records.get(handle);
        const version = pending.version ?? 0;
        if (operation === 'replace' && record) await this.finishReplace(backend, record);
        else if (operation === 'drop-version') await this.removeAccounts(backend, versionAccountsOf(handle, version));
        else if (operation === 'move-previous') await this.movePrevious(backend, { handle, version });
        // Written by Zavhoz before numbered versions: the single previous version was dropped.
        else if (operation === 'drop-previous') await this.removeAccounts(backend, [accountOf(handle, 'previous'), accountOf(handle, 'previous', 'passphrase')]);
        else if (operation === 'delete' || !record) await this.removeAccounts(backend, accountsOf(handle));
        outcome = 'completed';
      }
      await store.transaction((tx) => records.removePending(tx, pending.id));
      // A move-previous row is not an interrupted write but the upgrade of an old layout (migration 8).
      if (operation === 'move-previous') log.info('moved a previous version to its numbered account', { handle, version: pending.version });
      else log.info('finished an interrupted vault write', { handle, operation, state, outcome });
    }
  }

  private async maskAll(backend: SecretBackend): Promise<{ secrets: number; values: number; missing: number }> {
    const all = await this.options.records.list();
    const accounts: string[] = [];
    for (const record of all) {
      accounts.push(accountOf(record.handle));
      if (record.hasPassphrase) accounts.push(accountOf(record.handle, 'current', 'passphrase'));
    }
    for (const kept of await this.options.records.versions()) {
      accounts.push(versionAccountOf(kept.handle, kept.version));
      if (kept.hasPassphrase) accounts.push(versionAccountOf(kept.handle, kept.version, 'passphrase'));
    }
    const values = await backend.readMany(accounts);
    let missing = 0;
    for (const record of all) {
      const value = values.get(accountOf(record.handle));
      if (value === undefined) {
        missing++;
        this.options.log.warn('secret value missing from the backend', { handle: record.handle, name: record.name });
      } else if (this.fingerprint(value) !== record.fingerprint) {
        this.options.log.warn('secret value changed outside Zavhoz', { handle: record.handle, name: record.name });
      }
    }
    for (const [account, value] of values) this.mask(account, value);
    return { secrets: all.length, values: values.size, missing };
  }

  private async checkBackendKind(backend: SecretBackend): Promise<void> {
    const { store, records } = this.options;
    const recorded = await records.meta('backend');
    if (recorded === backend.kind) return;
    if (recorded !== undefined && (await records.list()).length > 0) {
      const wanted = recorded === 'file' ? 'ZAVHOZ_VAULT=file and its master key (ZAVHOZ_MASTER_KEY_FILE or ZAVHOZ_MASTER_KEY)' : 'no ZAVHOZ_VAULT (the OS keychain)';
      throw new ZavhozError(
        ErrorCodes.PreconditionFailed,
        `This data folder keeps its secrets in the ${recorded === 'file' ? 'vault file' : 'OS keychain'}, but the daemon runs with the ${backend.kind === 'file' ? 'vault file' : 'OS keychain'}. Restart the daemon with ${wanted}.`,
      );
    }
    await store.transaction((tx) => records.setMeta(tx, 'backend', backend.kind));
  }

  private async loadFingerprintKey(backend: SecretBackend): Promise<void> {
    if (this.fingerprintKey) return;
    const { store, records } = this.options;
    const folderId = await folderIdOf(store);
    // Named per data folder: two folders may share one login keychain.
    const account = `fingerprint-key.${folderId}`;
    let encoded = await backend.read(account);
    if (encoded === undefined) {
      if ((await records.list()).length > 0) this.options.log.warn('fingerprint key missing; fingerprints of existing secrets will read as changed');
      encoded = crypto.randomBytes(32).toString('base64');
      await backend.write(account, encoded);
    }
    this.mask(account, encoded);
    this.fingerprintKey = Buffer.from(encoded, 'base64');
  }

  private mask(account: string, value: string): void {
    const held = this.masked.get(account);
    if (held === value) return;
    if (held !== undefined) this.options.redactor.unregister(held);
    this.options.redactor.register(value);
    this.masked.set(account, value);
  }

  private unmask(account: string): void {
    const held = this.masked.get(account);
    if (held === undefined) return;
    this.options.redactor.unregister(held);
    this.masked.delete(account);
  }

  private fault(point: string): void {
    if (this.options.testFault !== point) return;
    this.options.log.warn('test fault hook: killing the daemon', { point });
    process.kill(process.pid, 'SIGKILL');
    // SIGKILL lands asynchronously: block until it does, so not one more statement runs.
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10_000);
  }
}

/** `error` with its message (and a ZavhozError's data) passed through the redactor. */
function maskedError(error: unknown, redactor: Redactor): unknown {
  if (error instanceof ZavhozError) return new ZavhozError(error.code, redactor.redact(error.message), redactor.redactValue(error.data));
  if (error instanceof Error) error.message = redactor.redact(error.message);
  return error;
}
