import crypto from 'node:crypto';
import fs from 'node:fs';
import { promisify } from 'node:util';
import { ZavhozError } from '../core/errors.js';
import { writeFileAtomic } from '../core/files.js';
import { ErrorCodes } from '../protocol/errors.js';
import type { SecretBackend } from './backend.js';

const scrypt = promisify(crypto.scrypt) as (password: crypto.BinaryLike, salt: crypto.BinaryLike, length: number, options: crypto.ScryptOptions) => Promise<Buffer>;

/** Shortest master key accepted: anything shorter is guessable offline from a stolen file. */
export const MIN_MASTER_KEY_LENGTH = 16;

const FORMAT = 'zavhoz-vault';
const VERSION = 1;
/** scrypt cost: ~100 ms and 32 MiB once per daemon start, so a stolen file is slow to attack. */
const KDF = { N: 32_768, r: 8, p: 1 } as const;
const CHECK_PLAINTEXT = 'zavhoz-vault-key-check';

interface Sealed {
  readonly nonce: string;
  readonly data: string;
  readonly tag: string;
}

interface VaultFile {
  readonly format: typeof FORMAT;
  readonly version: number;
  readonly kdf: { readonly name: 'scrypt'; readonly salt: string; readonly N: number; readonly r: number; readonly p: number };
  readonly check: Sealed;
  readonly entries: Record<string, Sealed>;
  readonly mac: string;
}

/**
 * The opt-in vault for machines without a keychain: one JSON file, mode 0600, each value sealed with AES-256-GCM
 * under a fresh random nonce and its account name as associated data (so entries cannot be swapped), the whole
 * set of entries under an HMAC (so one cannot be dropped or rolled back alone). The key comes from the master key
 * through scrypt with a per-file salt. Wrong key → VaultKeyInvalid; any change made outside Zavhoz → VaultTampered.
 */
export class FileBackend implements SecretBackend {
  readonly kind = 'file' as const;

  private constructor(
    private readonly file: string,
    private readonly encryptionKey: Buffer,
    private readonly macKey: Buffer,
    private readonly kdf: VaultFile['kdf'],
    private readonly check: Sealed,
    private readonly entries: Map<string, Sealed>,
  ) {}

  /**
   * Opens the vault file (creating it on first use) and verifies the key and the whole file. `keySource` names
   * where the key came from in messages (`ZAVHOZ_MASTER_KEY`, or the key file).
   */
  static async open(file: string, masterKey: string, keySource = 'ZAVHOZ_MASTER_KEY'): Promise<FileBackend> {
    if (masterKey.length < MIN_MASTER_KEY_LENGTH) {
      throw new ZavhozError(
        ErrorCodes.VaultKeyInvalid,
        `${keySource} is too short (${masterKey.length} characters): use at least ${MIN_MASTER_KEY_LENGTH}, e.g. the output of "openssl rand -base64 32", and start the daemon again.`,
      );
    }
    let text: string | undefined;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
        throw new ZavhozError(ErrorCodes.VaultTampered, `The vault file ${file} cannot be read (${(error as Error).message}). Check its permissions.`);
      }
    }
    if (text === undefined) {
      const kdf = { name: 'scrypt' as const, salt: crypto.randomBytes(16).toString('base64'), ...KDF };
      const [encryptionKey, macKey] = await deriveKeys(masterKey, kdf);
      const backend = new FileBackend(file, encryptionKey, macKey, kdf, seal(encryptionKey, 'check', CHECK_PLAINTEXT), new Map());
      backend.save();
      return backend;
    }
    const parsed = parseVaultFile(text, file);
    const [encryptionKey, macKey] = await deriveKeys(masterKey, parsed.kdf);
    if (unseal(encryptionKey, 'check', parsed.check) !== CHECK_PLAINTEXT) {
      throw new ZavhozError(
        ErrorCodes.VaultKeyInvalid,
        `${keySource} does not open the vault file ${file}: it is not the key the file was made with. Start the daemon with the right key.`,
      );
    }
    const backend = new FileBackend(file, encryptionKey, macKey, parsed.kdf, parsed.check, new Map(Object.entries(parsed.entries)));
    if (!crypto.timingSafeEqual(Buffer.from(backend.computeMac(), 'hex'), Buffer.from(parsed.mac, 'hex'))) {
      throw tampered(file);
    }
    return backend;
  }

  // eslint-disable-next-line @typescript-eslint/require-await -- the backend interface is async (the keychain's is); `async` keeps this one's throws rejections
  async read(account: string): Promise<string | undefined> {
    const sealed = this.entries.get(account);
    if (!sealed) return undefined;
    const value = unseal(this.encryptionKey, account, sealed);
    if (value === undefined) throw tampered(this.file);
    return value;
  }

  // eslint-disable-next-line @typescript-eslint/require-await -- the backend interface is async (the keychain's is); `async` keeps this one's throws rejections
  async write(account: string, value: string): Promise<void> {
    this.entries.set(account, seal(this.encryptionKey, account, value));
    this.save();
  }

  // eslint-disable-next-line @typescript-eslint/require-await -- the backend interface is async (the keychain's is); `async` keeps this one's throws rejections
  async remove(account: string): Promise<boolean> {
    if (!this.entries.delete(account)) return false;
    this.save();
    return true;
  }

  async readMany(accounts: readonly string[]): Promise<Map<string, string>> {
    const found = new Map<string, string>();
    for (const account of accounts) {
      const value = await this.read(account);
      if (value !== undefined) found.set(account, value);
    }
    return found;
  }

  private save(): void {
    const content: VaultFile = {
      format: FORMAT,
      version: VERSION,
      kdf: this.kdf,
      check: this.check,
      entries: Object.fromEntries([...this.entries].sort(([a], [b]) => (a < b ? -1 : 1))),
      mac: this.computeMac(),
    };
    writeFileAtomic(this.file, `${JSON.stringify(content, null, 1)}\n`);
  }

  private computeMac(): string {
    const hmac = crypto.createHmac('sha256', this.macKey);
    hmac.update(`${FORMAT}/${VERSION}/${this.kdf.salt}\n`);
    for (const [account, sealed] of [...this.entries].sort(([a], [b]) => (a < b ? -1 : 1))) {
      hmac.update(`${account}\n${sealed.nonce}\n${sealed.data}\n${sealed.tag}\n`);
    }
    return hmac.digest('hex');
  }
}

async function deriveKeys(masterKey: string, kdf: VaultFile['kdf']): Promise<[Buffer, Buffer]> {
  const bytes = await scrypt(masterKey.normalize('NFC'), Buffer.from(kdf.salt, 'base64'), 64, {
    N: kdf.N,
    r: kdf.r,
    p: kdf.p,
    maxmem: 128 * kdf.N * kdf.r * 2,
  });
  return [bytes.subarray(0, 32), bytes.subarray(32)];
}

function seal(key: Buffer, account: string, plaintext: string): Sealed {
  const nonce = crypto.randomBytes(12);
  const cipher = crypto.createCipheriv('aes-256-gcm', key, nonce);
  cipher.setAAD(Buffer.from(account));
  const data = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return { nonce: nonce.toString('base64'), data: data.toString('base64'), tag: cipher.getAuthTag().toString('base64') };
}

/** Opens one sealed value; undefined if it does not authenticate (wrong key, or changed). */
function unseal(key: Buffer, account: string, sealed: Sealed): string | undefined {
  try {
    const decipher = crypto.createDecipheriv('aes-256-gcm', key, Buffer.from(sealed.nonce, 'base64'));
    decipher.setAAD(Buffer.from(account));
    decipher.setAuthTag(Buffer.from(sealed.tag, 'base64'));
    return Buffer.concat([decipher.update(Buffer.from(sealed.data, 'base64')), decipher.final()]).toString('utf8');
  } catch {
    return undefined;
  }
}

function isSealed(value: unknown): value is Sealed {
  if (typeof value !== 'object' || value === null) return false;
  const record = value as Record<string, unknown>;
  return typeof record.nonce === 'string' && typeof record.data === 'string' && typeof record.tag === 'string'
    && Buffer.from(record.nonce, 'base64').length === 12 && Buffer.from(record.tag, 'base64').length === 16;
}

function parseVaultFile(text: string, file: string): VaultFile {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw tampered(file);
  }
  // Untrusted until every field is checked: read as unknowns, not as the VaultFile it claims to be.
  const candidate = value as { [K in keyof VaultFile]?: unknown } | null;
  const kdf = candidate?.kdf as { [K in keyof VaultFile['kdf']]?: unknown } | null | undefined;
  const valid =
    candidate !== null && typeof candidate === 'object' && candidate.format === FORMAT && candidate.version === VERSION
    && typeof kdf === 'object' && kdf !== null && kdf.name === 'scrypt' && typeof kdf.salt === 'string'
    && kdf.N === KDF.N && kdf.r === KDF.r && kdf.p === KDF.p
    && isSealed(candidate.check) && typeof candidate.mac === 'string' && /^[0-9a-f]{64}$/.test(candidate.mac)
    && typeof candidate.entries === 'object' && candidate.entries !== null
    && Object.values(candidate.entries).every(isSealed);
  if (!valid) throw tampered(file);
  return candidate as VaultFile;
}

function tampered(file: string): ZavhozError {
  return new ZavhozError(
    ErrorCodes.VaultTampered,
    `The vault file ${file} was changed outside Zavhoz: its integrity check failed, so none of its values are trusted. Restore the file from a backup, or move it aside and set the secrets again.`,
  );
}
