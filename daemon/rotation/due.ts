import type { SecretMetadata } from '../protocol/secretFields.js';

const DAY_MS = 24 * 60 * 60 * 1000;

/** A secret whose rotation is due, and since when. */
export interface DueSecret {
  readonly secret: SecretMetadata;
  /** When its current version turned `rotationDays` old. */
  readonly dueSince: Date;
}

/**
 * The secrets whose rotation is due at `now`: each with `rotationDays` whose current version (changed at
 * `updatedAt`) is at least that many days old. Oldest due first. A secret without `rotationDays`, or with an
 * unreadable time, is never due.
 */
export function dueSecrets(secrets: readonly SecretMetadata[], now: Date): DueSecret[] {
  const due: DueSecret[] = [];
  for (const secret of secrets) {
    if (secret.rotationDays === null || secret.rotationDays <= 0) continue;
    const changed = Date.parse(secret.updatedAt);
    if (Number.isNaN(changed)) continue;
    const dueSince = new Date(changed + secret.rotationDays * DAY_MS);
    if (dueSince.getTime() <= now.getTime()) due.push({ secret, dueSince });
  }
  return due.sort((a, b) => a.dueSince.getTime() - b.dueSince.getTime());
}
