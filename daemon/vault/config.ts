import path from 'node:path';
import { ZavhozError } from '../core/errors.js';
import type { Redactor } from '../core/redactor.js';
import { ErrorCodes } from '../protocol/errors.js';
import type { SecretBackend } from './backend.js';
import { FileBackend } from './fileBackend.js';
import { KeychainBackend } from './keychainBackend.js';
import { chooseMasterKey } from './masterKey.js';

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
  /**
   * `ZAVHOZ_VAULT=hashicorp`: new secrets go to the team's HashiCorp Vault (connected with `zavhoz vault connect
   * hashicorp`) unless asked otherwise; personal ones stay in the OS keychain.
   */
  readonly teamByDefault?: boolean;
}

/**
 * Reads `ZAVHOZ_VAULT` (unset or `keychain`: the OS keychain; `file`: the encrypted file, opt-in; `hashicorp`: the
 * OS keychain for personal secrets and the team's Vault for new ones) and the file
 * vault's master key: `ZAVHOZ_MASTER_KEY_FILE`, the path of a private file holding it (preferred: a value in the
 * environment stays readable in /proc/<pid>/environ and passes to every child of whoever set it), or
 * `ZAVHOZ_MASTER_KEY`. Both are removed from the environment at once, so no child the daemon starts inherits them
 * (ansible and ssh get an environment of their own besides), and the key is registered with the redactor.
 */
export function vaultConfigFromEnvironment(folder: string, redactor: Redactor, env: NodeJS.ProcessEnv = process.env): VaultConfig {
  const choice = env.ZAVHOZ_VAULT?.trim() ?? '';
  const masterKey = env.ZAVHOZ_MASTER_KEY;
  const masterKeyFile = env.ZAVHOZ_MASTER_KEY_FILE;
  delete env.ZAVHOZ_MASTER_KEY;
  delete env.ZAVHOZ_MASTER_KEY_FILE;
  if (masterKey !== undefined) redactor.register(masterKey);
  const testFault = env.ZAVHOZ_TEST_FAULT;
  const faultPart = testFault ? { testFault } : {};

  if (choice === '' || choice === 'keychain' || choice === 'hashicorp') {
    return { openBackend: () => Promise.resolve(new KeychainBackend()), ...faultPart, ...(choice === 'hashicorp' ? { teamByDefault: true } : {}) };
  }
  if (choice === 'file') {
    return {
      // The key file is read when the vault first opens, so a refusal reaches the user as the answer to a vault
      // request rather than as a daemon that will not start.
      openBackend: async () => {
        const key = chooseMasterKey(masterKey, masterKeyFile);
        redactor.register(key.value);
        return FileBackend.open(vaultFilePath(folder), key.value, key.source);
      },
      ...faultPart,
    };
  }
  return {
    openBackend: () =>
      Promise.reject(
        new ZavhozError(
          ErrorCodes.PreconditionFailed,
          `ZAVHOZ_VAULT="${choice}" is not a vault backend: leave it unset for the OS keychain, set it to "file" (with ZAVHOZ_MASTER_KEY_FILE or ZAVHOZ_MASTER_KEY) for the encrypted file, or to "hashicorp" to keep new secrets in the team's Vault (zavhoz vault connect hashicorp).`,
        ),
      ),
    ...faultPart,
  };
}
