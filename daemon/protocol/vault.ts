import * as z from 'zod';
import { defineRequest, result } from './define.js';
import { lazySchema } from './lazySchema.js';

/**
 * The team's secret store: a HashiCorp Vault or OpenBao KV v2 mount that holds team secrets' values, next to each
 * member's personal keychain. The credentials travel once, in `vault/connect` params (never logged), and are kept in
 * the member's keychain; no answer carries them.
 */

const credential = lazySchema(() => z.string().min(1).max(4096));
const vaultPath = lazySchema(() => z
  .string()
  .max(256)
  .regex(/^[A-Za-z0-9_.\-/]*$/, 'a Vault path of letters, digits, _ . - and /'));

/** What `vault/status` and `vault/connect` answer: where the team's Vault is and whether it answers; never a token. */
export interface TeamVaultStatus {
  readonly kind: 'hashicorp';
  readonly connected: boolean;
  /** `ZAVHOZ_VAULT=hashicorp`: new secrets go to the team's Vault unless asked otherwise. */
  readonly teamByDefault: boolean;
  readonly address: string | null;
  readonly mount: string | null;
  readonly prefix: string | null;
  readonly namespace: string | null;
  readonly auth: 'token' | 'approle' | null;
  /** `ok`, `sealed`, `unreachable`, `refused` (credentials or policy), or `not-connected`. */
  readonly state: 'ok' | 'sealed' | 'unreachable' | 'refused' | 'not-connected';
  /** What is wrong and what to do, when the state is not `ok`. */
  readonly message: string | null;
  /** Seconds the token has left (null: it does not expire, or unknown). */
  readonly tokenTtlSeconds: number | null;
  /** How many secrets keep their value in the team's Vault. */
  readonly teamSecrets: number;
}

/**
 * Connects this member to the team's Vault: checks the credentials at once (AppRole login or token lookup, then a
 * list under the prefix), and keeps the connection in the member's keychain (never in settings or the store).
 * Replaces an earlier connection.
 */
export const VaultConnect = defineRequest(
  'vault/connect',
  () => z.strictObject({
    kind: z.literal('hashicorp', 'hashicorp (HashiCorp Vault or OpenBao), the one kind there is'),
    /** `https://vault.example.com:8200`; plain http only for a loopback address. */
    address: z.url({ protocol: /^https?$/ }).max(512),
    /** The KV v2 mount (`secret`, `team-kv`). */
    mount: vaultPath.min(1),
    /** The folder inside the mount for Zavhoz's secrets (`zavhoz/acme`). */
    prefix: vaultPath.default(''),
    /** Vault Enterprise / OpenBao namespace. */
    namespace: vaultPath.optional(),
    auth: z.discriminatedUnion('kind', [
      z.strictObject({ kind: z.literal('token'), token: credential }),
      z.strictObject({ kind: z.literal('approle'), roleId: credential, secretId: credential, mountPath: vaultPath.min(1).optional() }),
    ]),
  }),
  result<TeamVaultStatus>(),
);

/** Where the team's Vault is and whether it answers (sealed, unreachable, credentials refused); never a token. */
export const VaultStatus = defineRequest('vault/status', () => z.strictObject({}), result<TeamVaultStatus>());

/** Forgets this member's Vault connection (the keychain entry); team secrets cannot be read until the next connect. */
export const VaultDisconnect = defineRequest('vault/disconnect', () => z.strictObject({}), result<{ readonly disconnected: boolean; readonly teamSecrets: number }>());
