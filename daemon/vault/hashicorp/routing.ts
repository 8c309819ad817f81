/**
 * The backend the vault sees when a team Vault may hold some values: each account goes to the member's own backend
 * (keychain or file) or, for a team secret, to the team's Vault. The vault's write protocol (pending row, backend,
 * commit) and its account names stay the same for both, so handles, rotation, kept versions, deploys and `exec`
 * work alike.
 */
import { describeError } from '../../core/errors.js';
import type { ScopedLogger } from '../../core/logger.js';
import type { SecretBackend } from '../backend.js';
import type { SecretLocations } from './locations.js';
import { handleOfAccount } from './teamBackend.js';
import type { TeamVault } from './team.js';

/** A personal backend with team secrets routed to the team's Vault. */
export class RoutedBackend implements SecretBackend {
  constructor(
    private readonly personal: SecretBackend,
    private readonly team: TeamVault,
    private readonly locations: SecretLocations,
    private readonly log: ScopedLogger,
  ) {}

  /** The personal backend's kind: the data folder's backend check is about the member's own store. */
  get kind(): SecretBackend['kind'] {
    return this.personal.kind;
  }

  async read(account: string): Promise<string | undefined> {
    return (await this.isTeam(account)) ? (await this.team.accounts()).read(account) : this.personal.read(account);
  }

  async write(account: string, value: string): Promise<void> {
    if (!(await this.isTeam(account))) return this.personal.write(account, value);
    await (await this.team.accounts()).write(account, value);
  }

  /**
   * Removes an account. A team account Vault cannot remove now (sealed, unreachable) is logged and reported as
   * absent rather than thrown, so that an interrupted team write does not hold every vault call, personal ones
   * included, until Vault answers again; the KV path is named in the log for an admin to delete.
   */
  async remove(account: string): Promise<boolean> {
    if (!(await this.isTeam(account))) return this.personal.remove(account);
    try {
      return await (await this.team.accounts()).remove(account);
    } catch (error) {
      this.log.warn('could not remove a team secret account from Vault; delete it there by hand', { path: this.team.where(account), error: describeError(error) });
      return false;
    }
  }

  /**
   * Reads many accounts (the vault's start-up masking). Team values are read one by one; when Vault cannot be read
   * they are left out (logged), so personal secrets work while Vault is away, and each team value is masked when
   * it is first read instead.
   */
  async readMany(accounts: readonly string[]): Promise<Map<string, string>> {
    const teamOf = new Map<string, boolean>();
    for (const account of accounts) teamOf.set(account, await this.isTeam(account));
    const personal = accounts.filter((account) => teamOf.get(account) !== true);
    const team = accounts.filter((account) => teamOf.get(account) === true);
    const found = await this.personal.readMany(personal);
    if (team.length === 0) return found;
    try {
      const client = await this.team.accounts();
      for (const account of team) {
        const value = await client.read(account);
        if (value !== undefined) found.set(account, value);
      }
    } catch (error) {
      this.log.warn('team secrets not read from Vault yet', { secrets: team.length, error: describeError(error) });
    }
    return found;
  }

  private async isTeam(account: string): Promise<boolean> {
    const handle = handleOfAccount(account);
    return handle !== undefined && (await this.locations.of(handle)) === 'team';
  }
}
