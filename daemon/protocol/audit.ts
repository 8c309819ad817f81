import * as z from 'zod';
import { defineRequest, result } from './define.js';
import { type PageInfo, pageFields } from './fields.js';

/** One audit log entry as sent to clients: who did what to which subject, when. Never a value. */
export interface AuditEntryView {
  readonly id: number;
  readonly at: string;
  readonly client: string;
  readonly requestId: string;
  readonly action: string;
  readonly subject: string;
  readonly detail: Readonly<Record<string, string | number | boolean | readonly string[]>>;
  /** On a team's shared store, the member whose daemon did it (`zavhoz team join --member`, or user@host). */
  readonly member?: string;
}

/**
 * Reads the audit log, newest first, a page at a time (`limit` entries, then `cursor` for older ones), optionally
 * for one subject (e.g. a secret handle).
 */
export const AuditList = defineRequest(
  'audit/list',
  () => z.strictObject({
    subject: z.string().min(1).max(128).optional(),
    limit: z.number().int().min(1).max(10_000).default(100),
    cursor: pageFields.cursor,
  }),
  result<{ readonly entries: readonly AuditEntryView[] } & PageInfo>(),
);
