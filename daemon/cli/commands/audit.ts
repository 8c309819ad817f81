import { AuditList } from '../../protocol/audit.js';
import { type Command, integerFlag, stringFlag } from '../command.js';

/** `zavhoz audit list`: who revealed, rotated, deleted, imported or used which secret, and when. */
export const auditCommands: Command[] = [
  {
    path: ['audit', 'list'],
    usage: 'zavhoz audit list [--subject HANDLE] [--limit N] [--json]',
    summary: 'Show the audit log, newest first (never values).',
    examples: ['zavhoz audit list --limit 20', 'zavhoz audit list --subject sec_ab12cd34 --json'],
    options: {
      subject: { type: 'string', value: 'HANDLE', description: 'Only entries about this secret (or other subject).' },
      limit: { type: 'string', value: 'N', description: 'Show at most N entries.' },
    },
    async run(context) {
      const subject = stringFlag(context.flags, 'subject');
      const limit = integerFlag(context.flags, 'limit');
      const client = await context.connect();
      try {
        const { entries } = await client.request(AuditList, {
          ...(subject === undefined ? {} : { subject }),
          ...(limit === undefined ? {} : { limit }),
        });
        context.print(entries, () =>
          entries.length === 0
            ? 'The audit log is empty.'
            : entries
                .map((entry) => {
                  const detail = Object.entries(entry.detail)
                    .map(([key, value]) => `${key}=${Array.isArray(value) ? value.join(',') : String(value)}`)
                    .join(' ');
                  return `${entry.at.slice(0, 19).replace('T', ' ')}  ${entry.action.padEnd(14)} ${entry.subject.padEnd(12)} ${entry.client} (${entry.requestId})${detail ? `  ${detail}` : ''}`;
                })
                .join('\n'),
        );
      } finally {
        client.close();
      }
    },
  },
];
