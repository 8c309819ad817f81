import path from 'node:path';
import { type TeamStatusView, TeamJoin, TeamLeave, TeamStatus } from '../../protocol/team.js';
import { type Command, CliError, stringFlag, withClient } from '../command.js';
import { requestCommand } from '../listing.js';

/** Where the team database is, from `postgres://user@host:port/db`; a URL with a password in it is refused. */
export function parseTeamUrl(text: string): { host: string; port: number; database: string; user: string } {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new CliError(`"${text.replace(/:[^:@/]*@/, ':…@')}" is not a URL like postgres://user@host:5432/db.`, 2);
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') throw new CliError('The team database URL starts with postgres:// (postgres://user@host:5432/db).', 2);
  if (url.password !== '') {
    throw new CliError('Leave the password out of the URL: a command line is seen by other processes and kept in shell history. Give --password-secret HANDLE (a vault secret) or --passfile PATH instead.', 2);
  }
  const user = decodeURIComponent(url.username);
  const database = decodeURIComponent(url.pathname.replace(/^\//, ''));
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (user === '' || database === '' || host === '') throw new CliError('The URL needs a user, a host and a database: postgres://user@host:5432/db.', 2);
  const port = url.port === '' ? 5432 : Number(url.port);
  return { host, port, database, user };
}

function describe(status: TeamStatusView): string {
  const lines = [`store        ${status.engine === 'postgres' ? 'team (PostgreSQL)' : 'embedded (this machine only)'}`];
  const joined = status.joined;
  if (joined) {
    lines.push(`team         postgres://${joined.user}@${joined.host}:${joined.port}/${joined.database}`);
    lines.push(`member       ${joined.member}`);
    lines.push(`password     ${joined.password === 'secret' ? `vault secret ${joined.passwordSecret ?? ''} (a copy in your OS keychain)` : joined.password === 'passfile' ? 'password file' : 'none'}`);
  } else {
    lines.push('team         none (zavhoz team join postgres://user@host:5432/db to share state with a team)');
  }
  if (status.reachable !== null) lines.push(`reachable    ${status.reachable ? 'yes' : 'no'}`);
  if (status.schemaVersion !== null) lines.push(`schema       ${status.schemaVersion} (this Zavhoz knows up to ${status.latestSchema})`);
  if (status.members.length > 0) lines.push(`members      ${status.members.map((member) => `${member.member} (last seen ${member.lastSeen})`).join(', ')}`);
  if (status.message) lines.push(status.message);
  return lines.join('\n');
}

/** `zavhoz team …`: share a PostgreSQL store with a team, see it, leave it. */
export const teamCommands: Command[] = [
  {
    path: ['team', 'join'],
    usage: 'zavhoz team join postgres://USER@HOST:PORT/DB [--password-secret HANDLE | --passfile PATH] [--member NAME] [--json]',
    summary: "Join a team's PostgreSQL store: checks the connection, applies the migrations, and switches this daemon to it at its next start.",
    examples: [
      'zavhoz team join postgres://zavhoz@db.acme.dev:5432/zavhoz --password-secret sec_7f3k9x2m',
      'zavhoz team join postgres://zavhoz@10.0.0.5/zavhoz --passfile ~/.pgpass --member alice',
    ],
    positionals: [1, 1],
    options: {
      'password-secret': { type: 'string', value: 'HANDLE', description: 'A vault secret holding the password (kept in your OS keychain for the daemon).' },
      passfile: { type: 'string', value: 'PATH', description: 'A PostgreSQL password file (host:port:db:user:password, mode 0600).' },
      member: { type: 'string', value: 'NAME', description: 'Your name in the audit log and in lock messages (default user@host).' },
    },
    async run(context) {
      const where = parseTeamUrl(context.positionals[0] ?? '');
      const passwordSecret = stringFlag(context.flags, 'password-secret');
      const passFileFlag = stringFlag(context.flags, 'passfile');
      if (passwordSecret !== undefined && passFileFlag !== undefined) throw new CliError('Give --password-secret or --passfile, not both.', 2);
      const passFile = passFileFlag === undefined ? undefined : path.resolve(passFileFlag);
      const member = stringFlag(context.flags, 'member');
      const status = await withClient(context, (client) =>
        client.request(TeamJoin, {
          ...where,
          ...(passwordSecret === undefined ? {} : { passwordSecret }),
          ...(passFile === undefined ? {} : { passFile }),
          ...(member === undefined ? {} : { member }),
        }),
      );
      context.print(status, () =>
        [
          `Joined: the team database at ${where.host}:${where.port}/${where.database} answered and its schema is current.`,
          status.restartNeeded
            ? 'The daemon keeps its embedded store until it restarts: run zavhoz daemon stop (the next command starts it on the team store).'
            : 'The daemon already runs on this team store.',
          status.notCopied
            ? `Not copied to the team store: ${status.notCopied.servers} server(s), ${status.notCopied.allocations} allocation(s), ${status.notCopied.runs} run(s) and ${status.notCopied.secrets} secret(s) of this machine's embedded store. They stay here, unseen by the team, and are back after zavhoz team leave; add the servers the team shares on the team store (zavhoz server add) once the daemon switched.`
            : 'Nothing of the embedded store is copied: servers, allocations and runs made alone stay here, not in the team store.',
          describe(status),
        ].join('\n'),
      );
    },
  },
  requestCommand({
    path: ['team', 'status'],
    usage: 'zavhoz team status [--json]',
    summary: 'Show which store the daemon runs on, the team it joined, whether the team database answers, its schema and members.',
    examples: ['zavhoz team status'],
    request: TeamStatus,
    params: () => ({}),
    human: describe,
    exitCode: (status) => (status.reachable === false ? 1 : undefined),
  }),
  requestCommand({
    path: ['team', 'leave'],
    usage: 'zavhoz team leave [--json]',
    summary: "Leave the team: the daemon opens its embedded store again at its next start; the team's data stays in PostgreSQL.",
    examples: ['zavhoz team leave'],
    request: TeamLeave,
    params: () => ({}),
    human: (result) =>
      result.left
        ? [
            'Left the team. Everything the team shares (servers, allocations, runs, releases, audit, settings) stays in its PostgreSQL for the other members; the password copy was removed from your keychain.',
            result.engine === 'postgres'
              ? 'The daemon runs on the team store until it restarts: run zavhoz daemon stop (the next command starts it on the embedded store, as it was before you joined).'
              : 'The daemon runs on its embedded store.',
          ].join('\n')
        : 'This data folder had not joined a team; nothing changed.',
  }),
];
