import crypto from 'node:crypto';
import { GENERATED_LENGTH, type GeneratableType } from '../protocol/secretFields.js';

const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';
/** Letters and digits only: a generated password must survive URLs, shells and config files unquoted. */
const PASSWORD_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
/** base64url characters: tokens carry 6 bits a character. */
const TOKEN_ALPHABET = `${PASSWORD_ALPHABET}-_`;

/** A new opaque handle: `sec_` and 8 base32 characters from 40 random bits, unrelated to any value. */
export function newHandle(): string {
  const bytes = crypto.randomBytes(5);
  let bits = 0n;
  for (const byte of bytes) bits = (bits << 8n) | BigInt(byte);
  let text = '';
  for (let index = 7; index >= 0; index--) text += BASE32.charAt(Number((bits >> BigInt(index * 5)) & 31n));
  return `sec_${text}`;
}

/** A strong random value for a password (letters, digits) or a token (base64url alphabet), without modulo bias. */
export function generateValue(type: GeneratableType, length: number = GENERATED_LENGTH.default): string {
  const alphabet = type === 'password' ? PASSWORD_ALPHABET : TOKEN_ALPHABET;
  let value = '';
  for (let index = 0; index < length; index++) value += alphabet.charAt(crypto.randomInt(alphabet.length));
  return value;
}

/** A random id for one data folder, naming its keychain entries that are not secrets of their own. */
export function newFolderId(): string {
  return crypto.randomBytes(8).toString('hex');
}
