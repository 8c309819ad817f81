import type { AuditEntry, AuditLog } from '../audit/auditLog.js';
import { describeError, invalidInput, notFound, ZavhozError } from '../core/errors.js';
import type { ScopedLogger } from '../core/logger.js';
import type { Notifier } from '../core/notifier.js';
import type { Redactor, TextRedactor } from '../core/redactor.js';
import { ErrorCodes } from '../protocol/errors.js';
import {
  GENERATED_LENGTH,
  type GeneratableType,
  type ImportResult,
  type RevealedSecret,
  type SecretCategory,
  type SecretLocationName,
  type SecretMetadata,
  type SecretType,
} from '../protocol/secretFields.js';
import { SecretsDidChange } from '../protocol/secrets.js';
import type { Database, DatabaseTransaction as Transaction } from '../store/database.js';
import type { SecretReader, SecretUse, SecretVersionRef, SecretVersions } from './api.js';
import { accountOf, type SecretBackend } from './backend.js';
import { atLine, detectType, newRecord, newValueFor, passphraseOf, replacementRecord, type SecretDescription } from './changes.js';
import { planImport } from './importPlan.js';
import { parseDotenv } from './dotenv.js';
import { generateValue, newHandle } from './generate.js';
import { Keeper } from './keeper.js';
import { Mutex } from './mutex.js';
import { SecretRecords, type SecretRecord, toMetadata, type VersionKey } from './records.js';
import { checkName, checkTypedValue } from './validate.js';
import { byHandle, unkept, versionFor } from './versions.js';

export { PREVIOUS_KEPT_DAYS, type SecretDescription } from './changes.js';

/** Who asked, for the audit log. */
export interface VaultCaller {
  readonly client: string;
  readonly requestId: string;
}

/**
 * Where new secrets' values go: the team's Vault or the member's own backend (vault/hashicorp/team.ts). Without one,
 * every value is the member's own.
 */
export interface SecretPlacement {
  /** Chooses the location of a new secret (`asked`, else the default) and records a team one before its value is written. */
  place(handle: string, asked: SecretLocationName | undefined): Promise<SecretLocationName>;
  locationOf(handle: string): Promise<SecretLocationName>;
}

/** What the vault is built from. */
export interface VaultOptions {
  readonly store: Database;
  readonly audit: AuditLog;
  readonly redactor: Redactor;
  readonly notifier: Notifier;
  readonly log: ScopedLogger;
  readonly openBackend: () => Promise<SecretBackend>;
  readonly testFault?: string;
  readonly placement?: SecretPlacement;
}

const EXPIRY_CHECK_MS = 3_600_000;

/**
 * The secrets vault: values in the backend (OS keychain or encrypted file), metadata in the store, handles
 * everywhere else. Implements {@link SecretReader} for the rest of the daemon and the operations behind the
 * `secrets/*` requests, and {@link SecretVersions} for releases: every rotation makes a numbered version, and a
 * replaced one is kept while a release holds it or during its grace. Every value it holds (kept versions too) is
 * masked by the redactor; every reveal, rotation, deletion, import and use is audited.
 */
export class Vault implements SecretReader, SecretVersions {
  private readonly records: SecretRecords;
  private readonly keeper: Keeper;
  private readonly mutex = new Mutex();
  private timer: NodeJS.Timeout | undefined;
  /** Masks every value the vault holds (see SecretReader.redactor); lends masking only, not registration. */
  readonly redactor: TextRedactor;

  constructor(private readonly options: VaultOptions) {
    this.redactor = { redact: (text) => options.redactor.redact(text) };
    this.records = new SecretRecords(options.store);
    this.keeper = new Keeper({
      store: options.store,
      records: this.records,
      redactor: options.redactor,
      log: options.log,
      openBackend: options.openBackend,
      ...(options.testFault === undefined ? {} : { testFault: options.testFault }),
    });
  }

  /**
   * Starts the vault in the background: finishes interrupted writes and masks every stored value. A locked or
   * missing keychain does not stop the daemon; vault calls then fail clearly, and the first one that succeeds
   * does this work.
   */
  start(): void {
    void this.exclusive(() => this.keeper.prepare()).then(
      () => this.expirePrevious(),
      (error: unknown) => this.options.log.warn('vault not ready', { error: describeError(error), code: error instanceof ZavhozError ? error.code : null }),
    );
    this.timer = setInterval(() => void this.expirePrevious(), EXPIRY_CHECK_MS);
    this.timer.unref();
  }

  /** Stops background work. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** Whether every stored value is masked yet (false while the keychain is locked or unreachable). */
  get ready(): boolean {
    return this.keeper.isReady;
  }

  async has(handle: string): Promise<boolean> {
    return (await this.records.get(handle)) !== undefined;
  }

  /** Metadata of every secret, filtered. */
  async list(filter: { project?: string | undefined; category?: string | undefined; tag?: string | undefined } = {}): Promise<SecretMetadata[]> {
    const kept = byHandle(await this.records.versions());
    const listed: SecretMetadata[] = [];
    for (const record of await this.records.list(filter)) listed.push(await this.located(toMetadata(record, kept.get(record.handle) ?? [])));
    return listed;
  }

  /** Every secret's handle and current version, without the rest of its metadata or where its value lives. */
  async allCurrentVersions(): Promise<{ handle: string; version: number }[]> {
    return this.records.currentVersions();
  }

  /** Metadata of one secret. */
  async get(handle: string): Promise<SecretMetadata> {
    return this.metadata(await this.require(handle));
  }

  /** Stores a user's value under a new handle. */
  async set(input: SecretDescription & { type: SecretType; value: string; passphrase?: string | undefined }, caller: VaultCaller): Promise<SecretMetadata> {
    checkName(input.name);
    checkTypedValue(input.name, input.type, input.value, input.passphrase);
    return this.create(input, input.type, input.value, input.passphrase, { origin: 'user', generatedLength: null }, caller);
  }

  /** Generates and stores a strong random value; the value is not returned. */
  async generate(input: SecretDescription & { type: GeneratableType; length?: number | undefined }, caller: VaultCaller): Promise<SecretMetadata> {
    checkName(input.name);
    const length = input.length ?? GENERATED_LENGTH.default;
    return this.create(input, input.type, generateValue(input.type, length), undefined, { origin: 'generated', generatedLength: length }, caller);
  }

  /**
   * Gives a secret a new value as its next version, keeping the old one (see {@link SecretVersions}). With
   * `value`, that one; with `generate` or `length`, a generated one (passwords and tokens); with neither, a
   * generated one only if Zavhoz generated the current value (a typed-in token, like a bot token, cannot be made up).
   */
  async rotate(
    input: { handle: string; value?: string | undefined; passphrase?: string | undefined; generate?: boolean | undefined; length?: number | undefined },
    caller: VaultCaller,
  ): Promise<SecretMetadata> {
    return this.exclusive(async () => {
      const backend = await this.keeper.prepare();
      const record = await this.require(input.handle);
      const { value, origin, generatedLength } = newValueFor(record, input);
      const { record: updated, retired } = replacementRecord(record, this.keeper.fingerprint(value), input.passphrase, { origin, generatedLength }, await this.hasCurrent(backend, record));
      await this.keeper.apply(backend, [{ kind: 'replace', record: updated, retired, value, ...passphraseOf(input.passphrase) }], (tx) =>
        this.audit(tx, caller, 'rotate', record, { origin, version: updated.version }),
      );
      this.options.log.info('secret rotated', { handle: record.handle, name: record.name, version: updated.version });
      this.options.notifier.notify(SecretsDidChange, { handles: [record.handle], change: 'updated' });
      return this.metadata(updated);
    });
  }

  /**
   * Deletes a secret: every version's value and passphrase from the backend, its metadata from the store, and every
   * release's pin on it (such a release can no longer restore its value).
   */
  async remove(handle: string, caller: VaultCaller): Promise<{ handle: string; name: string; deleted: true }> {
    return this.exclusive(async () => {
      const backend = await this.keeper.prepare();
      const record = await this.require(handle);
      await this.keeper.remove(backend, [handle], (tx) => this.audit(tx, caller, 'delete', record));
      this.options.log.info('secret deleted', { handle, name: record.name });
      this.options.notifier.notify(SecretsDidChange, { handles: [handle], change: 'deleted' });
      return { handle, name: record.name, deleted: true };
    });
  }

  /** Imports a `.env` file all-or-nothing: new names are created, changed ones rotated, equal ones left alone. */
  async importDotenv(input: { content: string; project?: string | undefined; category?: SecretCategory | undefined; location?: SecretLocationName | undefined }, caller: VaultCaller): Promise<ImportResult> {
    const entries = parseDotenv(input.content);
    if (entries.length === 0) throw invalidInput('The .env file has no variables (only comments or blank lines); nothing was imported.');
    for (const entry of entries) {
      atLine(entry.line, () => checkTypedValue(entry.name, detectType(entry.value), entry.value, undefined));
    }
    return this.exclusive(async () => {
      const backend = await this.keeper.prepare();
      const { changes, result } = await planImport(entries, input, {
        byName: (name, project) => this.records.byName(name, project),
        fingerprint: (value) => this.keeper.fingerprint(value),
        hasCurrent: (record) => this.hasCurrent(backend, record),
        uniqueHandle: (taken) => this.uniqueHandle(taken),
      });
      for (const change of changes) if (change.kind === 'create') await this.options.placement?.place(change.record.handle, input.location);
      if (changes.length > 0) {
        await this.keeper.apply(backend, changes, async (tx) => {
          for (const change of changes) {
            await this.audit(tx, caller, 'import', change.record, { outcome: change.kind === 'create' ? 'created' : 'updated' });
          }
        });
      }
      this.options.log.info('secrets imported', { created: result.created.length, updated: result.updated.length, unchanged: result.unchanged.length });
      const created = changes.filter((change) => change.kind === 'create').map((change) => change.record.handle);
      const updated = changes.filter((change) => change.kind === 'replace').map((change) => change.record.handle);
      if (created.length > 0) this.options.notifier.notify(SecretsDidChange, { handles: created, change: 'created' });
      if (updated.length > 0) this.options.notifier.notify(SecretsDidChange, { handles: updated, change: 'updated' });
      return result;
    });
  }

  /** Reads a value back for a person who confirmed it; audited. */
  async reveal(handle: string, caller: VaultCaller): Promise<RevealedSecret> {
    return this.exclusive(async () => {
      const backend = await this.keeper.prepare();
      const record = await this.require(handle);
      const value = await this.keeper.readRequired(backend, record, undefined, 'value');
      const passphrase = record.hasPassphrase ? await this.keeper.readRequired(backend, record, undefined, 'passphrase') : undefined;
      await this.options.store.transaction((tx) => this.audit(tx, caller, 'reveal', record));
      this.options.log.info('secret revealed', { handle, name: record.name, client: caller.client });
      return { handle, name: record.name, value, ...(passphrase === undefined ? {} : { passphrase }) };
    });
  }

  async withValue<T>(handle: string, use: SecretUse, work: (value: string) => Promise<T> | T): Promise<T> {
    const value = await this.lend(handle, use, 'value');
    return work(value ?? '');
  }

  /** Like {@link withValue}, for the passphrase of a `private_key` (`undefined` when it has none). */
  async withPassphrase<T>(handle: string, use: SecretUse, work: (passphrase: string | undefined) => Promise<T> | T): Promise<T> {
    return work(await this.lend(handle, use, 'passphrase'));
  }

  /** The keyed fingerprint of any value, with the vault's own key (see SecretReader.fingerprint). */
  async fingerprint(value: string): Promise<string> {
    return this.exclusive(async () => {
      await this.keeper.prepare();
      return this.keeper.fingerprint(value);
    });
  }

  /** True if `candidate` is the current value of `handle` (drift check against a deployed value), by fingerprint. */
  async matches(handle: string, candidate: string): Promise<boolean> {
    return this.exclusive(async () => {
      await this.keeper.prepare();
      return this.keeper.fingerprint(candidate) === (await this.require(handle)).fingerprint;
    });
  }

  /**
   * Ends the grace of the replaced versions of these secrets: a deploy with their current values succeeded. Those
   * no release holds are dropped.
   */
  async confirmDeployed(handles: readonly string[], caller: VaultCaller = { client: 'daemon', requestId: 'deploy' }): Promise<void> {
    const wanted = new Set(handles);
    await this.endGrace((kept) => wanted.has(kept.handle), caller, 'deployed');
  }

  /** Ends the grace of replaced versions kept longer than {@link PREVIOUS_KEPT_DAYS}; those no release holds are dropped. */
  async expirePrevious(): Promise<void> {
    const now = new Date().toISOString();
    try {
      await this.endGrace((kept) => kept.keptUntil !== null && kept.keptUntil < now, { client: 'daemon', requestId: 'expiry' }, 'expired');
    } catch (error) {
      this.options.log.debug('previous versions not expired yet', { error: describeError(error) });
    }
  }

  async currentVersions(handles: readonly string[]): Promise<SecretVersionRef[]> {
    const refs: SecretVersionRef[] = [];
    for (const handle of handles) {
      const record = await this.require(handle);
      refs.push({ handle, version: record.version, fingerprint: record.fingerprint });
    }
    return refs;
  }

  async withVersion<T>(ref: SecretVersionRef, use: SecretUse, work: (value: string) => Promise<T> | T): Promise<T> {
    const value = await this.exclusive(async () => {
      const backend = await this.keeper.prepare();
      const { record, kept } = await this.versionOf(ref);
      const lent = await this.keeper.readRequired(backend, record, kept, 'value');
      await this.recordUse(record, use, { version: ref.version });
      return lent;
    });
    return work(value);
  }

  async retain(holder: string, refs: readonly SecretVersionRef[]): Promise<void> {
    await this.exclusive(async () => {
      const backend = await this.keeper.prepare();
      for (const ref of refs) await this.versionOf(ref);
      await this.settle(backend, { client: 'daemon', requestId: holder }, 'released', async (tx) => {
        const before = await this.records.heldBy(holder, tx);
        await this.records.setHolds(tx, holder, refs);
        return before;
      });
    });
  }

  async releaseHolder(holder: string): Promise<void> {
    await this.exclusive(async () => {
      const backend = await this.keeper.prepare();
      await this.settle(backend, { client: 'daemon', requestId: holder }, 'released', async (tx) => {
        const before = await this.records.heldBy(holder, tx);
        await this.records.setHolds(tx, holder, []);
        return before;
      });
    });
  }

  private async endGrace(select: (kept: { handle: string; keptUntil: string | null }) => boolean, caller: VaultCaller, reason: string): Promise<void> {
    await this.exclusive(async () => {
      const chosen = (await this.records.versions()).filter((kept) => kept.keptUntil !== null && select(kept));
      if (chosen.length === 0) return;
      const backend = await this.keeper.prepare();
      await this.settle(backend, caller, reason, async (tx) => {
        for (const kept of chosen) await this.records.endGrace(tx, kept);
        return chosen;
      });
    });
  }

  /**
   * Makes a metadata change (`change`, which returns the versions it may have left unkept) and drops, in the same
   * commit, those versions nobody keeps any more; then their accounts leave the backend.
   */
  private async settle(backend: SecretBackend, caller: VaultCaller, reason: string, change: (tx: Transaction) => Promise<readonly VersionKey[]>): Promise<void> {
    const dropped = await this.keeper.dropVersions(backend, async (tx) => {
      const chosen = await unkept(this.records, tx, await change(tx));
      for (const key of chosen) {
        const record = await this.records.get(key.handle, tx);
        if (record) await this.audit(tx, caller, 'drop-previous', record, { version: key.version, reason });
      }
      return chosen;
    });
    if (dropped.length > 0) this.options.log.info('kept versions dropped', { versions: dropped.map((key) => `${key.handle}@v${key.version}`), reason });
  }

  private async lend(handle: string, use: SecretUse, part: 'value' | 'passphrase'): Promise<string | undefined> {
    return this.exclusive(async () => {
      const backend = await this.keeper.prepare();
      const record = await this.require(handle);
      const value = part === 'value' || record.hasPassphrase ? await this.keeper.readRequired(backend, record, undefined, part) : undefined;
      await this.recordUse(record, use, part === 'passphrase' ? { part } : {});
      return value;
    });
  }

  /** Audits a loan and records when the secret was last used. */
  private async recordUse(record: SecretRecord, use: SecretUse, extra: AuditEntry['detail']): Promise<void> {
    await this.options.store.transaction(async (tx) => {
      await this.records.touch(tx, record.handle, new Date().toISOString());
      await this.options.audit.record(
        { client: use.client, requestId: use.requestId, action: use.action, subject: record.handle, detail: { name: record.name, ...extra, ...use.detail } },
        tx,
      );
    });
  }

  private async create(
    input: SecretDescription,
    type: SecretType,
    value: string,
    passphrase: string | undefined,
    origin: Pick<SecretRecord, 'origin' | 'generatedLength'>,
    caller: VaultCaller,
  ): Promise<SecretMetadata> {
    return this.exclusive(async () => {
      const backend = await this.keeper.prepare();
      const existing = await this.records.byName(input.name, input.project ?? null);
      if (existing) {
        throw new ZavhozError(
          ErrorCodes.AlreadyExists,
          `${input.name} already exists${input.project ? ` in project ${input.project}` : ''} as ${existing.handle}. To change its value run: zavhoz secret rotate ${existing.handle}`,
          { handle: existing.handle },
        );
      }
      const handle = await this.uniqueHandle(new Set());
      await this.options.placement?.place(handle, input.location);
      const record = newRecord(input, handle, type, new Date().toISOString(), {
        fingerprint: this.keeper.fingerprint(value),
        hasPassphrase: passphrase !== undefined,
        ...origin,
      });
      await this.keeper.apply(backend, [{ kind: 'create', record, value, ...passphraseOf(passphrase) }], (tx) =>
        this.audit(tx, caller, 'create', record, { origin: record.origin }),
      );
      this.options.log.info('secret stored', { handle, name: record.name, type, origin: record.origin });
      this.options.notifier.notify(SecretsDidChange, { handles: [handle], change: 'created' });
      return this.metadata(record);
    });
  }

  /** Whether the current value is in the backend (one removed outside Zavhoz cannot become the previous one). */
  private async hasCurrent(backend: SecretBackend, record: SecretRecord): Promise<boolean> {
    return (await backend.read(accountOf(record.handle))) !== undefined;
  }

  private async audit(tx: Transaction, caller: VaultCaller, action: string, record: SecretRecord, extra: AuditEntry['detail'] = {}): Promise<void> {
    await this.options.audit.record(
      {
        client: caller.client,
        requestId: caller.requestId,
        action,
        subject: record.handle,
        detail: { name: record.name, ...(record.project === null ? {} : { project: record.project }), ...extra },
      },
      tx,
    );
  }

  /** The secret and kept version a release's reference names (see {@link versionFor}). */
  private async versionOf(ref: SecretVersionRef): Promise<ReturnType<typeof versionFor>> {
    const record = await this.records.get(ref.handle);
    return versionFor(ref, record, record && ref.version !== record.version ? await this.records.version(ref) : undefined);
  }

  private async metadata(record: SecretRecord): Promise<SecretMetadata> {
    return this.located(toMetadata(record, await this.records.versions(record.handle)));
  }

  private async located(metadata: SecretMetadata): Promise<SecretMetadata> {
    return { ...metadata, location: (await this.options.placement?.locationOf(metadata.handle)) ?? 'personal' };
  }

  private async require(handle: string): Promise<SecretRecord> {
    const record = await this.records.get(handle);
    if (!record) throw notFound(`Secret ${handle}`, 'List the secrets with: zavhoz secret list');
    return record;
  }

  private async uniqueHandle(taken: Set<string>): Promise<string> {
    for (;;) {
      const handle = newHandle();
      if (!taken.has(handle) && !(await this.records.handleTaken(handle))) {
        taken.add(handle);
        return handle;
      }
    }
  }

  private exclusive<T>(work: () => Promise<T>): Promise<T> {
    return this.mutex.run(work);
  }
}
