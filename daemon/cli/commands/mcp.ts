import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import { AGENT_CLIENT_NAME, AGENT_TOOLS, runTool, toolsForAgent } from '../../agent/catalogue.js';
import { AgentDaemonLink } from '../../agent/link.js';
import { toolsFor } from '../../agent/modes.js';
import type { AgentEnvironment, AgentTool, CommandAsk, CommandConfirmer } from '../../agent/tool.js';
import { DaemonClient } from '../../client/client.js';
import { ZAVHOZ_VERSION } from '../../core/version.js';
import { commandLineText } from '../../protocol/agent.js';
import { SettingsDidChange } from '../../protocol/settings.js';
import { type Command, CliError, stringFlag } from '../command.js';

/** What the model is told about the server as a whole. */
const INSTRUCTIONS =
  'Zavhoz deploys the user\'s projects to their own servers. Secrets live in the OS keychain and are referred to by handles ' +
  '(sec_ and 8 characters): tools take and return handles, names, servers, ports and URLs, never values. When a value is ' +
  'missing, call zavhoz_request_secret and let the human store it; never ask for a value in chat.';

/** The daemon script shipped beside the CLI (`dist/daemon.cjs`), or the built one when running from source. */
function daemonScript(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const beside = path.join(here, 'daemon.cjs');
  return fs.existsSync(beside) ? beside : path.resolve(here, '../../../dist/daemon.cjs');
}

/** The tool list as MCP publishes it (default: the whole catalogue): tools that change things say so in their annotations. */
export function mcpToolList(tools: readonly AgentTool[] = AGENT_TOOLS): Tool[] {
  return tools.map((tool) => ({
    name: tool.name,
    title: tool.title,
    description: tool.description,
    inputSchema: {
      type: 'object' as const,
      properties: { ...tool.inputSchema.properties },
      ...(tool.inputSchema.required ? { required: [...tool.inputSchema.required] } : {}),
      additionalProperties: false,
    },
    annotations: { title: tool.title, ...tool.hints },
  }));
}

/** What the human reads in the MCP client before an agent may run a new command line with a project's secrets. */
export function elicitationMessage(ask: CommandAsk): string {
  return (
    `An agent asks to run \`${commandLineText(ask.command)}\` in ${ask.folder} with the secrets of project ${ask.project} in its environment ` +
    `(${ask.secrets.length > 0 ? ask.secrets.join(', ') : 'the project has none of its own yet'}). Its output reaches the agent with those values masked, ` +
    'but a command can transform a value on purpose, so approve only commands you trust. Accept to allow this exact command line for the project ' +
    `from now on (zavhoz agent commands revokes it); decline and it does not run.`
  );
}

/** Writes one line to stderr: stdout carries the MCP protocol and nothing else. */
function note(message: string): void {
  process.stderr.write(`zavhoz mcp: ${message}\n`);
}

/** `zavhoz mcp`: the agent tools over MCP on stdio, for agents outside VS Code. */
export const mcpCommands: Command[] = [
  {
    path: ['mcp'],
    usage: 'zavhoz mcp [--folder DIR] [--read-only]',
    summary:
      'Serve the Zavhoz agent tools over MCP (stdin/stdout) for AI agents outside VS Code. The setting agentMode decides which tools agents get; ' +
      'deploys need a grant for the project (zavhoz agent grant).',
    examples: ['zavhoz mcp --folder ~/projects/shop', 'zavhoz mcp --read-only'],
    options: {
      folder: { type: 'string', value: 'DIR', description: 'The default project folder for the tools (default: the current folder).' },
      'read-only': { type: 'boolean', description: 'Offer read tools only (status, lists, logs), whatever the agentMode setting allows.' },
    },
    async run(context) {
      if (context.json) throw new CliError('zavhoz mcp speaks MCP on stdout; --json does not apply.', 2);
      const folder = path.resolve(stringFlag(context.flags, 'folder') ?? process.cwd());
      const daemon = new AgentDaemonLink(() =>
        DaemonClient.connect({
          folder: context.folder,
          clientName: AGENT_CLIENT_NAME,
          clientVersion: ZAVHOZ_VERSION,
          autoStart: { daemonScript: daemonScript() },
        }),
      );
      const readOnly = context.flags['read-only'] === true;
      // Loaded here, not at the top: every other zavhoz command would pay for parsing the SDK. The low-level Server,
      // not McpServer: the tools' JSON schemas are declared once for MCP and VS Code alike, and the secret guard must
      // see raw arguments before any schema validation could echo them.
      // eslint-disable-next-line @typescript-eslint/no-deprecated -- the low-level Server on purpose, for the reasons above
      const { Server } = await import('@modelcontextprotocol/sdk/server/index.js');
      const { StdioServerTransport } = await import('@modelcontextprotocol/sdk/server/stdio.js');
      const { CallToolRequestSchema, ElicitResultSchema, ListToolsRequestSchema } = await import('@modelcontextprotocol/sdk/types.js');
      const server = new Server({ name: 'zavhoz', version: ZAVHOZ_VERSION }, { capabilities: { tools: { listChanged: true } }, instructions: INSTRUCTIONS });
      // The list follows the agentMode setting: clients that listen are told when the human changes it.
      daemon.onNotification(SettingsDidChange, (change) => {
        if (change.key === 'agentMode') void server.sendToolListChanged().catch(() => undefined);
      });
      // A new command line is approved by the human through the client's elicitation, where the client offers it. The
      // request goes out as is (not elicitInput), so clients that declared the older, empty elicitation capability work too.
      const confirmCommand: CommandConfirmer = {
        through: 'mcp-elicitation',
        async ask(ask, signal) {
          if (server.getClientCapabilities()?.elicitation === undefined) return 'unavailable';
          const answer = await server.request(
            { method: 'elicitation/create', params: { message: elicitationMessage(ask), requestedSchema: { type: 'object', properties: {} } } },
            ElicitResultSchema,
            { signal, timeout: 600_000 },
          );
          return answer.action === 'accept' ? 'approved' : 'declined';
        },
      };
      const environment: AgentEnvironment = {
        daemon,
        frontEnd: 'mcp',
        defaults: { folder },
        confirmCommand,
        ...(readOnly ? { modeLimit: 'read-only' as const } : {}),
      };
      // The mode is read at each listing (calls are checked against the mode of the moment either way). Without the
      // daemon, read tools only.
      server.setRequestHandler(ListToolsRequestSchema, async () => ({
        tools: mcpToolList(await toolsForAgent(environment).catch(() => toolsFor(AGENT_TOOLS, 'read-only'))),
      }));
      server.setRequestHandler(CallToolRequestSchema, async (request, extra) => {
        const outcome = await runTool(request.params.name, request.params.arguments ?? {}, environment, extra.signal);
        return { content: [{ type: 'text' as const, text: outcome.text }], isError: outcome.isError };
      });
      server.onerror = (error) => note(`protocol error: ${error.message}`);

      const closed = new Promise<void>((resolve) => {
        server.onclose = () => resolve();
      });
      const stop = (): void => void server.close();
      process.stdin.once('end', stop);
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
      await server.connect(new StdioServerTransport());
      const offered = readOnly ? toolsFor(AGENT_TOOLS, 'read-only').length : AGENT_TOOLS.length;
      note(`serving ${offered} tools${readOnly ? ' (read-only)' : ''}; project folder ${folder}; data folder ${context.folder}`);
      try {
        await closed;
      } finally {
        process.off('SIGTERM', stop);
        process.off('SIGINT', stop);
        daemon.close();
      }
    },
  },
];
