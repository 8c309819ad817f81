/**
 * What the rest of the daemon may ask of the vault. Deploy, GitHub, inventory and provider code depend on this
 * interface only, never on the keychain: a value is lent for the duration of one callback, and every loan is
 * written to the audit log.
 */

import type { TextRedactor } from '../core/redactor.js';

/** Who is using a secret and why: goes to the audit log (never the value). */
export interface SecretUse {
  readonly client: string;
  readonly requestId: string;
  /** e.g. `deploy`, `github-push`, `ssh`, `provider-sync`. */
  readonly action: string;
  /** Extra non-secret context: project, repository, server, run id. */
  readonly detail?: Record<string, string | number | boolean | readonly string[]>;
}

/** Lends secret values to the code that must deliver them. */
export interface SecretReader {
  /**
   * Calls `work` with the value of `handle` and returns its result. The value must not outlive the callback:
   * do not store it, log it or put it in an error. Unknown handle → ZavhozError(NotFound); keychain locked or
   * missing → ZavhozError(KeychainLocked / KeychainUnavailable) with a message saying how to fix it.
   */
  withValue<T>(handle: string, use: SecretUse, work: (value: string) => Promise<T> | T): Promise<T>;
  /** True if the handle exists (no keychain access). */
  has(handle: string): Promise<boolean>;
  /**
   * The vault's keyed fingerprint (HMAC-SHA256, hex) of a value, for drift checks by other modules. The key lives
   * in the keychain (or the encrypted file) beside the values, never in the store, so a copied data folder does
   * not let anyone test guesses of short values against fingerprints.
   */
  fingerprint(value: string): Promise<string>;
  /**
   * Masks every value the vault holds, in every form the redactor knows. Error text from work that handled values
   * (an SSH contact, a probe's output) passes through it before it is stored or answered. Optional only so test
   * doubles holding no real values may leave it out; the daemon's vault always has it.
   */
  readonly redactor?: TextRedactor;
}

/** One version of one secret, as a release records it. */
export interface SecretVersionRef {
  readonly handle: string;
  readonly version: number;
  readonly fingerprint: string;
}

/**
 * Versions a release pins; implemented by Vault. A version other than the current one is kept while a holder
 * retains it, or during its grace after a rotation (until the next successful deploy or PREVIOUS_KEPT_DAYS).
 */
export interface SecretVersions {
  /** The current version of each handle (number and keyed fingerprint), for a release to record. NotFound for an unknown handle. */
  currentVersions(handles: readonly string[]): Promise<SecretVersionRef[]>;
  /** Lends the value of exactly that version (current or kept); NotFound saying what to do if the vault no longer keeps it. Audited like withValue. */
  withVersion<T>(ref: SecretVersionRef, use: SecretUse, work: (value: string) => Promise<T> | T): Promise<T>;
  /** Keeps these versions for as long as `holder` (a release id like rel_…) holds them; replaces what `holder` held before. */
  retain(holder: string, refs: readonly SecretVersionRef[]): Promise<void>;
  /** Lets go of what `holder` kept; versions nobody keeps any more and that are not current are removed from the keychain. */
  releaseHolder(holder: string): Promise<void>;
}
