import {
  AGENT_COMMAND_LIMITS,
  AGENT_GRANT_ACTIONS,
  AGENT_GRANT_ID_PATTERN,
  AGENT_GRANT_TTL,
  type AgentGrant,
  type AgentGrantAction,
  AgentCommandApprove,
  AgentCommandRevoke,
  AgentCommandsList,
  AgentGrantCreate,
  AgentGrantRevoke,
  AgentGrantsList,
  type ApprovedCommand,
  commandLineText,
} from '../../protocol/agent.js';
import { type Command, CliError, stringFlag, withClient } from '../command.js';
import { requiredFlag } from './deploy.js';

const UNITS: Readonly<Record<string, number>> = { s: 1, m: 60, h: 3600, d: 86_400 };

/** `90s`, `30m`, `2h`, `7d` → seconds; a usage error for anything else or out of bounds. */
export function parseTtl(text: string): number {
  const match = /^(\d{1,7})([smhd])$/.exec(text.trim());
  const seconds = match ? Number(match[1]) * (UNITS[match[2] ?? ''] ?? 0) : Number.NaN;
  if (!Number.isInteger(seconds) || seconds < AGENT_GRANT_TTL.min || seconds > AGENT_GRANT_TTL.max) {
    throw new CliError(`--ttl takes a duration like 30m, 2h or 7d (at most ${AGENT_GRANT_TTL.max / 86_400}d).`, 2);
  }
  return seconds;
}

function parseActions(text: string): AgentGrantAction[] {
  const words = text.split(',').map((word) => word.trim()).filter((word) => word !== '');
  const unknown = words.filter((word) => !(AGENT_GRANT_ACTIONS as readonly string[]).includes(word));
  if (words.length === 0 || unknown.length > 0) throw new CliError(`--allow takes a list of ${AGENT_GRANT_ACTIONS.join(', ')} (comma separated).`, 2);
  return [...new Set(words)] as AgentGrantAction[];
}

function formatGrant(grant: AgentGrant): string {
  const until = grant.expiresAt === null ? 'no expiry (agentDeployProjects setting)' : `${grant.status === 'expired' ? 'expired' : 'until'} ${grant.expiresAt}`;
  return `${grant.id.padEnd(16)} ${grant.project.padEnd(20)} ${grant.allow.join(',').padEnd(22)} ${grant.status.padEnd(8)} ${until}`;
}


function formatCommand(command: ApprovedCommand): string {
  return `${command.id}  ${command.project.padEnd(20)} ${command.approvedAt}  ${command.approvedBy.padEnd(22)} ${commandLineText(command.command)}`;
}

const projectOption = { type: 'string', value: 'P', description: 'The project.' } as const;

/** `zavhoz agent grant|grants|revoke` and `zavhoz agent commands [approve|revoke]`. */
export const agentCommands: Command[] = [
  {
    path: ['agent', 'grant'],
    usage: 'zavhoz agent grant --project P --allow deploy,rollback,restart --ttl 2h [--json]',
    summary:
      'Let agents deploy, roll back or restart a project over MCP for a limited time, without a human confirming each call (MCP clients cannot ask).',
    examples: ['zavhoz agent grant --project shop --allow deploy,rollback --ttl 2h'],
    options: {
      project: { ...projectOption, description: 'The project agents may act on (required).' },
      allow: { type: 'string', value: 'ACTIONS', description: `What agents may do, comma separated: ${AGENT_GRANT_ACTIONS.join(', ')} (required).` },
      ttl: { type: 'string', value: 'DURATION', description: 'How long the grant lasts: 30m, 2h, 7d (default 1h).' },
    },
    async run(context) {
      const project = requiredFlag(context, 'project');
      const allow = parseActions(requiredFlag(context, 'allow'));
      const ttlSeconds = parseTtl(stringFlag(context.flags, 'ttl') ?? '1h');
      const grant = await withClient(context, (client) => client.request(AgentGrantCreate, { project, allow, ttlSeconds }));
      context.print(grant, () => `Granted ${grant.id}: agents may ${grant.allow.join(', ')} ${grant.project} until ${grant.expiresAt ?? '?'}. End it sooner: zavhoz agent revoke ${grant.id}`);
    },
  },
  {
    path: ['agent', 'grants'],
    usage: 'zavhoz agent grants [--project P] [--all] [--json]',
    summary: 'List what agents may do without a human: active grants and the agentDeployProjects setting (with --all, expired and revoked grants too).',
    examples: ['zavhoz agent grants', 'zavhoz agent grants --project shop --all --json'],
    options: {
      project: { ...projectOption, description: 'Only this project.' },
      all: { type: 'boolean', description: 'Also expired and revoked grants.' },
    },
    async run(context) {
      const project = stringFlag(context.flags, 'project');
      const all = context.flags.all === true;
      const { grants } = await withClient(context, (client) => client.request(AgentGrantsList, { ...(project === undefined ? {} : { project }), all }));
      context.print(grants, () => (grants.length === 0 ? 'No agent grants. Make one: zavhoz agent grant --project P --allow deploy --ttl 2h' : grants.map(formatGrant).join('\n')));
    },
  },
  {
    path: ['agent', 'revoke'],
    usage: 'zavhoz agent revoke ID | --project P [--json]',
    summary: 'End a grant now, or every grant of a project (which also takes the project out of agentDeployProjects).',
    examples: ['zavhoz agent revoke grt_7f3k9x2mab', 'zavhoz agent revoke --project shop'],
    options: { project: { ...projectOption, description: 'End every grant of this project.' } },
    positionals: [0, 1],
    async run(context) {
      const id = context.positionals[0];
      const project = stringFlag(context.flags, 'project');
      if ((id === undefined) === (project === undefined)) throw new CliError('Give a grant id or --project P (one of them).', 2);
      if (id !== undefined && !AGENT_GRANT_ID_PATTERN.test(id)) throw new CliError(`"${id}" is not a grant id (grt_ and 10 characters); see zavhoz agent grants.`, 2);
      const { revoked } = await withClient(context, (client) => client.request(AgentGrantRevoke, id !== undefined ? { id } : { project: project ?? '' }));
      context.print({ revoked }, () => (revoked.length === 0 ? 'Nothing to revoke.' : `Revoked ${revoked.join(', ')}.`));
    },
  },
  {
    path: ['agent', 'commands'],
    usage: 'zavhoz agent commands [--project P] [--json]  |  approve --project P [--] COMMAND [ARGS…]  |  revoke ID',
    summary:
      "The command lines agents may run with a project's secrets (zavhoz_exec_with_secrets) without asking again: list them, approve one " +
      '(its output reaches agents masked), or revoke one so a human must confirm it again.',
    examples: [
      'zavhoz agent commands --project shop',
      'zavhoz agent commands approve --project shop npm run migrate',
      'zavhoz agent commands revoke cmd_7f3k9x2mab',
    ],
    options: { project: { ...projectOption, description: 'Only this project; with approve, the project whose secrets the command gets (required).' } },
    complete: ['approve', 'revoke'],
    positionals: [0, 1 + AGENT_COMMAND_LIMITS.arguments],
    async run(context) {
      const [verb, ...rest] = context.positionals;
      const project = stringFlag(context.flags, 'project');
      if (verb === undefined) {
        const { commands } = await withClient(context, (client) => client.request(AgentCommandsList, project === undefined ? {} : { project }));
        context.print(commands, () => (commands.length === 0 ? 'No approved agent commands.' : commands.map(formatCommand).join('\n')));
        return;
      }
      if (verb === 'approve') {
        if (project === undefined) throw new CliError('--project is required: the project whose secrets the command gets.', 2);
        if (rest.length === 0) throw new CliError('Give the command line after --: zavhoz agent commands approve --project P -- COMMAND [ARGS…]', 2);
        const approved = await withClient(context, (client) => client.request(AgentCommandApprove, { project, command: rest }));
        context.print(approved, () => `Approved ${approved.id} for ${project}: ${commandLineText(approved.command)}. Forget it: zavhoz agent commands revoke ${approved.id}`);
        return;
      }
      if (verb === 'revoke' && rest.length === 1) {
        const { revoked } = await withClient(context, (client) => client.request(AgentCommandRevoke, { id: rest[0] ?? '' }));
        context.print({ revoked }, () => `Revoked ${revoked}.`);
        return;
      }
      throw new CliError(`Usage: zavhoz agent commands [--project P] | approve --project P -- COMMAND [ARGS…] | revoke ID`, 2);
    },
  },
];
