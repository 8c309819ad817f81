import * as z from 'zod';
import { DomainsList } from '../../protocol/domains.js';
import { lazySchema } from '../../protocol/lazySchema.js';
import { DeployRollback, type ReleaseSummary, ReleasesGet, ReleasesList } from '../../protocol/releases.js';
import { type ProjectStatus, type ServiceStatus, ServicesControl, ServicesLogs, ServicesStatus } from '../../protocol/services.js';
import { blocks, bullets, fields } from '../format.js';
import { listAll } from '../paging.js';
import { defineTool, type ToolCall } from '../tool.js';
import { markdownCode, projectProperty } from './fields.js';
import { requireGrant } from './grants.js';

/** Lines per container the logs tool reads at most (an agent's context is small; the daemon allows far more). */
export const AGENT_LOG_TAIL = { default: 50, max: 200 } as const;

/** Characters of log text one answer carries at most; older lines go first. */
const AGENT_LOG_CHARS = 24_000;

const moduleProperty = { type: 'string', description: 'A module (its allocated name, e.g. "app") or a compose service (e.g. "backend"). Default: every service of the project.' } as const;

function describeContainer(service: ServiceStatus): string {
  const parts = [
    service.state,
    ...(service.health === 'none' ? [] : [service.health]),
    `${service.restarts} restarts`,
    ...(service.state === 'running' && service.startedAt ? [`up since ${service.startedAt}`] : []),
    ...(service.state !== 'running' && service.exitCode !== null ? [`exit ${service.exitCode}`] : []),
    `image ${service.digest ?? service.image}`,
    ...(service.url ? [`url ${service.url}`] : []),
  ];
  return `${service.service}${service.module && service.module !== service.service ? ` (module ${service.module})` : ''}: ${parts.join(', ')}`;
}

function describeProject(project: ProjectStatus): string {
  return blocks(
    fields([
      ['project', project.project],
      ['server', project.server],
      ['state', project.state],
      ['error', project.error],
    ]),
    project.services.length > 0 ? `services:\n${bullets(project.services.map(describeContainer))}` : undefined,
  );
}

/** `zavhoz_service_status`: per project, per container: state, health, restarts, uptime, image and URL. */
export const serviceStatusTool = defineTool({
  name: 'zavhoz_service_status',
  title: 'Service Status',
  description:
    'Status of deployed projects on their servers: per container its state (running, exited, restarting), health check, restarts, ' +
    'start time, image digest and URL. Give a project, or nothing for every project with an allocation. A server that does not answer ' +
    'is reported as unreachable. Read-only.',
  inputSchema: {
    type: 'object',
    properties: { project: projectProperty(true) },
    additionalProperties: false,
  },
  hints: { readOnlyHint: true, openWorldHint: true },
  mode: 'read-only',
  handleArguments: [],
  input: lazySchema(() => z.strictObject({ project: ServicesStatus.params.shape.project })),
  async run(input, call) {
    const projects = await listAll(call, ServicesStatus, input.project === undefined ? {} : { project: input.project }, (page) => page.projects);
    if (projects.length === 0) return 'No project has an allocation, so nothing is deployed. Deploy one with zavhoz_deploy.';
    // A project's domain is its public URL (HTTPS through the proxy on its server); a daemon without domains has none.
    const domains = await call.request(DomainsList, input.project === undefined ? {} : { project: input.project }).then(
      (answer) => answer.domains,
      () => [],
    );
    return projects
      .map((project) => {
        const urls = domains.filter((domain) => domain.project === project.project).map((domain) => `${domain.url} (module ${domain.module})`);
        return blocks(describeProject(project), urls.length > 0 ? `project url: ${urls.join(', ')}` : undefined);
      })
      .join('\n\n');
  },
});

const logsArguments = lazySchema(() =>
  z.strictObject({
    project: ServicesLogs.params.shape.project,
    module: ServicesLogs.params.shape.module,
    since: ServicesLogs.params.shape.since,
    tail: z.number().int().min(1).max(AGENT_LOG_TAIL.max).default(AGENT_LOG_TAIL.default),
  }),
);

/** `zavhoz_service_logs`: the last lines of a project's container logs, every vault value masked by the daemon. */
export const serviceLogsTool = defineTool({
  name: 'zavhoz_service_logs',
  title: 'Service Logs',
  description:
    `The last lines of a deployed project's container logs (default ${AGENT_LOG_TAIL.default}, at most ${AGENT_LOG_TAIL.max} per container), ` +
    'oldest first, each prefixed with its service. Every vault secret value is masked as [REDACTED] before it leaves Zavhoz. Read-only.',
  inputSchema: {
    type: 'object',
    properties: {
      project: projectProperty(true),
      module: moduleProperty,
      since: { type: 'string', description: 'Only lines newer than this: a duration like 10m, 2h, 1d, or an ISO time.' },
      tail: { type: 'integer', minimum: 1, maximum: AGENT_LOG_TAIL.max, description: `Lines per container. Default ${AGENT_LOG_TAIL.default}.` },
    },
    required: ['project'],
    additionalProperties: false,
  },
  hints: { readOnlyHint: true, openWorldHint: true },
  mode: 'read-only',
  handleArguments: [],
  input: logsArguments,
  async run(input, call) {
    const logs = await call.request(ServicesLogs, input);
    const lines = logs.lines.map((line) => `${line.service} | ${line.text}`);
    let start = lines.length;
    for (let size = 0; start > 0; start--) {
      size += (lines[start - 1]?.length ?? 0) + 1;
      if (size > AGENT_LOG_CHARS) break;
    }
    const shown = lines.slice(start);
    const cut = logs.truncated || shown.length < lines.length;
    return blocks(
      fields([
        ['project', logs.project],
        ['server', logs.server],
        ['services', logs.services.join(', ')],
        ['lines', `${shown.length}${cut ? ' (older lines left out: ask with a smaller tail or a since)' : ''}`],
      ]),
      shown.length > 0 ? shown.join('\n') : 'no log lines',
    );
  },
});

/** `zavhoz_restart_service`: restarts a project's containers (or one service's) with compose; waits behind a deploy. */
export const restartServiceTool = defineTool({
  name: 'zavhoz_restart_service',
  title: 'Restart Service',
  description:
    "Restart a deployed project's containers, or one module's or compose service's, on its server. Waits while a deploy of the " +
    'project runs. Answers with the services restarted and their status after it.',
  inputSchema: {
    type: 'object',
    properties: { project: projectProperty(true), module: moduleProperty },
    required: ['project'],
    additionalProperties: false,
  },
  hints: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  mode: 'operate',
  handleArguments: [],
  input: lazySchema(() => ServicesControl.params.pick({ project: true, module: true })),
  async authorize(input, call) {
    await requireGrant(call, input.project, 'restart', 'agent restarts', 'ask the human to restart it (zavhoz service restart, or Restart in the Services view)');
  },
  confirmation(input) {
    const what = input.module ? `service ${markdownCode(input.module)} of project **${input.project}**` : `every service of project **${input.project}**`;
    return Promise.resolve({ title: `Restart ${input.project}?`, message: `Restart ${what}. It does not answer for a moment.` });
  },
  async run(input, call) {
    const result = await call.request(ServicesControl, { ...input, action: 'restart' });
    return blocks(
      fields([
        ['restarted', result.services.join(', ')],
        ['waited for', result.waitedFor],
      ]),
      describeProject(result.status),
    );
  },
});

/** The release a rollback goes to: the one named, or the one before the current; undefined when there is none. */
async function rollbackTarget(input: { readonly project: string; readonly to?: string | undefined }, call: ToolCall): Promise<ReleaseSummary | undefined> {
  if (input.to !== undefined) return call.request(ReleasesGet, { id: input.to });
  const { releases } = await call.request(ReleasesList, { project: input.project, limit: 2 });
  return releases[1];
}

/** `zavhoz_rollback`: redeploys an earlier release exactly (commit, images by digest, secret versions), asking first. */
export const rollbackTool = defineTool({
  name: 'zavhoz_rollback',
  title: 'Roll Back Project',
  description:
    'Roll a deployed project back to an earlier release: its commit, its images by digest and its secret versions are redeployed ' +
    'exactly, on the same server and ports. Default: the release before the current one; give "to" (a release id like rel_7f3k9x2mab) ' +
    'for another. Answers at once with the run id; follow it with zavhoz_deploy_status.',
  inputSchema: {
    type: 'object',
    properties: {
      project: projectProperty(true),
      to: { type: 'string', description: 'Release id (rel_ and 10 characters) to go back to. Default: the release before the current one.' },
    },
    required: ['project'],
    additionalProperties: false,
  },
  hints: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true },
  mode: 'deploy',
  handleArguments: [],
  input: lazySchema(() => DeployRollback.params.pick({ project: true, to: true })),
  async authorize(input, call) {
    // Like a deploy: an MCP client cannot ask the human, so the human allows agent rollbacks of the project beforehand.
    await requireGrant(
      call,
      input.project,
      'rollback',
      'agent deploys (and rollbacks)',
      `ask the human to roll back (zavhoz rollback --project ${input.project}, or Roll Back in the Services view)`,
    );
  },
  async confirmation(input, call) {
    const release = await rollbackTarget(input, call);
    if (!release) return { title: `Roll back ${input.project}?`, message: `Roll back project **${input.project}** to its previous release (Zavhoz found none: the daemon will say why).` };
    return {
      title: `Roll back ${input.project}?`,
      message:
        `Roll project **${input.project}** on server ${markdownCode(release.server)} back to release **#${release.number}** ` +
        `(${markdownCode(release.commit.slice(0, 12))} of ${markdownCode(release.ref)}, deployed ${release.createdAt}). ` +
        'Its commit, images and secret versions are redeployed; the running version is replaced.',
    };
  },
  async run(input, call) {
    const run = await call.request(DeployRollback, input);
    return blocks(
      fields([
        ['run', run.id],
        ['project', run.project],
        ['kind', run.kind],
        ['status', run.status],
        ['rollback to', run.rollbackTo],
        ['server', run.allocation?.server],
      ]),
      `next: call zavhoz_deploy_status with run ${run.id} until the status is succeeded, failed or cancelled.`,
    );
  },
});
