import path from 'node:path';
import {
  type GithubPushResult,
  GithubWorkflow,
  GithubPushSecrets,
  GithubSetSecret,
  GithubStatus,
  type GithubStatusResult,
} from '../../protocol/github.js';
import { CliError, type Command, type CommandContext, stringFlag, call } from '../command.js';

function required(context: CommandContext, name: string, usage: string): string {
  const value = stringFlag(context.flags, name);
  if (value === undefined || value === '') throw new CliError(`--${name} is required. Usage: ${usage}`, 2);
  return value;
}

function environmentParam(context: CommandContext): { environment?: string } {
  const environment = stringFlag(context.flags, 'env');
  return environment === undefined ? {} : { environment };
}

function columns(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]?.map((_, index) => Math.max(...rows.map((row) => (row[index] ?? '').length))) ?? [];
  return rows.map((row) => row.map((cell, index) => cell.padEnd(widths[index] ?? 0)).join('  ').trimEnd()).join('\n');
}

function formatPush(result: GithubPushResult): string {
  const where = result.environment === null ? result.repo : `${result.repo} (environment ${result.environment})`;
  const rows = result.pushed.map((secret) => [`  ${secret.name}`, secret.status, secret.source, secret.fingerprint]);
  return `Pushed ${result.pushed.length} secret(s) to ${where}, sealed for GitHub (request ${result.requestId}):\n${columns(rows)}`;
}

function formatStatus(result: GithubStatusResult): string {
  if (result.secrets.length === 0) return `${result.repo} has no Actions secrets, and Zavhoz has pushed none to it.`;
  const rows = [
    ['NAME', 'STATE', 'GITHUB UPDATED', 'ZAVHOZ PUSHED', 'SOURCE', 'FINGERPRINT'],
    ...result.secrets.map((secret) => [
      secret.name,
      secret.state,
      secret.github?.updatedAt ?? '-',
      secret.zavhoz?.pushedAt ?? '-',
      secret.zavhoz?.source ?? '-',
      secret.zavhoz?.fingerprint ?? '-',
    ]),
  ];
  const notes = result.secrets
    .filter((secret) => secret.state === 'missing' || secret.state === 'stale' || secret.reasons.some((reason) => reason.startsWith('value not checked')))
    .map((secret) => `  ${secret.name}: ${secret.reasons.join('; ')}`);
  const missing = result.secrets.filter((secret) => secret.state === 'missing').length;
  const stale = result.secrets.filter((secret) => secret.state === 'stale').length;
  const summary = result.drift
    ? `Drift: ${missing} missing, ${stale} stale. Push again with \`zavhoz github push-secrets\` or \`zavhoz github set-secret\`.`
    : 'No drift: everything Zavhoz pushed is on GitHub as pushed.';
  return [columns(rows), ...(notes.length > 0 ? ['', ...notes] : []), '', summary].join('\n');
}

const repoOption = {
  repo: { type: 'string', value: 'OWNER/NAME', description: 'The GitHub repository (required).' },
  env: { type: 'string', value: 'ENVIRONMENT', description: "A deployment environment's secrets instead of the repository's." },
} as const;

/** `zavhoz github set-secret|push-secrets|workflow|status`: sealed Actions secrets, the CI workflow, and drift. */
export const githubCommands: Command[] = [
  {
    path: ['github', 'set-secret'],
    usage: 'zavhoz github set-secret --repo OWNER/NAME NAME --from HANDLE [--env ENVIRONMENT] [--json]',
    summary: 'Seal a vault secret for a repository (or environment) and store it as an Actions secret.',
    examples: ['zavhoz github set-secret --repo acme/shop BOT_TOKEN --from sec_ab12cd34', 'zavhoz github set-secret --repo acme/shop DB_URL --from sec_ab12cd34 --env production'],
    options: { ...repoOption, from: { type: 'string', value: 'HANDLE', description: 'The vault secret whose value is sealed and sent (required).' } },
    positionals: [1, 1],
    async run(context) {
      const usage = this.usage;
      const repo = required(context, 'repo', usage);
      const handle = required(context, 'from', usage);
      const name = context.positionals[0] ?? '';
      const result = await call(context, GithubSetSecret, { repo, name, handle, ...environmentParam(context) });
      context.print(result, () => formatPush(result));
    },
  },
  {
    path: ['github', 'push-secrets'],
    usage: 'zavhoz github push-secrets --repo OWNER/NAME --project P [--env ENVIRONMENT] [--rotate-key] [--json]',
    summary:
      'Push a project\'s deploy secrets (DEPLOY_HOST, DEPLOY_USER, DEPLOY_SSH_KEY, …) so CI can redeploy it. The user and key are a deploy user ' +
      'Zavhoz creates on the server for the project, whose key can only redeploy it; the server\'s own key stays here.',
    examples: ['zavhoz github push-secrets --repo acme/shop --project shop', 'zavhoz github push-secrets --repo acme/shop --project shop --rotate-key'],
    options: {
      ...repoOption,
      project: { type: 'string', value: 'PROJECT', description: 'The project whose deploy secrets to push (required).' },
      'rotate-key': { type: 'boolean', description: 'Make a new CI deploy key: installed beside the old one, pushed, then the old one removed from the server.' },
    },
    async run(context) {
      const usage = this.usage;
      const repo = required(context, 'repo', usage);
      const project = required(context, 'project', usage);
      const rotate = context.flags['rotate-key'] === true ? { rotateKey: true } : {};
      const result = await call(context, GithubPushSecrets, { repo, project, ...environmentParam(context), ...rotate });
      context.print(result, () => formatPush(result));
    },
  },
  {
    path: ['github', 'workflow'],
    usage: 'zavhoz github workflow --project P [--folder DIR] [--force] [--json]',
    summary: 'Write .github/workflows/deploy.yml into the project folder: on every push to main, CI redeploys with the pushed deploy secrets.',
    examples: ['zavhoz github workflow --project shop', 'zavhoz github workflow --project shop --folder ../shop --force'],
    options: {
      project: { type: 'string', value: 'PROJECT', description: 'The project the workflow redeploys (required).' },
      folder: { type: 'string', value: 'DIR', description: 'The project folder (default: the current folder).' },
      force: { type: 'boolean', description: 'Replace an existing, different deploy.yml.' },
    },
    async run(context) {
      const project = required(context, 'project', this.usage);
      const folder = path.resolve(stringFlag(context.flags, 'folder') ?? '.');
      const result = await call(context, GithubWorkflow, { project, folder, force: context.flags.force === true });
      context.print(result, () =>
        result.status === 'unchanged'
          ? `${result.path} is already the workflow Zavhoz writes.`
          : `${result.status === 'written' ? 'Wrote' : 'Replaced'} ${result.path}. Push the secrets it uses with \`zavhoz github push-secrets --repo OWNER/NAME --project ${project}\`, then commit it.`,
      );
    },
  },
  {
    path: ['github', 'status'],
    usage: 'zavhoz github status --repo OWNER/NAME [--env ENVIRONMENT] [--json]',
    summary: 'List the repository\'s secrets beside what Zavhoz last pushed; flag missing and stale ones.',
    examples: ['zavhoz github status --repo acme/shop', 'zavhoz github status --repo acme/shop --env production --json'],
    options: repoOption,
    async run(context) {
      const repo = required(context, 'repo', this.usage);
      const result = await call(context, GithubStatus, { repo, ...environmentParam(context) });
      context.print(result, () => formatStatus(result));
    },
  },
];
