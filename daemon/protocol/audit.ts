import { z } from 'zod';
import { defineRequest, result } from './define.js';

/** One audit log entry as sent to clients: who did what to which subject, when. Never a value. */
export interface AuditEntryView {
  readonly id: number;
  readonly at: string;
  readonly client: string;
  readonly requestId: string;
  readonly action: string;
  readonly subject: string;
  readonly detail: Readonly<Record<string, string | number | boolean | readonly string[]>>;
}

/** Reads the audit log, newest first, optionally for one subject (e.g. a secret handle). */
export const AuditList = defineRequest(
  'audit/list',
  z.strictObject({
    subject: z.string().min(1).max(128).optional(),
    limit: z.number().int().min(1).max(10_000).optional(),
  }),
  result<{ readonly entries: readonly AuditEntryView[] }>(),
);
