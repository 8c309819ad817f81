import { invalidInput, ZavhozError } from '../core/errors.js';
import type { ValidatedParams } from '../protocol/define.js';
import { GENERATED_LENGTH, type SecretType } from '../protocol/secretFields.js';
import type { SecretsSet } from '../protocol/secrets.js';
import { generateValue } from './generate.js';
import type { KeptVersion, SecretRecord } from './records.js';
import { checkTypedValue } from './validate.js';

/** Pure pieces of the vault's operations: new records, replacement records, rotation values, import typing. */

/** Describing fields of a new secret: those `secrets/set` declares (and validates) on the wire, declared there once. */
export type SecretDescription = Readonly<Pick<ValidatedParams<typeof SecretsSet>, 'name' | 'category' | 'project' | 'tags' | 'expiresAt' | 'rotationDays' | 'location'>>;

/** How long a replaced value is kept after a rotation when no deploy confirms the new one (and no release holds it). */
export const PREVIOUS_KEPT_DAYS = 7;
const DAY_MS = 86_400_000;
const PRIVATE_KEY_PATTERN = /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/;

/**
 * The metadata after replacing a value: the next version number becomes current, and the current version is kept
 * (until the next successful deploy or {@link PREVIOUS_KEPT_DAYS}, or longer while a release holds it), unless its
 * value was removed outside Zavhoz: then there is none to keep.
 */
export function replacementRecord(
  record: SecretRecord,
  fingerprint: string,
  passphrase: string | undefined,
  origin: Pick<SecretRecord, 'origin' | 'generatedLength'>,
  hasCurrent: boolean,
): { record: SecretRecord; retired: KeptVersion | null } {
  const now = new Date();
  return {
    record: { ...record, ...origin, fingerprint, hasPassphrase: passphrase !== undefined, updatedAt: now.toISOString(), version: record.version + 1 },
    retired: hasCurrent
      ? {
          handle: record.handle,
          version: record.version,
          fingerprint: record.fingerprint,
          hasPassphrase: record.hasPassphrase,
          keptUntil: new Date(now.getTime() + PREVIOUS_KEPT_DAYS * DAY_MS).toISOString(),
        }
      : null,
  };
}

/** The value a rotation installs: the one given, or a generated one when asked for or when Zavhoz made the last. */
export function newValueFor(
record: SecretRecord,
  input: { value?: string | undefined; passphrase?: string | undefined; generate?: boolean | undefined; length?: number | undefined },
): { value: string; origin: SecretRecord['origin']; generatedLength: number | null } {
  const generate = input.generate === true || input.length !== undefined;
  if (input.value !== undefined) {
    if (generate) throw invalidInput('Give either a new value or ask for a generated one, not both.');
    checkTypedValue(record.name, record.type, input.value, input.passphrase);
    return { value: input.value, origin: 'user', generatedLength: null };
  }
  const type = record.type;
  if (type !== 'password' && type !== 'token') {
    throw invalidInput(`${record.handle} (${record.name}) is a ${type}: Zavhoz generates passwords and tokens only; give the new value (zavhoz secret rotate ${record.handle} < new-value).`);
  }
  if (!generate && record.origin !== 'generated') {
    throw invalidInput(
      `${record.handle} (${record.name}) holds a value you gave, so Zavhoz will not make up a new one unasked: pipe the new value in (zavhoz secret rotate ${record.handle} < new-value.txt), or add --generate.`,
    );
  }
  const length = input.length ?? record.generatedLength ?? GENERATED_LENGTH.default;
  return { value: generateValue(type, length), origin: 'generated', generatedLength: length };
}

/** The metadata of a new secret. */
export function newRecord(
  input: SecretDescription,
  handle: string,
  type: SecretType,
  now: string,
  value: Pick<SecretRecord, 'fingerprint' | 'origin' | 'generatedLength' | 'hasPassphrase'>,
): SecretRecord {
  return {
    handle,
    name: input.name,
    type,
    category: input.category ?? 'other',
    project: input.project ?? null,
    tags: [...new Set(input.tags ?? [])],
    ...value,
    createdAt: now,
    updatedAt: now,
    lastUsedAt: null,
    expiresAt: input.expiresAt === undefined ? null : new Date(input.expiresAt).toISOString(),
    rotationDays: input.rotationDays ?? null,
    version: 1,
  };
}

/** `{ passphrase }` when there is one, for spreading into a change. */
export function passphraseOf(passphrase: string | undefined): { passphrase?: string } {
  return passphrase === undefined ? {} : { passphrase };
}

/** Imported values that hold a private key are typed as such (and must parse); everything else is text. */
export function detectType(value: string): SecretType {
  return PRIVATE_KEY_PATTERN.test(value) ? 'private_key' : 'text';
}

/** Prefixes a validation error with the .env line it came from. */
export function atLine(line: number, check: () => void): void {
  try {
    check();
  } catch (error) {
    if (error instanceof ZavhozError) throw new ZavhozError(error.code, `.env line ${line}: ${error.message} Nothing was imported.`, error.data);
    throw error;
  }
}
