/**
 * The team's Vault as a place for the vault's accounts: each account of a team secret is one KV v2 secret under the
 * prefix, `<handle>/<part>` holding `{ value }`. `sec_x` → `sec_x/value`, `sec_x#passphrase` → `sec_x/passphrase`,
 * `sec_x#next` → `sec_x/next`, `sec_x@v3` → `sec_x/v3`, `sec_x@v3#passphrase` → `sec_x/v3-passphrase`. Vault keeps
 * its own history of each path as well (KV v2 versions), so an admin can see every value a rotation replaced.
 */
import type { KvClient } from './kv.js';

/** The handle an account belongs to, or undefined for accounts that are not a secret's (the fingerprint key). */
export function handleOfAccount(account: string): string | undefined {
  return /^(sec_[a-z2-7]{8})(?:$|[#@])/.exec(account)?.[1];
}

/** The KV path (under the prefix) of a secret's account. */
export function pathOfAccount(account: string): string {
  const handle = handleOfAccount(account);
  if (handle === undefined) throw new Error(`not a secret's account: ${account}`);
  const rest = account.slice(handle.length).replace(/^[#@]/, '').replaceAll('#', '-');
  return `${handle}/${rest === '' ? 'value' : rest}`;
}

/** Reads and writes accounts in the team's KV mount. */
export class TeamAccounts {
  constructor(private readonly kv: KvClient) {}

  async read(account: string): Promise<string | undefined> {
    return (await this.kv.read(pathOfAccount(account)))?.data.value;
  }

  /** Writes the account's value as a new KV version; returns that version. */
  async write(account: string, value: string): Promise<number> {
    return this.kv.write(pathOfAccount(account), { value });
  }

  /** Removes the account's KV secret with all its versions. */
  async remove(account: string): Promise<boolean> {
    return this.kv.destroy(pathOfAccount(account));
  }
}
