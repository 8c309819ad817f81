import path from 'node:path';
import { type LocalStateCopied, type TeamJoinResult, type TeamStatusView, TeamJoin, TeamLeave, TeamStatus } from '../../protocol/team.js';
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

/** What `team join` prints: the join, what was copied or left behind, what other members cannot use, the status. */
function describeJoin(status: TeamJoinResult, where: { host: string; port: number; database: string }): string {
  const lines = [
    `Joined: the team database at ${where.host}:${where.port}/${where.database} answered and its schema is current.`,
    status.restartNeeded
      ? `The daemon keeps its embedded store until it restarts: run zavhoz daemon stop (the next command starts it on the team store).${status.copied ? ' Stop it now: what you change before then (servers, deploys, secrets) stays on this machine and is not in the copy.' : ''}`
      : 'The daemon already runs on this team store.',
  ];
  if (status.copied) lines.push(...describeCopy(status.copied));
  else if (status.notCopied) {
    lines.push(
      `Not copied to the team store: ${status.notCopied.servers} server(s), ${status.notCopied.allocations} allocation(s), ${status.notCopied.runs} run(s) and ${status.notCopied.secrets} secret(s) of this machine's embedded store. They stay here, unseen by the team, and are back after zavhoz team leave; add the servers the team shares on the team store (zavhoz server add) once the daemon switched, or join an empty team store with --copy-local.`,
    );
  } else lines.push('Nothing of the embedded store is copied: servers, allocations and runs made alone stay here, not in the team store.');
  const password = status.passwordSecretCopy;
  if (password?.outcome === 'copied') lines.push(`The vault record of the password secret ${status.joined?.passwordSecret ?? ''} is in the team store too (its value stays in your keychain), so rotating it keeps working after the switch.`);
  else if (password?.message) lines.push(password.message);
  lines.push(describe(status));
  return lines.join('\n');
}

/** The lines about a `--copy-local` copy: counts, the secrets only this member can read, what stays here. */
function describeCopy(copied: LocalStateCopied): string[] {
  const lines = [
    `Copied to the team store: ${copied.servers} server(s), ${copied.allocations} allocation(s), ${copied.runs} run(s), ${copied.releases} release(s), ${copied.domains} domain(s), ${copied.settings} setting(s) and ${copied.secrets} secret record(s). Nothing was taken out of your embedded store: it is what the daemon opens again after zavhoz team leave.`,
  ];
  if (copied.personalSecretCount > 0) {
    lines.push(
      `Other members cannot use ${copied.personalSecretCount} of these secrets: only their records (handle, name, metadata) were copied, and their values stay in your OS keychain, so only your daemon can read them. A deploy, an SSH connection or a provider sync that needs one works from your daemon alone:`,
    );
    for (const secret of copied.personalSecrets) {
      const scope = secret.project === null ? '' : ` (project ${secret.project})`;
      lines.push(`  ${secret.handle}  ${secret.name}${scope}${secret.usedBy.length > 0 ? ` — ${secret.usedBy.join(', ')}` : ''}`);
    }
    if (copied.personalSecretCount > copied.personalSecrets.length) lines.push(`  … and ${copied.personalSecretCount - copied.personalSecrets.length} more (zavhoz secret list).`);
    lines.push(
      "To share a secret with the team, keep it in the team's Vault: run the daemon with ZAVHOZ_VAULT=hashicorp, connect it (zavhoz vault connect hashicorp …), store the value again with zavhoz secret set NAME … --team, and point what uses it at the new handle.",
    );
  }
  if (copied.vaultFolderDiffers) {
    lines.push(
      "Another member's daemon used the team store first, so its vault's folder id names your keychain entries after the switch: your daemon then makes a new fingerprint key (the copied secrets' fingerprints read as changed; their values are not affected), and a team Vault connection must be made again (zavhoz vault connect hashicorp …).",
    );
  }
  const kept = copied.keptHere;
  lines.push(
    `Kept on this machine only: ${kept.audit} audit entr${kept.audit === 1 ? 'y' : 'ies'}, ${kept.notifyEndpoints} notification endpoint(s), ${kept.agentGrants} agent grant(s), ${kept.agentCommands} approved agent command(s) and ${kept.approvals} approval request(s); run logs stay in this machine's data folder.`,
  );
  return lines;
}

/** `zavhoz team …`: share a PostgreSQL store with a team, see it, leave it. */
export const teamCommands: Command[] = [
  {
    path: ['team', 'join'],
    usage: 'zavhoz team join postgres://USER@HOST:PORT/DB [--password-secret HANDLE | --passfile PATH] [--member NAME] [--copy-local] [--json]',
    summary: "Join a team's PostgreSQL store: checks the connection, applies the migrations, and switches this daemon to it at its next start.",
    examples: [
      'zavhoz team join postgres://zavhoz@db.acme.dev:5432/zavhoz --password-secret sec_7f3k9x2m',
      'zavhoz team join postgres://zavhoz@10.0.0.5/zavhoz --passfile ~/.pgpass --member alice',
      'zavhoz team join postgres://zavhoz@db.acme.dev/zavhoz --password-secret sec_7f3k9x2m --copy-local   # the first member fills the empty team store',
    ],
    positionals: [1, 1],
    options: {
      'password-secret': { type: 'string', value: 'HANDLE', description: 'A vault secret holding the password (kept in your OS keychain for the daemon).' },
      passfile: { type: 'string', value: 'PATH', description: 'A PostgreSQL password file (host:port:db:user:password, mode 0600).' },
      member: { type: 'string', value: 'NAME', description: 'Your name in the audit log and in lock messages (default user@host).' },
      'copy-local': {
        type: 'boolean',
        description: "Copy this machine's servers, allocations, runs, releases, domains, settings and the vault records they use (never a value) into the team store, which must be empty.",
      },
    },
    async run(context) {
      const where = parseTeamUrl(context.positionals[0] ?? '');
      const passwordSecret = stringFlag(context.flags, 'password-secret');
      const passFileFlag = stringFlag(context.flags, 'passfile');
      if (passwordSecret !== undefined && passFileFlag !== undefined) throw new CliError('Give --password-secret or --passfile, not both.', 2);
      const passFile = passFileFlag === undefined ? undefined : path.resolve(passFileFlag);
      const member = stringFlag(context.flags, 'member');
      const copyLocal = context.flags['copy-local'] === true;
      const status = await withClient(context, (client) =>
        client.request(TeamJoin, {
          ...where,
          ...(passwordSecret === undefined ? {} : { passwordSecret }),
          ...(passFile === undefined ? {} : { passFile }),
          ...(member === undefined ? {} : { member }),
          ...(copyLocal ? { copyLocal } : {}),
        }),
      );
      context.print(status, () => describeJoin(status, where));
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
