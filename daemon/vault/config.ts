import path from 'node:path';
import { ZavhozError } from '../core/errors.js';
import type { Redactor } from '../core/redactor.js';
import { ErrorCodes } from '../protocol/errors.js';
import type { SecretBackend } from './backend.js';
import { FileBackend } from './fileBackend.js';
import { KeychainBackend } from './keychainBackend.js';

/** The vault file of a data folder (file backend only). */
export function vaultFilePath(folder: string): string {
  return path.join(folder, 'vault.enc');
}

/** How the daemon's environment chose the backend. */
export interface VaultConfig {
  /** Opens the chosen backend; rejects with a ZavhozError saying what to fix. */
  readonly openBackend: () => Promise<SecretBackend>;
  /** `ZAVHOZ_TEST_FAULT`: a test-only crash point, never set outside tests. */
  readonly testFault?: string;
}

/**
 * Reads `ZAVHOZ_VAULT` (unset or `keychain`: the OS keychain; `file`: the encrypted file, opt-in) and
 * `ZAVHOZ_MASTER_KEY`. The master key is removed from the environment at once, so no child process the daemon
 * starts inherits it, and registered with the redactor.
 */
export function vaultConfigFromEnvironment(folder: string, redactor: Redactor, env: NodeJS.ProcessEnv = process.env): VaultConfig {
  const choice = env.ZAVHOZ_VAULT?.trim() ?? '';
  const masterKey = env.ZAVHOZ_MASTER_KEY;
  delete env.ZAVHOZ_MASTER_KEY;
  if (masterKey !== undefined) redactor.register(masterKey);
  const testFault = env.ZAVHOZ_TEST_FAULT;
  const faultPart = testFault ? { testFault } : {};

  if (choice === '' || choice === 'keychain') {
    return { openBackend: () => Promise.resolve(new KeychainBackend()), ...faultPart };
  }
  if (choice === 'file') {
    return {
      openBackend: () => {
        if (masterKey === undefined || masterKey.length === 0) {
          return Promise.reject(
            new ZavhozError(
              ErrorCodes.VaultKeyInvalid,
              'ZAVHOZ_VAULT=file needs ZAVHOZ_MASTER_KEY in the daemon\'s environment: stop the daemon (zavhoz daemon stop) and start it again with both set.',
            ),
          );
        }
        return FileBackend.open(vaultFilePath(folder), masterKey);
      },
      ...faultPart,
    };
  }
  return {
    openBackend: () =>
      Promise.reject(
        new ZavhozError(
          ErrorCodes.PreconditionFailed,
          `ZAVHOZ_VAULT="${choice}" is not a vault backend: leave it unset for the OS keychain, or set it to "file" (with ZAVHOZ_MASTER_KEY) for the encrypted file.`,
        ),
      ),
    ...faultPart,
  };
}
