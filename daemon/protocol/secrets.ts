import * as z from 'zod';
import { defineNotification, defineRequest, result } from './define.js';
import { lazySchema } from './lazySchema.js';
import { type PageInfo, pageFields, projectName } from './fields.js';
import { GENERATABLE_TYPES, GENERATED_LENGTH, MAX_SECRET_BYTES, SECRET_CATEGORIES, SECRET_LOCATIONS, SECRET_NAME_PATTERN, SECRET_TYPES, type ImportResult, type RevealedSecret, type SecretMetadata, secretHandle } from './secretFields.js';

export * from './secretFields.js';

/**
 * The vault's requests. Values travel in exactly three places: `secrets/set`, `secrets/rotate` and
 * `secrets/import` params (client → daemon, never logged) and the `secrets/reveal` result. Every other request and
 * notification carries handles and names only.
 */

const secretName = lazySchema(() => z.string().max(128).regex(SECRET_NAME_PATTERN, 'an environment variable name like TELEGRAM_BOT_TOKEN'));
const tag = lazySchema(() => z.string().regex(/^[a-z0-9][a-z0-9_.:-]{0,31}$/, 'a lowercase tag (letters, digits, . _ : -)'));
const isoTime = lazySchema(() => z.iso.datetime({ offset: true }));
// Values are checked by the vault (size, length, key parsing) so that no schema message ever quotes one; the cap
// here only bounds what the schema has to look at.
const secretValue = lazySchema(() => z.string().max(2 * MAX_SECRET_BYTES));

/** Fields shared by creating requests. */
const describing = {
  category: lazySchema(() => z.enum(SECRET_CATEGORIES).optional()),
  project: lazySchema(() => projectName.optional()),
  tags: lazySchema(() => z.array(tag).max(20).optional()),
  expiresAt: lazySchema(() => isoTime.optional()),
  rotationDays: lazySchema(() => z.number().int().min(1).max(3650).optional()),
  /**
   * Where the value is kept: `personal` (this member's keychain) or `team` (the team's Vault, see `vault/connect`).
   * Default: `team` when the daemon runs with ZAVHOZ_VAULT=hashicorp, else `personal`.
   */
  location: lazySchema(() => z.enum(SECRET_LOCATIONS).optional()),
};

/** Stores a value typed or pasted by the user. Refused if the name already exists in that scope (use rotate). */
export const SecretsSet = defineRequest(
  'secrets/set',
  () => z.strictObject({
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
  () => z.strictObject({
    name: secretName,
    type: z.enum(GENERATABLE_TYPES),
    length: z.number().int().min(GENERATED_LENGTH.min).max(GENERATED_LENGTH.max).optional(),
    ...describing,
  }),
  result<SecretMetadata>(),
);

/** Lists secrets (metadata only) by name and project, a page at a time, optionally for one project (which includes secrets with no project). */
export const SecretsList = defineRequest(
  'secrets/list',
  () => z.strictObject({
    project: projectName.optional(),
    category: z.enum(SECRET_CATEGORIES).optional(),
    tag: tag.optional(),
    ...pageFields,
  }),
  result<{ readonly secrets: readonly SecretMetadata[] } & PageInfo>(),
);

/** One secret's metadata. */
export const SecretsGet = defineRequest('secrets/get', () => z.strictObject({ handle: secretHandle }), result<SecretMetadata>());

/** Reads a value back. Requires `confirm: true`; every reveal is written to the audit log. */
export const SecretsReveal = defineRequest(
  'secrets/reveal',
  () => z.strictObject({ handle: secretHandle, confirm: z.literal(true, 'reveal needs confirm: true') }),
  result<RevealedSecret>(),
);

/**
 * Replaces a value with the next version (its `version` one up). The replaced version is kept until the next
 * successful deploy or 7 days, and for as long as a kept release uses it. With `value`, that is the new value. With `generate` (or a `length`), a password or token gets a new generated
 * value. With neither, a secret Zavhoz generated gets a new generated value and a typed-in one is refused.
 */
export const SecretsRotate = defineRequest(
  'secrets/rotate',
  () => z.strictObject({
    handle: secretHandle,
    value: secretValue.optional(),
    passphrase: secretValue.optional(),
    generate: z.boolean().optional(),
    length: z.number().int().min(GENERATED_LENGTH.min).max(GENERATED_LENGTH.max).optional(),
  }),
  result<SecretMetadata>(),
);

/** Deletes a secret: every version of its value from the keychain, and its metadata (releases that used it can no longer restore it). */
export const SecretsDelete = defineRequest(
  'secrets/delete',
  () => z.strictObject({ handle: secretHandle }),
  result<{ readonly handle: string; readonly name: string; readonly deleted: true }>(),
);

/**
 * Imports a `.env` file sent as text (like `gh secret set -f`): comments, blank lines, `export ` prefixes, quoted
 * and multi-line double-quoted values, CRLF. All or nothing: one bad line and nothing is stored.
 */
export const SecretsImport = defineRequest(
  'secrets/import',
  () => z.strictObject({
    content: z.string().max(900 * 1024),
    project: projectName.optional(),
    category: z.enum(SECRET_CATEGORIES).optional(),
    /** Where new secrets' values are kept (see `secrets/set`); changed ones stay where they are. */
    location: z.enum(SECRET_LOCATIONS).optional(),
  }),
  result<ImportResult>(),
);

/** Sent to every client after secrets were created, changed or deleted (handles only). */
export const SecretsDidChange = defineNotification(
  'secrets/didChange',
  () => z.strictObject({ handles: z.array(secretHandle), change: z.enum(['created', 'updated', 'deleted']) }),
);
