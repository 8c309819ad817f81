import type { Migration } from './migrations.js';

/**
 * The schema, as numbered migrations. Append only: a released migration is never edited, a change is a new one.
 * Each capability owns a block; keep statements deterministic (no `datetime('now')`, no `random()`).
 */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'settings and audit log',
    statements: [
      `CREATE TABLE settings (
         key TEXT PRIMARY KEY,
         value TEXT NOT NULL,
         updated_at TEXT NOT NULL
       )`,
      `CREATE TABLE audit_log (
         id INTEGER PRIMARY KEY AUTOINCREMENT,
         at TEXT NOT NULL,
         client TEXT NOT NULL,
         request_id TEXT NOT NULL,
         action TEXT NOT NULL,
         subject TEXT NOT NULL,
         detail TEXT NOT NULL DEFAULT '{}'
       )`,
      'CREATE INDEX audit_log_subject ON audit_log (subject, at)',
    ],
  },
];
