import type { TextRedactor } from '../core/redactor.js';
import type { Database, DatabaseTransaction } from '../store/database.js';

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
  /** On a team's shared store, the member whose daemon did it; absent on the embedded store. */
  readonly member?: string;
}

/**
 * The audit log: reveals, rotations, deletions, imports and every use of a handle by a deploy or a GitHub push.
 * Written inside the caller's transaction where there is one, so the action and its record land together.
 */
export class AuditLog {
  /**
   * `member`: on a team's shared store, this member's name, recorded with each entry (who did what). `redactor`: the
   * daemon's; an entry's subject and detail pass it before they are stored, since a detail may quote what a person
   * typed (a command line with a value written into it) and the log is kept, listed, and shared with a team.
   */
  constructor(
    private readonly store: Database,
    private readonly member?: string,
    private readonly redactor?: TextRedactor,
  ) {}

  /** Records an entry, in `tx` if given, else in its own transaction. */
  async record(entry: AuditEntry, tx?: DatabaseTransaction): Promise<void> {
    const write = async (t: DatabaseTransaction): Promise<void> => {
      await t.run('INSERT INTO audit_log (at, client, request_id, action, subject, detail, member) VALUES (?, ?, ?, ?, ?, ?, ?)', [
        new Date().toISOString(),
        entry.client,
        entry.requestId,
        entry.action,
        this.masked(entry.subject),
        // The JSON text is masked whole: the redactor knows each value's JSON-escaped form too.
        this.masked(JSON.stringify(entry.detail ?? {})),
        this.member ?? null,
      ]);
    };
    if (tx) await write(tx);
    else await this.store.transaction(write);
  }

  private masked(text: string): string {
    return this.redactor ? this.redactor.redact(text) : text;
  }

  /** The newest entries first, optionally for one subject. */
  async list(options: { subject?: string | undefined; limit?: number; beforeId?: number | undefined } = {}): Promise<AuditRecord[]> {
    // One more than the largest page `audit/list` asks for, so it can tell whether more follow.
    const limit = Math.min(options.limit ?? 100, 10_001);
    // `beforeId` resumes a page after that entry, in the same newest-first order.
    const beforeId = options.beforeId ?? Number.MAX_SAFE_INTEGER;
    const rows = options.subject
      ? await this.store.all('SELECT * FROM audit_log WHERE subject = ? AND id < ? ORDER BY id DESC LIMIT ?', [options.subject, beforeId, limit])
      : await this.store.all('SELECT * FROM audit_log WHERE id < ? ORDER BY id DESC LIMIT ?', [beforeId, limit]);
    return rows.map((row) => {
      const detail = JSON.parse(String(row.detail)) as AuditRecord['detail'];
      // Entries from before the column (migration 16) kept the member in their detail.
      const member = typeof row.member === 'string' ? row.member : typeof detail.member === 'string' ? detail.member : undefined;
      return {
        id: Number(row.id),
        at: String(row.at),
        client: String(row.client),
        requestId: String(row.request_id),
        action: String(row.action),
        subject: String(row.subject),
        detail,
        ...(member === undefined ? {} : { member }),
      };
    });
  }
}
