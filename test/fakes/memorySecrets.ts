import crypto from 'node:crypto';
import { notFound } from '../../daemon/core/errors.js';
import type { SecretReader, SecretUse } from '../../daemon/vault/api.js';

/**
 * TEST DOUBLE of the vault's SecretReader for in-process tests: values in a map, every loan recorded. Tests that
 * run the real daemon use the real vault and keychain instead.
 */
export class MemorySecrets implements SecretReader {
  readonly loans: { readonly handle: string; readonly use: SecretUse; readonly action: string }[] = [];
  private readonly values: Map<string, string>;
  private readonly key = crypto.randomBytes(32);

  constructor(values: Iterable<readonly [string, string]> = []) {
    this.values = new Map(values);
  }

  /** Stores (or replaces) a value under a handle. */
  set(handle: string, value: string): void {
    this.values.set(handle, value);
  }

  /** Forgets a handle. */
  delete(handle: string): void {
    this.values.delete(handle);
  }

  has(handle: string): Promise<boolean> {
    return Promise.resolve(this.values.has(handle));
  }

  async withValue<T>(handle: string, use: SecretUse, work: (value: string) => Promise<T> | T): Promise<T> {
    const value = this.values.get(handle);
    if (value === undefined) throw notFound(`Secret ${handle}`);
    this.loans.push({ handle, use, action: use.action });
    return work(value);
  }

  async fingerprint(value: string): Promise<string> {
    return crypto.createHmac('sha256', this.key).update(value, 'utf8').digest('hex');
  }
}
