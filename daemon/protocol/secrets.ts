import { z } from 'zod';
import { defineNotification, defineRequest, result } from './define.js';
import { projectName } from './fields.js';

/**
 * The vault's requests. Values travel in exactly three places: `secrets/set`, `secrets/rotate` and
 * `secrets/import` params (client → daemon, never logged) and the `secrets/reveal` result. Every other request and
 * notification carries handles and names only.
 */

/** What kind of value a secret is; decides validation and whether `rotate` can generate a new one. */
export const SECRET_TYPES = ['password', 'token', 'text', 'private_key'] as const;
/** A secret's type. */
export type SecretType = (typeof SECRET_TYPES)[number];

/** What a secret is for, for grouping in trees and lists. */
export const SECRET_CATEGORIES = ['telegram_bot', 'server', 'api_key', 'domain', 'github', 'provider', 'other'] as const;
/** A secret's category. */
export type SecretCategory = (typeof SECRET_CATEGORIES)[number];

/** Types whose values Zavhoz can generate. */
export const GENERATABLE_TYPES = ['password', 'token'] as const;

/** Bounds of a generated value's length, in characters. */
export const GENERATED_LENGTH = { min: 16, max: 256, default: 32 } as const;

/** Largest value the vault stores, in UTF-8 bytes. */
export const MAX_SECRET_BYTES = 64 * 1024;

/** Opaque id of a secret: `sec_` and 8 random base32 characters, never derived from the value. */
export const SECRET_HANDLE_PATTERN = /^sec_[a-z2-7]{8}$/;

/** Environment-variable name rule for secret names. */
export const SECRET_NAME_PATTERN = /^[A-Z_][A-Z0-9_]*$/;

/** A secret handle in params. */
export const secretHandle = z.string().regex(SECRET_HANDLE_PATTERN, 'a secret handle like sec_7f3k9x2m');
const secretName = z.string().max(128).regex(SECRET_NAME_PATTERN, 'an environment variable name like TELEGRAM_BOT_TOKEN');
const tag = z.string().regex(/^[a-z0-9][a-z0-9_.:-]{0,31}$/, 'a lowercase tag (letters, digits, . _ : -)');
const isoTime = z.iso.datetime({ offset: true });
// Values are checked by the vault (size, length, key parsing) so that no schema message ever quotes one; the cap
// here only bounds what the schema has to look at.
const secretValue = z.string().max(2 * MAX_SECRET_BYTES);

/** Fields shared by creating requests. */
const describing = {
  category: z.enum(SECRET_CATEGORIES).optional(),
  project: projectName.optional(),
  tags: z.array(tag).max(20).optional(),
  expiresAt: isoTime.optional(),
  rotationDays: z.number().int().min(1).max(3650).optional(),
};

/** A previous value kept after a rotation, until the next successful deploy or its `keptUntil`. */
export interface PreviousVersion {
  readonly fingerprint: string;
  readonly keptUntil: string;
}

/** Everything the daemon says about a secret: metadata only, never the value. */
export interface SecretMetadata {
  readonly handle: string;
  readonly name: string;
  readonly type: SecretType;
  readonly category: SecretCategory;
  readonly project: string | null;
  readonly tags: readonly string[];
  /** `generated` if Zavhoz made the current value (rotate makes a new one), `user` if it was typed or imported. */
  readonly origin: 'user' | 'generated';
  readonly hasPassphrase: boolean;
  /** HMAC-SHA256 of the value under a per-data-folder key kept in the keychain; equal values, equal fingerprints. */
  readonly fingerprint: string;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly lastUsedAt: string | null;
  readonly expiresAt: string | null;
  readonly rotationDays: number | null;
  readonly previous: PreviousVersion | null;
}

/** Stores a value typed or pasted by the user. Refused if the name already exists in that scope (use rotate). */
export const SecretsSet = defineRequest(
  'secrets/set',
  z.strictObject({
    name: secretName,
    type: z.enum(SECRET_TYPES),
    value: secretValue,
    /** Passphrase of an encrypted `private_key`; kept as its own keychain entry. */
    passphrase: secretValue.optional(),
    ...describing,
  }),
  result<SecretMetadata>(),
);

/** Generates a strong random value and stores it; the value is not returned. */
export const SecretsGenerate = defineRequest(
  'secrets/generate',
  z.strictObject({
    name: secretName,
    type: z.enum(GENERATABLE_TYPES),
    length: z.number().int().min(GENERATED_LENGTH.min).max(GENERATED_LENGTH.max).optional(),
    ...describing,
  }),
  result<SecretMetadata>(),
);

/** Lists secrets (metadata only), optionally for one project (which includes secrets with no project). */
export const SecretsList = defineRequest(
  'secrets/list',
  z.strictObject({
    project: projectName.optional(),
    category: z.enum(SECRET_CATEGORIES).optional(),
    tag: tag.optional(),
  }),
  result<{ readonly secrets: readonly SecretMetadata[] }>(),
);

/** One secret's metadata. */
export const SecretsGet = defineRequest('secrets/get', z.strictObject({ handle: secretHandle }), result<SecretMetadata>());

/** What `secrets/reveal` answers: the one result that carries a value. */
export interface RevealedSecret {
  readonly handle: string;
  readonly name: string;
  readonly value: string;
  readonly passphrase?: string;
}

/** Reads a value back. Requires `confirm: true`; every reveal is written to the audit log. */
export const SecretsReveal = defineRequest(
  'secrets/reveal',
  z.strictObject({ handle: secretHandle, confirm: z.literal(true, 'reveal needs confirm: true') }),
  result<RevealedSecret>(),
);

/**
 * Replaces a value, keeping the old one as the previous version until the next successful deploy or 7 days.
 * With `value`, that is the new value. With `generate` (or a `length`), a password or token gets a new generated
 * value. With neither, a secret Zavhoz generated gets a new generated value and a typed-in one is refused.
 */
export const SecretsRotate = defineRequest(
  'secrets/rotate',
  z.strictObject({
    handle: secretHandle,
    value: secretValue.optional(),
    passphrase: secretValue.optional(),
    generate: z.boolean().optional(),
    length: z.number().int().min(GENERATED_LENGTH.min).max(GENERATED_LENGTH.max).optional(),
  }),
  result<SecretMetadata>(),
);

/** Deletes a secret: its value (and previous version) from the keychain and its metadata. */
export const SecretsDelete = defineRequest(
  'secrets/delete',
  z.strictObject({ handle: secretHandle }),
  result<{ readonly handle: string; readonly name: string; readonly deleted: true }>(),
);

/** What `secrets/import` did, name by name. */
export interface ImportResult {
  /** Variable name → handle, for every variable in the file. */
  readonly handles: Readonly<Record<string, string>>;
  readonly created: readonly string[];
  /** Names that existed in the scope and got the file's value as a rotation. */
  readonly updated: readonly string[];
  /** Names that existed with the same value already. */
  readonly unchanged: readonly string[];
}

/**
 * Imports a `.env` file sent as text (like `gh secret set -f`): comments, blank lines, `export ` prefixes, quoted
 * and multi-line double-quoted values, CRLF. All or nothing: one bad line and nothing is stored.
 */
export const SecretsImport = defineRequest(
  'secrets/import',
  z.strictObject({
    content: z.string().max(900 * 1024),
    project: projectName.optional(),
    category: z.enum(SECRET_CATEGORIES).optional(),
  }),
  result<ImportResult>(),
);

/** Sent to every client after secrets were created, changed or deleted (handles only). */
export const SecretsDidChange = defineNotification(
  'secrets/didChange',
  z.strictObject({ handles: z.array(secretHandle), change: z.enum(['created', 'updated', 'deleted']) }),
);
