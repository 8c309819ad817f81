import crypto from 'node:crypto';
import ssh2 from 'ssh2';
import { invalidInput } from '../core/errors.js';
import { MIN_REDACTABLE_LENGTH } from '../core/redactor.js';
import { MAX_SECRET_BYTES, SECRET_NAME_PATTERN, type SecretType } from '../protocol/secretFields.js';

/**
 * Checks on what goes into the vault. Error messages name the secret and the rule, never the value (nor any
 * library message about it, which could quote it).
 */

/** Refuses a name that is not an environment-variable name. */
export function checkName(name: string): void {
  if (!SECRET_NAME_PATTERN.test(name) || name.length > 128) {
    throw invalidInput(`"${name}" is not a valid secret name: use an environment variable name (A–Z, 0–9, _; not starting with a digit), e.g. TELEGRAM_BOT_TOKEN.`);
  }
}

/** Refuses values the vault cannot keep safely: empty, blank, too short to mask in logs, too large, or with NUL. */
export function checkValue(name: string, value: string, what = 'value'): void {
  if (value.length === 0) throw invalidInput(`The ${what} of ${name} is empty: give the secret on standard input.`);
  if (value.trim().length === 0) throw invalidInput(`The ${what} of ${name} is only whitespace.`);
  if (value.length < MIN_REDACTABLE_LENGTH) {
    throw invalidInput(
      `The ${what} of ${name} is shorter than ${MIN_REDACTABLE_LENGTH} characters: logs could not mask it, so the vault refuses it. Use a longer value.`,
    );
  }
  const bytes = Buffer.byteLength(value, 'utf8');
  if (bytes > MAX_SECRET_BYTES) {
    throw invalidInput(`The ${what} of ${name} is ${bytes} bytes; the vault keeps values up to ${MAX_SECRET_BYTES} bytes (64 KiB).`);
  }
  if (value.includes('\0')) throw invalidInput(`The ${what} of ${name} contains a NUL character, which keychains cannot store.`);
}

/** Checks a value for its type: a `private_key` must parse as a private key (PEM/PKCS#8/PKCS#1/SEC1 or OpenSSH). */
export function checkTypedValue(name: string, type: SecretType, value: string, passphrase: string | undefined): void {
  checkValue(name, value);
  if (passphrase !== undefined) {
    if (type !== 'private_key') throw invalidInput(`${name} is a ${type}: only a private_key takes a passphrase.`);
    checkValue(name, passphrase, 'passphrase');
  }
  if (type === 'private_key') checkPrivateKey(name, value, passphrase);
}

/** Refuses anything that is not a private key this machine can use, with the passphrase if one is given. */
export function checkPrivateKey(name: string, value: string, passphrase: string | undefined): void {
  if (/-----BEGIN OPENSSH PRIVATE KEY-----/.test(value)) {
    // Node's crypto cannot read the OpenSSH format; ssh2 (which will use the key) can.
    const parsed = ssh2.utils.parseKey(value, passphrase);
    if (parsed instanceof Error) {
      if (/no passphrase given/i.test(parsed.message)) throw encryptedWithoutPassphrase(name);
      if (/passphrase/i.test(parsed.message)) throw invalidInput(`The passphrase given for ${name} does not open the key.`);
      throw notAKey(name);
    }
    if (!parsed.isPrivateKey()) throw notAKey(name);
    return;
  }
  if (/-----BEGIN [A-Z ]*ENCRYPTED PRIVATE KEY-----|Proc-Type: 4,ENCRYPTED/.test(value) && passphrase === undefined) {
    throw encryptedWithoutPassphrase(name);
  }
  try {
    crypto.createPrivateKey(passphrase === undefined ? { key: value } : { key: value, passphrase });
  } catch {
    if (passphrase !== undefined && /ENCRYPTED/.test(value)) throw invalidInput(`The passphrase given for ${name} does not open the key.`);
    throw notAKey(name);
  }
}

function notAKey(name: string): Error {
  return invalidInput(
    `${name} is typed private_key but its value is not a private key: give the whole key file (PEM "-----BEGIN … PRIVATE KEY-----" or OpenSSH "-----BEGIN OPENSSH PRIVATE KEY-----"), not a public key.`,
  );
}

function encryptedWithoutPassphrase(name: string): Error {
  return invalidInput(`The private key of ${name} is encrypted: give its passphrase too (zavhoz secret set … --passphrase-file FILE).`);
}
