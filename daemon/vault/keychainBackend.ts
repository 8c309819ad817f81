import { AsyncEntry, type EntryOptions, findCredentialsAsync } from '@napi-rs/keyring';
import v8 from 'node:v8';
import vm from 'node:vm';
import { ZavhozError } from '../core/errors.js';
import { ErrorCodes } from '../protocol/errors.js';
import type { SecretBackend } from './backend.js';

/** The keychain service every Zavhoz entry is filed under; the account is the vault's account name. */
export const KEYCHAIN_SERVICE = 'zavhoz';

/**
 * Pin Linux to the Secret Service. Left to its default, the library silently falls back to the kernel keyring
 * when no D-Bus session exists: values would then vanish at reboot and look like a working keychain until then.
 */
const ENTRY_OPTIONS: EntryOptions = { linux: { store: 'secret-service' } };

/** How long one keychain call may take; a desktop unlock prompt left unanswered would otherwise hang the vault. */
const CALL_TIMEOUT_MS = 30_000;

/** What the user is told when no keychain can be reached. */
export const KEYCHAIN_UNAVAILABLE_HINT =
  'no OS keychain reachable: start a Secret Service (gnome-keyring) or opt in to the file vault with ZAVHOZ_VAULT=file and ZAVHOZ_MASTER_KEY_FILE (or ZAVHOZ_MASTER_KEY)';

/** What the user is told when the keychain is locked. */
export const KEYCHAIN_LOCKED_HINT =
  'The OS keychain is locked: unlock your login keyring (log in to your desktop session, or open "Passwords and Keys" and unlock "Login"), then try again.';

/**
 * The OS keychain through `@napi-rs/keyring` (Secret Service on Linux, Keychain on macOS, Credential Manager on
 * Windows). Every failure becomes a ZavhozError naming the cause and the fix; a locked or missing keychain is
 * never reported as "no value".
 */
export class KeychainBackend implements SecretBackend {
  readonly kind = 'keychain' as const;
  private readonly pool = new EntryPool();

  async read(account: string): Promise<string | undefined> {
    const value = await this.call('read', account, (entry) => entry.getPassword(AbortSignal.timeout(CALL_TIMEOUT_MS)));
    return value ?? undefined;
  }

  async write(account: string, value: string): Promise<void> {
    await this.call('write', account, (entry) => entry.setPassword(value, AbortSignal.timeout(CALL_TIMEOUT_MS)));
  }

  async remove(account: string): Promise<boolean> {
    return this.call('delete', account, (entry) => entry.deleteCredential(AbortSignal.timeout(CALL_TIMEOUT_MS)));
  }

  async readMany(accounts: readonly string[]): Promise<Map<string, string>> {
    const wanted = new Set(accounts);
    const found = new Map<string, string>();
    if (wanted.size === 0) return found;
    // One Secret Service search instead of one round trip per account: start-up reads every value.
    const credentials = await call('read', () => findCredentialsAsync(KEYCHAIN_SERVICE, undefined, AbortSignal.timeout(CALL_TIMEOUT_MS)));
    for (const credential of credentials) {
      if (wanted.has(credential.account)) found.set(credential.account, credential.password);
    }
    return found;
  }

  /** Runs one call on the account's pooled entry; a reused entry whose connection went bad gets one fresh retry. */
  private async call<T>(what: 'read' | 'write' | 'delete', account: string, work: (entry: AsyncEntry) => Promise<T>): Promise<T> {
    const reused = this.pool.has(account);
    try {
      return await work(this.pool.get(account));
    } catch (error) {
      if (!reused) throw keychainError(error, what);
      this.pool.forget(account);
      return call(what, () => work(this.pool.get(account)));
    }
  }
}

/** Live entries kept for reuse. */
const POOL_SIZE = 32;

/**
 * Reuses keychain entries. Each `AsyncEntry` holds its own D-Bus connection until it is garbage collected, and a
 * session bus caps connections per user (256 on a bus without a session.conf), so one entry per call would run
 * the bus out of connections under load. The pool keeps a few recent entries and, after evicting as many again,
 * asks V8 for a collection so the dropped entries' connections close now rather than whenever.
 */
class EntryPool {
  private readonly entries = new Map<string, AsyncEntry>();
  private evicted = 0;

  has(account: string): boolean {
    return this.entries.has(account);
  }

  get(account: string): AsyncEntry {
    const existing = this.entries.get(account);
    if (existing) {
      // Map order is insertion order: re-inserting makes this the most recently used.
      this.entries.delete(account);
      this.entries.set(account, existing);
      return existing;
    }
    const entry = new AsyncEntry(KEYCHAIN_SERVICE, account, ENTRY_OPTIONS);
    this.entries.set(account, entry);
    if (this.entries.size > POOL_SIZE) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
      if (++this.evicted >= POOL_SIZE) {
        this.evicted = 0;
        collectGarbage();
      }
    }
    return entry;
  }

  forget(account: string): void {
    this.entries.delete(account);
  }
}

let garbageCollector: (() => void) | null | undefined;

/** A full V8 collection if the runtime allows one (it closes dropped entries' D-Bus connections); else nothing. */
function collectGarbage(): void {
  if (garbageCollector === undefined) {
    try {
      v8.setFlagsFromString('--expose-gc');
      garbageCollector = vm.runInNewContext('gc') as () => void;
    } catch {
      garbageCollector = null;
    }
  }
  garbageCollector?.();
}

async function call<T>(what: 'read' | 'write' | 'delete', work: () => Promise<T>): Promise<T> {
  try {
    // `work` may throw synchronously too: the entry constructor connects to D-Bus.
    return await work();
  } catch (error) {
    throw keychainError(error, what);
  }
}

/**
 * Maps a keyring library error to a ZavhozError. The library's messages name D-Bus and Secret Service states,
 * never values, so the cause is passed on for the user.
 */
export function keychainError(error: unknown, what: 'read' | 'write' | 'delete'): ZavhozError {
  const message = describeChain(error);
  if (/abort|timed? ?out/i.test(message)) {
    return new ZavhozError(
      ErrorCodes.KeychainUnavailable,
      `The OS keychain did not answer a ${what} within ${CALL_TIMEOUT_MS / 1000} s; an unlock prompt may be waiting on your desktop. Answer it, then try again.`,
    );
  }
  if (/is ?locked|unlock prompt|locked collection|prompt was dismissed/i.test(message)) {
    return new ZavhozError(ErrorCodes.KeychainLocked, KEYCHAIN_LOCKED_HINT, { cause: message });
  }
  if (/dbus|d-bus|platform failure|secrets was not provided|no such file|autolaunch|no storage access|connect/i.test(message)) {
    return new ZavhozError(ErrorCodes.KeychainUnavailable, `Cannot ${what} secrets: ${KEYCHAIN_UNAVAILABLE_HINT} (${message}).`, {
      cause: message,
    });
  }
  return new ZavhozError(
    ErrorCodes.KeychainUnavailable,
    `The OS keychain refused a ${what}: ${message}. Check that your keychain works (e.g. with "secret-tool"), or use the file vault (ZAVHOZ_VAULT=file with ZAVHOZ_MASTER_KEY_FILE).`,
    { cause: message },
  );
}

function describeChain(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current instanceof Error; depth++) {
    if (!parts.some((part) => part.includes(current instanceof Error ? current.message : ''))) parts.push(current.message);
    current = current.cause;
  }
  if (parts.length === 0) parts.push(String(error));
  return parts.join(': ');
}
