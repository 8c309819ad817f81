import * as z from 'zod';
import { DEFAULT_REF, DeployStart, type RunDetail, RUN_TIMEOUT, RunsGet, RunsList, RunsLog } from '../../protocol/runs.js';
import { lazySchema } from '../../protocol/lazySchema.js';
import { blocks, bullets, fields, projectUrl } from '../format.js';
import { type AddressView, defineTool } from '../tool.js';
import { requireGrant } from './grants.js';
import { bindingsProperty, folderArgument, folderOf, folderProperty, markdownCode, placementOf, projectProperty, repositoryOf } from './fields.js';

/**
 * The deploy tool's arguments: the protocol's own rules and defaults (ref, bindings, timeout), with the folder and
 * the repository optional because the front end knows the workspace's.
 */
const deployArguments = lazySchema(() =>
  DeployStart.params
    .pick({ project: true, ref: true, bindings: true, repoUrl: true, gitToken: true, registryToken: true, registryUser: true, timeoutSeconds: true })
    .extend({ repository: DeployStart.params.shape.repository.optional(), folder: folderArgument.optional() }),
);

/** The status tool's arguments: a run id or a project, as `runs/get` and `runs/list` take them. */
const statusArguments = lazySchema(() => z.strictObject({ run: RunsGet.params.shape.id.optional(), project: RunsList.params.shape.project }));

/** Log lines a failed run's status shows, so the model can say why without reading the whole log. */
const FAILED_LOG_TAIL = 12;

function describeRun(run: RunDetail, addresses: AddressView): string {
  const target = run.allocation;
  // The URL is built on the address Zavhoz reaches the server at; hidden, the agent gets the server and port.
  // A domain is public: it is the URL whatever the agent may see of addresses.
  const domainUrls = Object.entries(target?.domainUrls ?? {}).map(([module, url]) => `${url} (module ${module})`);
  const url =
    target &&
    (domainUrls.length > 0
      ? domainUrls.join(', ')
      : addresses.shown
        ? projectUrl(target.host, target.port)
        : `port ${target.port} of server ${target.server} (server addresses are hidden from agents)`);
  return blocks(
    fields([
      ['run', run.id],
      ['project', run.project],
      ['status', `${run.status}${run.exitCode === null ? '' : ` (exit ${run.exitCode})`}`],
      ['repository', `${run.repository}@${run.ref}`],
      ['server', target?.server],
      ['host', addresses.shown ? target?.host : undefined],
      ['port', target?.port],
      ['url', url],
      ['module ports', target ? Object.entries(target.modulePorts).map(([module, port]) => `${module} ${port}`).join(', ') : undefined],
      ['requested by', `${run.client} (${run.requestId})`],
      ['created', run.createdAt],
      ['finished', run.finishedAt],
      ['error', run.error],
    ]),
    `steps:\n${bullets(run.steps.map((step) => `${step.name}: ${step.status}${step.detail ? ` (${step.detail})` : ''}`))}`,
  );
}

/** `zavhoz_deploy`: starts a deploy of a project folder to its allocated server and answers at once with the run. */
export const deployTool = defineTool({
  name: 'zavhoz_deploy',
  title: 'Deploy Project',
  description:
    'Deploy a project folder to its allocated managed server (allocating one if needed): clone the repository there, write its .env ' +
    'from vault handles, start it with docker compose, check its health. Answers at once with the run id; follow it with ' +
    'zavhoz_deploy_status. Refused while a user variable is missing (see zavhoz_env_plan). Secret arguments are handles only.',
  inputSchema: {
    type: 'object',
    properties: {
      project: projectProperty(true),
      repository: { type: 'string', description: 'GitHub repository as owner/name. Default: the workspace\'s GitHub remote.' },
      ref: { type: 'string', description: `Branch, tag or commit to deploy. Default: ${DEFAULT_REF}.` },
      folder: folderProperty,
      bindings: bindingsProperty,
      repoUrl: { type: 'string', description: 'Clone from this URL or absolute server path instead of GitHub (no credentials in it).' },
      gitToken: { type: 'string', description: 'Vault handle (sec_…) of a token for cloning a private repository over https.' },
      registryToken: { type: 'string', description: 'Vault handle (sec_…) of a container registry token; the server logs in before pulling.' },
      registryUser: { type: 'string', description: 'Registry user name. Default: the repository owner.' },
      timeoutSeconds: { type: 'integer', minimum: RUN_TIMEOUT.min, maximum: RUN_TIMEOUT.max, description: `Run timeout. Default ${RUN_TIMEOUT.default}.` },
    },
    required: ['project'],
    additionalProperties: false,
  },
  hints: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true },
  mode: 'deploy',
  handleArguments: ['gitToken', 'registryToken'],
  bindingArguments: ['bindings'],
  input: deployArguments,
  async authorize(input, call) {
    await requireGrant(call, input.project, 'deploy', 'agent deploys', 'ask the human to deploy (zavhoz deploy, or Deploy Project in VS Code)');
  },
  async confirmation(input, call) {
    const placement = await placementOf(input.project, call);
    const repository = input.repository ?? call.environment.defaults.repository ?? '(no repository)';
    const addresses = await call.addresses();
    const where = placement
      ? `to server ${markdownCode(placement.server)}${addresses.shown ? ` (${markdownCode(placement.host)})` : ''}, port **${placement.port}**`
      : 'to a managed server Zavhoz picks now (the project has no allocation yet)';
    return {
      title: `Deploy ${input.project}?`,
      message: `Deploy project **${input.project}** from ${markdownCode(`${repository}@${input.ref}`)} ${where}. The running version is replaced.`,
    };
  },
  async run(input, call) {
    const { folder: _folder, repository: _repository, ...chosen } = input;
    const gitToken = input.gitToken ?? call.environment.defaults.gitToken;
    const repoUrl = input.repoUrl ?? call.environment.defaults.repoUrl;
    const run = await call.request(DeployStart, {
      ...chosen,
      folder: folderOf(input, call),
      repository: repositoryOf(input, call),
      ...(repoUrl === undefined ? {} : { repoUrl }),
      ...(gitToken === undefined ? {} : { gitToken }),
    });
    return blocks(
      describeRun(run, await call.addresses()),
      `next: call zavhoz_deploy_status with run ${run.id} until the status is succeeded, failed or cancelled.`,
    );
  },
});

/** `zavhoz_deploy_status`: a run's status, target, URL and steps; a failed run adds the end of its (redacted) log. */
export const deployStatusTool = defineTool({
  name: 'zavhoz_deploy_status',
  title: 'Deploy Status',
  description:
    'Status of a deploy run: queued, running, succeeded, failed, cancelled or interrupted, with its server, port, URL (if the human lets agents see addresses) and steps. ' +
    'Give a run id, or a project for its latest run, or nothing for the latest runs. A failed run includes the end of its log. Read-only.',
  inputSchema: {
    type: 'object',
    properties: {
      run: { type: 'string', description: 'Run id like run_7f3k9x2mab (from zavhoz_deploy).' },
      project: { type: 'string', description: 'Project name: its latest run.' },
    },
    additionalProperties: false,
  },
  hints: { readOnlyHint: true, openWorldHint: false },
  mode: 'read-only',
  handleArguments: [],
  input: statusArguments,
  async run(input, call) {
    let id = input.run;
    if (id === undefined) {
      const { runs } = await call.request(RunsList, { ...(input.project === undefined ? {} : { project: input.project }), limit: 5 });
      if (input.project === undefined) {
        return `latest runs:\n${bullets(runs.map((run) => `${run.id}: ${run.project} ${run.status}${run.allocation ? ` on ${run.allocation.server} port ${run.allocation.port}` : ''} (${run.createdAt})`))}`;
      }
      id = runs[0]?.id;
      if (id === undefined) return `No deploy runs of ${input.project} yet.`;
    }
    const run = await call.request(RunsGet, { id });
    const addresses = await call.addresses();
    if (run.status !== 'failed' && run.status !== 'interrupted') return describeRun(run, addresses);
    // Only the tail: a long log is read in pages, and the model needs its last lines.
    const { total } = await call.request(RunsLog, { id, limit: 1 });
    const { lines } = await call.request(RunsLog, { id, from: Math.max(0, total - FAILED_LOG_TAIL), limit: FAILED_LOG_TAIL });
    return blocks(describeRun(run, addresses), `last log lines:\n${lines.join('\n')}`);
  },
});
