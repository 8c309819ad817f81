import sodium from 'libsodium-wrappers';
import type { SecretReader } from '../vault/api.js';
import { invalidInput } from '../core/errors.js';

type Sodium = typeof sodium;

let sodiumLoading: Promise<Sodium> | undefined;

/**
 * libsodium, made ready on first use: instantiating its WebAssembly was part of every daemon start, and most daemons
 * never seal a value. In the built daemon the import itself loads on first use too (scripts/build.mjs, vendor bundles).
 */
function loadSodium(): Promise<Sodium> {
  sodiumLoading ??= sodium.ready.then(() => sodium);
  return sodiumLoading;
}

/** GitHub refuses secret values over 48 KB. */
export const MAX_SECRET_BYTES = 48 * 1024;

/** A repository's or environment's Actions public key, decoded. */
export interface PublicKey {
  readonly keyId: string;
  readonly key: Uint8Array;
}

/** What GitHub receives: the sealed value and the id of the key it was sealed with. */
export interface SealedValue {
  readonly encryptedValue: string;
  readonly keyId: string;
}

/** Decodes GitHub's `{ key_id, key }` answer, refusing a key that is not a 32-byte Curve25519 public key. */
export async function decodePublicKey(keyId: string, base64: string): Promise<PublicKey> {
  const sodium = await loadSodium();
  let key: Uint8Array;
  try {
    key = sodium.from_base64(base64, sodium.base64_variants.ORIGINAL);
  } catch {
    key = new Uint8Array();
  }
  if (key.length !== sodium.crypto_box_PUBLICKEYBYTES) {
    throw invalidInput(`GitHub returned a public key (id ${keyId}) that is not a 32-byte sealing key; check githubApiBase points at a GitHub API.`);
  }
  return { keyId, key };
}

/**
 * The form a value is sent in: CRLF line ends become LF (a key pasted on Windows must still load in a Linux
 * runner); nothing else changes, so multi-line values arrive exactly.
 */
export function normaliseValue(value: string): string {
  return value.replace(/\r\n/g, '\n');
}

/** Seals a value with `crypto_box_seal` so that only the holder of the key's private half (GitHub) can open it. */
export async function sealValue(value: string, publicKey: PublicKey): Promise<SealedValue> {
  const sodium = await loadSodium();
  const normalised = normaliseValue(value);
  const bytes = Buffer.byteLength(normalised);
  if (bytes === 0) throw invalidInput('GitHub does not accept an empty secret; store a value first.');
  if (bytes > MAX_SECRET_BYTES) throw invalidInput(`The value is ${bytes} bytes; GitHub accepts secrets up to ${MAX_SECRET_BYTES} bytes.`);
  const sealed = sodium.crypto_box_seal(normalised, publicKey.key);
  return { encryptedValue: sodium.to_base64(sealed, sodium.base64_variants.ORIGINAL), keyId: publicKey.keyId };
}

/**
 * A fingerprint of a value as pushed, for drift checks: the vault's keyed HMAC of the normalised value, so the
 * fingerprint of a short value cannot be reversed by guessing without the vault's key.
 */
export async function fingerprintValue(value: string, vault: Pick<SecretReader, 'fingerprint'>): Promise<string> {
  const digest = await vault.fingerprint(normaliseValue(value));
  return `hmac-sha256:${digest.slice(0, 24)}`;
}
