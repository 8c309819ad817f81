import { AuditList } from '../../protocol/audit.js';
import { type Command, integerFlag, stringFlag } from '../command.js';
import { firstPage, listPages, printPages } from '../listing.js';

/** `zavhoz audit list`: who revealed, rotated, deleted, imported or used which secret, and when. */
export const auditCommands: Command[] = [
  {
    path: ['audit', 'list'],
    usage: 'zavhoz audit list [--subject HANDLE] [--limit N] [--json]',
    summary: 'Show the audit log, newest first (never values); on a team store, which member did each entry.',
    examples: ['zavhoz audit list --limit 20', 'zavhoz audit list --subject sec_ab12cd34 --json'],
    options: {
      subject: { type: 'string', value: 'HANDLE', description: 'Only entries about this secret (or other subject).' },
      limit: { type: 'string', value: 'N', description: 'Show at most N entries.' },
    },
    async run(context) {
      const subject = stringFlag(context.flags, 'subject');
      const limit = integerFlag(context.flags, 'limit');
      const filter = subject === undefined ? {} : { subject };
      // Without --limit, the newest page (the schema's default size); with it, pages until that many entries.
      const pages = limit === undefined ? firstPage(context, AuditList, filter, (page) => page.entries) : listPages(context, AuditList, filter, (page) => page.entries, limit);
      await printPages(context, pages, {
        empty: 'The audit log is empty.',
        lines: (entries) =>
          entries
            .map((entry) => {
              const detail = Object.entries(entry.detail)
                .map(([key, value]) => `${key}=${Array.isArray(value) ? value.join(',') : String(value)}`)
                .join(' ');
              const who = entry.member === undefined ? entry.client : `${entry.member} via ${entry.client}`;
              return `${entry.at.slice(0, 19).replace('T', ' ')}  ${entry.action.padEnd(14)} ${entry.subject.padEnd(12)} ${who} (${entry.requestId})${detail ? `  ${detail}` : ''}`;
            })
            .join('\n'),
      });
    },
  },
];
