import type { Store, Transaction } from '../store/store.js';

/** One audited action: who, what, on which subject. Never a secret value. */
export interface AuditEntry {
  readonly client: string;
  readonly requestId: string;
  readonly action: string;
  readonly subject: string;
  readonly detail?: Record<string, string | number | boolean | readonly string[]>;
}

/** A row of the audit log as read back. */
export interface AuditRecord extends Required<AuditEntry> {
  readonly id: number;
  readonly at: string;
}

/**
 * The audit log: reveals, rotations, deletions, imports and every use of a handle by a deploy or a GitHub push.
 * Written inside the caller's transaction where there is one, so the action and its record land together.
 */
export class AuditLog {
  constructor(private readonly store: Store) {}

  /** Records an entry, in `tx` if given, else in its own transaction. */
  record(entry: AuditEntry, tx?: Transaction): void {
    const write = (t: Transaction): void => {
      t.run('INSERT INTO audit_log (at, client, request_id, action, subject, detail) VALUES (?, ?, ?, ?, ?, ?)', [
        new Date().toISOString(),
        entry.client,
        entry.requestId,
        entry.action,
        entry.subject,
        JSON.stringify(entry.detail ?? {}),
      ]);
    };
    if (tx) write(tx);
    else this.store.transaction(write);
  }

  /** The newest entries first, optionally for one subject. */
  list(options: { subject?: string; limit?: number } = {}): AuditRecord[] {
    const limit = Math.min(options.limit ?? 100, 10_000);
    const rows = options.subject
      ? this.store.all('SELECT * FROM audit_log WHERE subject = ? ORDER BY id DESC LIMIT ?', [options.subject, limit])
      : this.store.all('SELECT * FROM audit_log ORDER BY id DESC LIMIT ?', [limit]);
    return rows.map((row) => ({
      id: Number(row.id),
      at: String(row.at),
      client: String(row.client),
      requestId: String(row.request_id),
      action: String(row.action),
      subject: String(row.subject),
      detail: JSON.parse(String(row.detail)) as AuditRecord['detail'],
    }));
  }
}
