import * as z from 'zod';
import { lazySchema } from './lazySchema.js';

/**
 * The vault's vocabulary: secret types and categories, name and handle rules, and the metadata every client sees.
 * Declared once here and re-exported by `secrets.ts`; this file imports zod only (no vscode-jsonrpc), so the vault's
 * domain code takes its types from here.
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

/** `generated` if Zavhoz made the current value (rotate makes a new one), `user` if it was typed or imported. */
export type SecretOrigin = 'user' | 'generated';

/** Where a secret's value lives: the member's own keychain (or vault file), or the team's Vault (HashiCorp / OpenBao). */
export const SECRET_LOCATIONS = ['personal', 'team'] as const;
/** One of {@link SECRET_LOCATIONS}. */
export type SecretLocationName = (typeof SECRET_LOCATIONS)[number];

/** A type whose values Zavhoz can generate. */
export type GeneratableType = (typeof GENERATABLE_TYPES)[number];

/** A secret handle in params. */
export const secretHandle = lazySchema(() => z.string().regex(SECRET_HANDLE_PATTERN, 'a secret handle like sec_7f3k9x2m'));

/** A previous value kept after a rotation, until the next successful deploy or its `keptUntil`. */
export interface PreviousVersion {
  readonly version: number;
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
  readonly origin: SecretOrigin;
  readonly hasPassphrase: boolean;
  /** HMAC-SHA256 of the value under a per-data-folder key kept in the keychain; equal values, equal fingerprints. */
  readonly fingerprint: string;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly lastUsedAt: string | null;
  readonly expiresAt: string | null;
  readonly rotationDays: number | null;
  /** 1 when created, +1 on every rotation or replacement; a release records it to roll back to exactly that value. */
  readonly version: number;
  readonly previous: PreviousVersion | null;
  /** Where the value lives; absent from daemons before team secrets (read it as `personal`). */
  readonly location?: SecretLocationName;
}

/** What `secrets/reveal` answers: the one result that carries a value. */
export interface RevealedSecret {
  readonly handle: string;
  readonly name: string;
  readonly value: string;
  readonly passphrase?: string;
}

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
