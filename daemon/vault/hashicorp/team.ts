/**
 * The team's Vault as the daemon uses it: the connection (kept in the member's own keychain or vault file, loaded on
 * first use), the KV client over it, where new secrets go, and the status shown to the user. Without a connection,
 * team secrets fail with a message saying how to connect; personal secrets never depend on it.
 */
import { ZavhozError } from '../../core/errors.js';
import type { ScopedLogger } from '../../core/logger.js';
import type { Redactor } from '../../core/redactor.js';
import { ErrorCodes } from '../../protocol/errors.js';
import type { SecretLocationName } from '../../protocol/secretFields.js';
import type { TeamVaultStatus } from '../../protocol/vault.js';
import type { SecretBackend } from '../backend.js';
import { cleanPath, type HashicorpConnection, parseConnection, summarize } from './connection.js';
import { type RetryPolicy, VaultTransport } from './http.js';
import { KvClient } from './kv.js';
import type { SecretLocations } from './locations.js';
import { VaultSession } from './session.js';
import { pathOfAccount, TeamAccounts } from './teamBackend.js';

/** What the team layer is built from. */
export interface TeamVaultOptions {
  readonly locations: SecretLocations;
  readonly redactor: Redactor;
  readonly log: ScopedLogger;
  /** The member's own backend (the one the vault opens), where the connection is kept. */
  readonly openPersonal: () => Promise<SecretBackend>;
  /** `ZAVHOZ_VAULT=hashicorp`: new secrets go to the team's Vault unless asked otherwise. */
  readonly teamByDefault: boolean;
  readonly retry?: Partial<RetryPolicy>;
}

interface Connected {
  readonly connection: HashicorpConnection;
  readonly session: VaultSession;
  readonly kv: KvClient;
  readonly accounts: TeamAccounts;
}

const NOT_CONNECTED =
  'No team Vault is connected: connect one with zavhoz vault connect hashicorp --address URL --mount MOUNT [--prefix PATH] (--token-stdin | --approle ROLE_ID --secret-id-stdin).';

/** The team's Vault, for the vault's routed backend, the `vault/*` requests and where new secrets go. */
export class TeamVault {
  private connected: Connected | undefined;
  private loading: Promise<Connected | undefined> | undefined;

  constructor(private readonly options: TeamVaultOptions) {}

  /** Whether new secrets go to the team's Vault when the request does not say. */
  get teamByDefault(): boolean {
    return this.options.teamByDefault;
  }

  /** The team's accounts; PreconditionFailed saying how to connect when no connection is kept. */
  async accounts(): Promise<TeamAccounts> {
    const connected = await this.load();
    if (!connected) throw new ZavhozError(ErrorCodes.PreconditionFailed, NOT_CONNECTED);
    return connected.accounts;
  }

  /** The full KV path of an account, for logs. */
  where(account: string): string {
    return this.connected?.kv.where(pathOfAccount(account)) ?? pathOfAccount(account);
  }

  /**
   * Decides where a new secret's value goes (`asked`, else the default) and, for the team's Vault, checks a
   * connection is kept and records the location before any value is written.
   */
  async place(handle: string, asked: SecretLocationName | undefined): Promise<SecretLocationName> {
    const location = asked ?? (this.options.teamByDefault ? 'team' : 'personal');
    if (location === 'team') {
      if (!(await this.load())) throw new ZavhozError(ErrorCodes.PreconditionFailed, `${NOT_CONNECTED.slice(0, -1)}, or keep this secret in your keychain (--personal).`);
      await this.options.locations.markTeam(handle, new Date().toISOString());
    }
    return location;
  }

  /** Resolves when the team's Vault answers with the kept credentials; else the error saying what is wrong. */
  async checkReachable(): Promise<void> {
    await this.accounts();
    await this.connected?.kv.list('');
  }

  /** Where a secret's value lives. */
  locationOf(handle: string): Promise<SecretLocationName> {
    return this.options.locations.of(handle);
  }

  /** Checks the credentials and the path at once, then keeps the connection in the member's keychain. */
  async connect(input: HashicorpConnection): Promise<TeamVaultStatus> {
    const connection: HashicorpConnection = { ...input, address: input.address.replace(/\/+$/, ''), mount: cleanPath(input.mount), prefix: cleanPath(input.prefix) };
    checkAddress(connection.address);
    const candidate = this.open(connection);
    const ttl = await candidate.session.check();
    await candidate.kv.list('');
    await this.checkStoredValuesReachable(candidate);
    const personal = await this.options.openPersonal();
    await personal.write(await this.account(), JSON.stringify(connection));
    this.connected = candidate;
    this.loading = undefined;
    this.options.log.info('team vault connected', { ...summarize(connection) });
    return this.describe(candidate, 'ok', null, ttl.ttlSeconds);
  }

  /** Forgets the kept connection. */
  async disconnect(): Promise<{ disconnected: boolean; teamSecrets: number }> {
    const personal = await this.options.openPersonal();
    const removed = await personal.remove(await this.account());
    this.connected = undefined;
    this.loading = undefined;
    if (removed) this.options.log.info('team vault disconnected');
    return { disconnected: removed, teamSecrets: await this.options.locations.teamCount() };
  }

  /** Where the team's Vault is and whether it answers now. */
  async status(): Promise<TeamVaultStatus> {
    const connected = await this.load();
    if (!connected) return { ...(await this.describe(undefined, 'not-connected', NOT_CONNECTED, null)) };
    try {
      await connected.kv.list('');
    } catch (error) {
      if (!(error instanceof ZavhozError)) throw error;
      const state = /sealed/.test(error.message) ? 'sealed' : error.code === ErrorCodes.Unreachable ? 'unreachable' : 'refused';
      return this.describe(connected, state, this.options.redactor.redact(error.message), null);
    }
    return this.describe(connected, 'ok', null, connected.session.secondsLeft());
  }

  /**
   * A new connection must reach the team values already stored (the same Vault, mount and prefix): one that does not
   * would make every team secret read as missing.
   */
  private async checkStoredValuesReachable(candidate: Connected): Promise<void> {
    const handle = await this.options.locations.someTeamHandle();
    if (handle === undefined) return;
    if ((await candidate.kv.metadata(pathOfAccount(handle))) !== undefined) return;
    throw new ZavhozError(
      ErrorCodes.PreconditionFailed,
      `This Vault has no ${candidate.kv.where(pathOfAccount(handle))}, where the team secret ${handle} keeps its value: ${await this.options.locations.teamCount()} team secret(s) are stored under another address, mount or prefix. Check --address, --mount and --prefix; the kept connection is unchanged.`,
    );
  }

  private async describe(connected: Connected | undefined, state: TeamVaultStatus['state'], message: string | null, ttl: number | null): Promise<TeamVaultStatus> {
    const summary = connected ? summarize(connected.connection) : undefined;
    return {
      kind: 'hashicorp',
      connected: connected !== undefined,
      teamByDefault: this.options.teamByDefault,
      address: summary?.address ?? null,
      mount: summary?.mount ?? null,
      prefix: summary?.prefix ?? null,
      namespace: summary?.namespace ?? null,
      auth: summary?.auth ?? null,
      state,
      message,
      tokenTtlSeconds: ttl,
      teamSecrets: await this.options.locations.teamCount(),
    };
  }

  private async load(): Promise<Connected | undefined> {
    if (this.connected) return this.connected;
    this.loading ??= (async () => {
      const personal = await this.options.openPersonal();
      const text = await personal.read(await this.account());
      if (text === undefined) return undefined;
      const connection = parseConnection(text);
      if (!connection) {
        this.options.log.warn('the kept team vault connection cannot be read; connect again');
        return undefined;
      }
      this.connected = this.open(connection);
      return this.connected;
    })().finally(() => {
      this.loading = undefined;
    });
    return this.loading;
  }

  private open(connection: HashicorpConnection): Connected {
    const transport = new VaultTransport({ address: connection.address, namespace: connection.namespace, ...(this.options.retry ? { retry: this.options.retry } : {}) });
    const session = new VaultSession(transport, connection.auth, this.options.redactor);
    const kv = new KvClient(session, connection.mount, connection.prefix);
    return { connection, session, kv, accounts: new TeamAccounts(kv) };
  }

  /** The keychain account of this data folder's connection (two folders may share one login keychain). */
  private async account(): Promise<string> {
    return `team-vault.${await this.options.locations.folderId()}`;
  }
}

/** Plain http only on loopback: a token must not cross a network in clear text. */
function checkAddress(address: string): void {
  const url = new URL(address);
  if (url.protocol === 'https:') return;
  if (url.hostname === 'localhost' || url.hostname === '[::1]' || /^127\./.test(url.hostname)) return;
  throw new ZavhozError(ErrorCodes.InvalidInput, `Vault's address must use https (plain http only on loopback): ${address}`);
}
