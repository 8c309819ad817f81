import { ZavhozError } from '../core/errors.js';
import { ErrorCodes } from '../protocol/errors.js';
import type { DatabaseTransaction as Transaction } from '../store/database.js';
import type { SecretVersionRef } from './api.js';
import type { KeptVersion, SecretRecord, SecretRecords, VersionKey } from './records.js';

/**
 * Rules of the kept versions: which ones nobody keeps any more, and what a release is told when the version it
 * recorded is gone. A version other than the current one is kept while a holder (a release) retains it, or during
 * its grace after a rotation (until the next successful deploy or PREVIOUS_KEPT_DAYS).
 */

/** Of these versions, those nobody keeps any more (grace over, no holder), read inside `tx`; each once. */
export async function unkept(records: SecretRecords, tx: Transaction, candidates: readonly VersionKey[]): Promise<VersionKey[]> {
  const seen = new Set<string>();
  const chosen: VersionKey[] = [];
  for (const key of candidates) {
    const id = `${key.handle}@v${key.version}`;
    if (seen.has(id)) continue;
    seen.add(id);
    const kept = await records.version(key, tx);
    if (kept && kept.keptUntil === null && !(await records.isHeld(key, tx))) chosen.push({ handle: key.handle, version: key.version });
  }
  return chosen;
}

/**
 * The version a release recorded, checked against what the vault holds: its secret, and the kept version (undefined
 * when it is the current one). NotFound, saying what to do, when the vault no longer holds it.
 */
export function versionFor(
  ref: SecretVersionRef,
  record: SecretRecord | undefined,
  kept: KeptVersion | undefined,
): { record: SecretRecord; kept: KeptVersion | undefined } {
  if (!record) {
    throw new ZavhozError(
      ErrorCodes.NotFound,
      `Secret ${ref.handle} (version ${ref.version}) was deleted from the vault, so its value cannot be restored. Give the variable a new secret (zavhoz secret set) and deploy that instead.`,
      { handle: ref.handle, version: ref.version },
    );
  }
  const found = ref.version === record.version ? record : kept;
  if (!found) {
    throw new ZavhozError(
      ErrorCodes.NotFound,
      `Version ${ref.version} of ${ref.handle} (${record.name}) is no longer kept by the vault (the current one is version ${record.version}): no kept release holds it. Deploy with the current value instead (zavhoz deploy), or roll back to a release the vault still keeps.`,
      { handle: ref.handle, version: ref.version, current: record.version },
    );
  }
  if (found.fingerprint !== ref.fingerprint) {
    throw new ZavhozError(
      ErrorCodes.NotFound,
      `Version ${ref.version} of ${ref.handle} (${record.name}) holds another value than the one recorded, so the recorded value cannot be restored. Deploy with the current value instead (zavhoz deploy).`,
      { handle: ref.handle, version: ref.version },
    );
  }
  return { record, kept: found === record ? undefined : kept };
}

/** Groups kept versions by handle (for metadata lists). */
export function byHandle(versions: readonly KeptVersion[]): Map<string, KeptVersion[]> {
  const grouped = new Map<string, KeptVersion[]>();
  for (const version of versions) {
    const list = grouped.get(version.handle);
    if (list) list.push(version);
    else grouped.set(version.handle, [version]);
  }
  return grouped;
}
