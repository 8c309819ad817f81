/**
 * Where secret values live: the OS keychain, or (opt-in) an encrypted file. Both hold flat account → value
 * entries; the vault decides the account names.
 */
export interface SecretBackend {
  /** `keychain` or `file`, for status, logs and the backend-mismatch check. */
  readonly kind: BackendKind;
  /** The value of an account, or undefined if there is none. Throws ZavhozError when the store cannot be read. */
  read(account: string): Promise<string | undefined>;
  /** Creates or replaces an account's value, durably. */
  write(account: string, value: string): Promise<void>;
  /** Removes an account; false if it did not exist. */
  remove(account: string): Promise<boolean>;
  /**
   * Reads many accounts at once (start-up registration). Accounts without a value are absent from the map.
   * Implementations may be faster than one `read` per account.
   */
  readMany(accounts: readonly string[]): Promise<Map<string, string>>;
}

/** The two backends. */
export type BackendKind = 'keychain' | 'file';

/** The part of a secret an account holds. */
export type SecretPart = 'value' | 'passphrase';

/**
 * Which version of a secret an account holds: the current one, the next one staged by a rotation that has not
 * finished yet, or (old layout only, moved to a numbered account on start) the previous one kept after a rotation.
 * Versions other than the current one live under {@link versionAccountOf}.
 */
export type SecretSlot = 'current' | 'previous' | 'next';

/**
 * Names the keychain account of one part of one version of a secret: `sec_x`, `sec_x#passphrase`,
 * `sec_x#next`, `sec_x#next#passphrase` (and the old layout's `sec_x#previous`, `sec_x#previous#passphrase`).
 */
export function accountOf(handle: string, slot: SecretSlot = 'current', part: SecretPart = 'value'): string {
  const slotSuffix = slot === 'current' ? '' : `#${slot}`;
  const partSuffix = part === 'passphrase' ? '#passphrase' : '';
  return `${handle}${slotSuffix}${partSuffix}`;
}

/** Names the account of one part of a kept version other than the current one: `sec_x@v3`, `sec_x@v3#passphrase`. */
export function versionAccountOf(handle: string, version: number, part: SecretPart = 'value'): string {
  return `${handle}@v${version}${part === 'passphrase' ? '#passphrase' : ''}`;
}

/** Every account of a secret outside its numbered versions, for deletion and clean-up. */
export function accountsOf(handle: string): string[] {
  const accounts: string[] = [];
  for (const slot of ['current', 'previous', 'next'] as const) {
    for (const part of ['value', 'passphrase'] as const) accounts.push(accountOf(handle, slot, part));
  }
  return accounts;
}

/** Both accounts of one kept version. */
export function versionAccountsOf(handle: string, version: number): string[] {
  return [versionAccountOf(handle, version, 'value'), versionAccountOf(handle, version, 'passphrase')];
}
