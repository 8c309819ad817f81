import { AWAITING_APPROVAL_EXIT_CODE } from '../awaitApproval.js';
import { DeployRollback, type ReleaseDetail, ReleasesGet, ReleasesList, type ReleaseSummary } from '../../protocol/releases.js';
import type { RequestParams } from '../../protocol/define.js';
import { type Command, integerFlag, stringFlag, withClient } from '../command.js';
import { listPages, printPages } from '../listing.js';
import { openOption, requiredFlag, startRun } from './deploy.js';

function formatReleases(releases: readonly ReleaseSummary[]): string {
  return releases
    .map((release) => {
      const how = release.kind === 'rollback' ? `rollback to ${release.rolledBackTo ?? '?'}` : `${release.repository}@${release.ref}`;
      const archived = release.archivedAt ? `  (archived ${release.archivedAt})` : '';
      return `${String(release.number).padStart(4)}  ${release.id}  ${release.createdAt}  ${release.server}  ${release.commit.slice(0, 12)}  ${release.runId}  ${how}${archived}`;
    })
    .join('\n');
}

function formatRelease(release: ReleaseDetail): string {
  const ports = Object.entries(release.allocation.modulePorts).map(([module, port]) => `${module}:${port}`).join(', ');
  return [
    `release      ${release.number} of ${release.project} (${release.id})${release.archivedAt ? `, archived ${release.archivedAt} by an undeploy` : ''}`,
    `made by      ${release.kind} run ${release.runId}${release.rolledBackTo ? ` (rollback to ${release.rolledBackTo})` : ''} at ${release.createdAt}`,
    `source       ${release.repository}@${release.ref} = commit ${release.commit}`,
    `server       ${release.server} ${release.allocation.host}, ports ${ports}`,
    'images',
    ...release.images.map((image) => `  ${image.service.padEnd(16)} ${image.image}\n  ${''.padEnd(16)} ${image.digest}`),
    'health',
    ...Object.keys(release.allocation.modulePorts).map((module) => `  ${module.padEnd(16)} ${release.healthPaths[module] ?? '/'}`),
    'secrets (pinned versions)',
    ...release.secrets.map((secret) => `  ${secret.handle} v${secret.version}${secret.fingerprint ? ` ${secret.fingerprint.slice(0, 12)}` : ''}`),
    'variables',
    ...release.plan.variables.map((variable) => `  ${variable.name} ${variable.kind} ${variable.handle ?? variable.rule ?? ''}`.trimEnd()),
  ].join('\n');
}

const projectOption = { type: 'string', value: 'PROJECT', description: 'The project name (required).' } as const;

/** `zavhoz release list|show` and `zavhoz rollback`. */
export const releaseCommands: Command[] = [
  {
    path: ['release', 'list'],
    usage: 'zavhoz release list --project P [--archived] [--limit N] [--json]',
    summary: "List a project's releases, newest (the current one) first.",
    examples: ['zavhoz release list --project shop', 'zavhoz release list --project shop --archived'],
    options: {
      project: projectOption,
      archived: { type: 'boolean', description: 'Include the releases an undeploy archived (kept for the record, not redeployable).' },
      limit: { type: 'string', value: 'N', description: 'Show at most N releases.' },
    },
    async run(context) {
      const project = requiredFlag(context, 'project');
      const archived = context.flags.archived === true;
      const pages = listPages(context, ReleasesList, { project, ...(archived ? { archived } : {}) }, (page) => page.releases, integerFlag(context.flags, 'limit'));
      await printPages(context, pages, {
        empty: `${project} has no release yet: every successful deploy records one. Deploy with: zavhoz deploy DIR --project ${project} --repo OWNER/NAME`,
        lines: (releases) => formatReleases(releases),
      });
    },
  },
  {
    path: ['release', 'show'],
    usage: 'zavhoz release show ID [--json]',
    summary: 'Show one release: commit, images by digest, ports, health paths, secret versions (handles only).',
    examples: ['zavhoz release show rel_ab12cd34ef'],
    positionals: [1, 1],
    async run(context) {
      const release = await withClient(context, (client) => client.request(ReleasesGet, { id: context.positionals[0] ?? '' }));
      context.print(release, () => formatRelease(release));
    },
  },
  {
    path: ['rollback'],
    usage: 'zavhoz rollback --project P [--to RELEASE] [--wait] [--yes] [--open] [--json]',
    summary: 'Redeploy a release exactly (its commit, images by digest, secret versions, ports): by default the one before the current release.',
    examples: ['zavhoz rollback --project shop --wait', 'zavhoz rollback --project shop --to rel_ab12cd34ef'],
    options: {
      project: projectOption,
      to: { type: 'string', value: 'RELEASE', description: 'The release id to redeploy (see zavhoz release list); default: the one before the current.' },
      wait: { type: 'boolean', description: 'Follow the log until the run ends and exit with its result (Ctrl-C cancels it).' },
      yes: { type: 'boolean', description: `You confirm it now: a protected project (setting protectedProjects) runs at once instead of waiting for approval (exit ${AWAITING_APPROVAL_EXIT_CODE}; --wait waits for it).` },
      open: openOption,
    },
    async run(context) {
      const to = stringFlag(context.flags, 'to');
      const params: RequestParams<typeof DeployRollback> = { project: requiredFlag(context, 'project'), ...(to === undefined ? {} : { to }), ...(context.flags.yes === true ? { confirmed: true } : {}) };
      return startRun(context, DeployRollback, params, 'Rollback');
    },
  },
];
