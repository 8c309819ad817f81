import * as z from 'zod';
import { AGENT_EXEC_TAIL, AGENT_EXEC_TIMEOUT, AgentCommandApprove, AgentCommandsList, AgentExec, agentCommandLine, commandLineText } from '../../protocol/agent.js';
import { lazySchema } from '../../protocol/lazySchema.js';
import { SecretsList } from '../../protocol/secrets.js';
import { blocks, fields } from '../format.js';
import { listAll } from '../paging.js';
import { defineTool, type ToolCall, ToolRefusal } from '../tool.js';
import { folderArgument, folderOf, folderProperty, projectProperty } from './fields.js';

const execArguments = lazySchema(() =>
  z.strictObject({
    project: AgentExec.params.shape.project,
    command: agentCommandLine,
    folder: folderArgument.optional(),
    timeoutSeconds: z.number().int().min(AGENT_EXEC_TIMEOUT.min).max(AGENT_EXEC_TIMEOUT.max).default(AGENT_EXEC_TIMEOUT.default),
  }),
);

type ExecInput = z.infer<typeof execArguments>;

/** The names of the project's own secrets (what the command gets), for the human's confirmation. */
async function secretNames(project: string, call: ToolCall): Promise<string[]> {
  const secrets = await listAll(call, SecretsList, { project }, (page) => page.secrets);
  return secrets.filter((secret) => secret.project === project).map((secret) => secret.name);
}

function same(first: readonly string[], second: readonly string[]): boolean {
  return first.length === second.length && first.every((part, index) => part === second[index]);
}

/**
 * Lets the call through when a human approved this command line for the project before, else asks one now where the
 * front end can (VS Code modal, MCP elicitation) and remembers the answer; otherwise refuses with the command that
 * approves it. Nothing runs before that.
 */
async function requireApproval(input: ExecInput, call: ToolCall): Promise<void> {
  const { commands } = await call.request(AgentCommandsList, { project: input.project });
  if (commands.some((approved) => same(approved.command, input.command))) return;
  const approve = `zavhoz agent commands approve --project ${input.project} -- ${commandLineText(input.command)}`;
  const confirmer = call.environment.confirmCommand;
  const answer = confirmer
    ? await confirmer.ask({ project: input.project, command: input.command, folder: folderOf(input, call), secrets: await secretNames(input.project, call) }, call.signal)
    : 'unavailable';
  if (answer === 'approved' && confirmer) {
    await call.request(AgentCommandApprove, { project: input.project, command: [...input.command], confirmedThrough: confirmer.through });
    return;
  }
  if (answer === 'declined') {
    throw new ToolRefusal(`Refused: the human declined to let agents run \`${commandLineText(input.command)}\` with the secrets of ${input.project}; it did not run. Do not try to get the values another way.`);
  }
  throw new ToolRefusal(
    `Refused: \`${commandLineText(input.command)}\` is a new command line for ${input.project}, and a human must approve each one before it runs with ` +
      `the project's secrets (nobody can be asked here); it did not run. Ask the human to approve it with: ${approve}`,
  );
}

/** `zavhoz_exec_with_secrets`: runs an approved command line with a project's secrets in its environment; answers its exit and masked output. */
export const execWithSecretsTool = defineTool({
  name: 'zavhoz_exec_with_secrets',
  title: 'Run Command with Secrets',
  description:
    "Run a command (program and arguments as a list, no shell) in the project folder with the project's vault secrets in its environment, " +
    'each under its own name (e.g. DATABASE_URL), for migrations, API calls or tests that need a credential. The values never reach you: ' +
    `you get the exit code and the last ${AGENT_EXEC_TAIL.lines} lines of output, with every secret masked. Each new command line needs the ` +
    "human's approval once per project; a refusal says how they give it.",
  inputSchema: {
    type: 'object',
    properties: {
      project: projectProperty(false),
      command: { type: 'array', items: { type: 'string' }, description: 'The program and its arguments, e.g. ["npm", "run", "migrate"]. No shell: use a list, refer to secrets by variable name.' },
      folder: folderProperty,
      timeoutSeconds: {
        type: 'integer',
        minimum: AGENT_EXEC_TIMEOUT.min,
        maximum: AGENT_EXEC_TIMEOUT.max,
        description: `Seconds before the command is stopped. Default ${AGENT_EXEC_TIMEOUT.default}.`,
      },
    },
    required: ['project', 'command'],
    additionalProperties: false,
  },
  hints: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true },
  mode: 'operate',
  handleArguments: [],
  input: execArguments,
  authorize: requireApproval,
  async run(input, call) {
    const result = await call.request(AgentExec, {
      project: input.project,
      command: [...input.command],
      folder: folderOf(input, call),
      timeoutSeconds: input.timeoutSeconds,
    });
    const status = result.startError
      ? `did not start: ${result.startError}`
      : result.timedOut
        ? `stopped after ${input.timeoutSeconds} s (timeout)`
        : result.exitCode === null
          ? `ended by signal ${result.signal ?? '?'}`
          : `exit ${result.exitCode}`;
    return blocks(
      fields([
        ['command', commandLineText(input.command)],
        ['project', input.project],
        ['status', status],
        ['secrets given', result.secrets.length > 0 ? result.secrets.join(', ') : '(the project has no secrets of its own)'],
        ['duration', `${result.durationMs} ms`],
        ['output', result.omittedLines > 0 ? `last lines (${result.omittedLines} earlier lines left out), secrets masked` : 'secrets masked'],
      ]),
      result.output === '' ? '(no output)' : result.output,
    );
  },
});
