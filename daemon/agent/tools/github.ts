import { DEPLOY_SECRET_NAMES, GithubPushSecrets } from '../../protocol/github.js';
import { lazySchema } from '../../protocol/lazySchema.js';
import { blocks, bullets, fields } from '../format.js';
import { defineTool } from '../tool.js';
import { markdownCode, placementOf, projectProperty, repositoryOf } from './fields.js';

/** The push tool's arguments: `github/pushSecrets`' own rules, the repository optional (the workspace's remote). */
const pushArguments = lazySchema(() =>
  GithubPushSecrets.params.pick({ project: true, environment: true }).extend({ repository: GithubPushSecrets.params.shape.repo.optional() }),
);

/** `zavhoz_push_ci_secrets`: writes a project's deploy secrets to a repository's GitHub Actions secrets, sealed. */
export const pushCiSecretsTool = defineTool({
  name: 'zavhoz_push_ci_secrets',
  title: 'Push CI Deploy Secrets to GitHub',
  description:
    `Write the deploy secrets of an allocated project (${DEPLOY_SECRET_NAMES.join(', ')}) to a GitHub repository's Actions secrets, ` +
    'sealed by the daemon for GitHub; existing secrets of those names are overwritten. Answers with the names pushed and where each came from (a handle or computed). No value is shown.',
  inputSchema: {
    type: 'object',
    properties: {
      project: projectProperty(false),
      repository: { type: 'string', description: 'GitHub repository as owner/name. Default: the workspace\'s GitHub remote.' },
      environment: { type: 'string', description: 'A deployment environment of the repository (e.g. production) instead of repository secrets.' },
    },
    required: ['project'],
    additionalProperties: false,
  },
  hints: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: true },
  mode: 'deploy',
  handleArguments: [],
  input: pushArguments,
  async confirmation(input, call) {
    const placement = await placementOf(input.project, call);
    const repository = input.repository ?? call.environment.defaults.repository ?? '(no repository)';
    const target = input.environment === undefined ? '' : ` (environment ${markdownCode(input.environment)})`;
    const addresses = await call.addresses();
    const where = placement
      ? `server ${markdownCode(placement.server)}${addresses.shown ? ` (${markdownCode(placement.host)})` : ''}, port **${placement.port}**`
      : 'no server yet (the project is not allocated: the push will fail)';
    return {
      title: `Push CI secrets of ${input.project}?`,
      message:
        `Write the deploy secrets of project **${input.project}** on ${where} to the GitHub Actions secrets of ${markdownCode(repository)}${target}: ` +
        `${DEPLOY_SECRET_NAMES.join(', ')}. Secrets of those names there are overwritten; values are sealed for GitHub and never shown.`,
    };
  },
  async run(input, call) {
    const result = await call.request(GithubPushSecrets, {
      repo: repositoryOf(input, call),
      project: input.project,
      ...(input.environment === undefined ? {} : { environment: input.environment }),
    });
    return blocks(
      fields([
        ['repository', result.repo],
        ['environment', result.environment],
        ['project', input.project],
        ['status', `pushed ${result.pushed.length} secret(s)`],
      ]),
      `secrets:\n${bullets(result.pushed.map((secret) => `${secret.name}: ${secret.status}, from ${secret.source}`))}`,
    );
  },
});
