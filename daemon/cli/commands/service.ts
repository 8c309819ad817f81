import { CancellationTokenSource } from 'vscode-jsonrpc/node';
import { isCancelled, newClientRequestId } from '../../client/client.js';
import {
  type ProjectStatus,
  SERVICE_ACTIONS,
  SERVICE_LOG_TAIL,
  type ServiceAction,
  type ServiceLogLine,
  ServicesControl,
  ServicesLogLines,
  ServicesLogs,
  ServicesProgress,
  ServicesStatus,
} from '../../protocol/services.js';
import { CliError, type Command, type CommandContext, integerFlag, stringFlag, withClient } from '../command.js';
import { PagedTable } from '../listing.js';

function requiredProject(context: CommandContext): string {
  const project = stringFlag(context.flags, 'project');
  if (!project) throw new CliError('--project is required.', 2);
  return project;
}

/** `5m`, `3h 2m`, `2d 4h`: how long ago an ISO time was. */
function since(iso: string | null, now = Date.now()): string {
  if (!iso) return '-';
  const seconds = Math.max(0, Math.floor((now - Date.parse(iso)) / 1000));
  if (Number.isNaN(seconds)) return '-';
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return `${hours}h ${minutes % 60}m`;
  return `${Math.floor(hours / 24)}d ${hours % 24}h`;
}

/** The status table: one row per container, a project's problem on a row of its own. */
export function formatStatus(projects: readonly ProjectStatus[], now = Date.now()): string {
  if (projects.length === 0) return 'No deployed projects (no allocations). Deploy one with `zavhoz deploy`.';
  const table = new PagedTable<readonly string[]>(['PROJECT', 'SERVICE', 'MODULE', 'STATE', 'HEALTH', 'RESTARTS', 'UPTIME', 'IMAGE', 'URL', 'SERVER', 'RELEASE'], (row) => row);
  const rows: string[][] = [];
  const problems: string[] = [];
  for (const project of projects) {
    // The release number and its commit's short SHA: what a rollback would be measured against.
    const release = project.release ? `${project.release.number} (${project.release.commit.slice(0, 7)})` : '-';
    if (project.services.length === 0) {
      rows.push([project.project, '-', '-', project.state, '-', '-', '-', '-', '-', project.server, release]);
      if (project.error) problems.push(`${project.project}: ${project.error}`);
      continue;
    }
    for (const service of project.services) {
      const state = service.state === 'exited' && service.exitCode !== null ? `exited (${service.exitCode})` : service.state;
      rows.push([
        project.project,
        service.service,
        service.module ?? '-',
        state,
        service.health,
        String(service.restarts),
        service.state === 'running' ? since(service.startedAt, now) : '-',
        service.image,
        service.url ?? '-',
        project.server,
        release,
      ]);
    }
  }
  return [table.lines(rows, true), ...problems].join('\n');
}

/** One log line as the terminal shows it: `service | time text`. */
function formatLine(line: ServiceLogLine): string {
  return `${line.service} | ${line.at ? `${line.at} ` : ''}${line.text}`;
}

const projectOption = { type: 'string', value: 'PROJECT' } as const;
const moduleOption = { type: 'string', value: 'MODULE', description: 'Only this module (its allocated name) or compose service.' } as const;

/** `zavhoz service restart|stop|start`. */
function controlCommand(action: ServiceAction): Command {
  const verbs: Record<ServiceAction, string> = { restart: 'Restart', stop: 'Stop', start: 'Start' };
  return {
    path: ['service', action],
    usage: `zavhoz service ${action} --project P [--module M] [--json]`,
    summary: `${verbs[action]} a deployed project's containers (or one module's) with compose; waits for a deploy of the project to end first.`,
    examples: [`zavhoz service ${action} --project shop`, `zavhoz service ${action} --project shop --module backend`],
    options: { project: { ...projectOption, description: `The project whose containers to ${action} (required).` }, module: moduleOption },
    async run(context) {
      const project = requiredProject(context);
      const module = stringFlag(context.flags, 'module');
      const result = await withClient(context, async (client) => {
        const requestId = newClientRequestId('cli');
        const source = new CancellationTokenSource();
        const onInterrupt = (): void => source.cancel();
        process.once('SIGINT', onInterrupt);
        client.onNotification(ServicesProgress, (progress) => {
          if (progress.requestId === requestId) process.stderr.write(`${progress.message}…\n`);
        });
        try {
          return await client.request(ServicesControl, { project, action, ...(module ? { module } : {}) }, { token: source.token, requestId });
        } catch (error) {
          if (isCancelled(error)) throw new CliError(`${verbs[action]} cancelled.`, 130);
          throw error;
        } finally {
          process.off('SIGINT', onInterrupt);
        }
      });
      context.print(result, () => `${verbs[action]}: ${result.project} (${result.services.join(', ')})\n${formatStatus([result.status])}`);
    },
  };
}

/** `zavhoz service status|logs|restart|stop|start`. */
export const serviceCommands: Command[] = [
  {
    path: ['service', 'status'],
    usage: 'zavhoz service status [--project P] [--json]',
    summary: "Show deployed projects' containers: state, health, restarts, uptime, image and URL (one SSH round trip per server).",
    examples: ['zavhoz service status', 'zavhoz service status --project shop --json'],
    options: { project: { ...projectOption, description: 'Only this project.' } },
    async run(context) {
      const project = stringFlag(context.flags, 'project');
      const projects = await withClient(context, (client) => client.listAll(ServicesStatus, project ? { project } : {}, (page) => page.projects));
      // An unreachable server is a row of the answer, not a failure of the command.
      context.print(projects, () => formatStatus(projects));
    },
  },
  {
    path: ['service', 'logs'],
    usage: `zavhoz service logs --project P [--module M] [--since 10m] [--tail N] [--follow] [--json]`,
    summary: "Print a deployed project's container logs, every vault value masked; --follow keeps printing until Ctrl-C.",
    examples: ['zavhoz service logs --project shop --tail 50', 'zavhoz service logs --project shop --module backend --since 10m --follow'],
    options: {
      project: { ...projectOption, description: 'The project whose logs to read (required).' },
      module: moduleOption,
      since: { type: 'string', value: 'WHEN', description: 'Only lines since then: 30s, 10m, 2h, 1d, or an ISO time.' },
      tail: { type: 'string', value: 'N', description: `The last N lines of each container (default ${SERVICE_LOG_TAIL.default}, at most ${SERVICE_LOG_TAIL.max}).` },
      follow: { type: 'boolean', description: 'Keep printing new lines until Ctrl-C (or until the containers stop); with --json, one JSON line each.' },
    },
    async run(context) {
      const project = requiredProject(context);
      const module = stringFlag(context.flags, 'module');
      const sinceFlag = stringFlag(context.flags, 'since');
      const tail = integerFlag(context.flags, 'tail');
      const follow = context.flags.follow === true;
      const params = { project, follow, ...(module ? { module } : {}), ...(sinceFlag ? { since: sinceFlag } : {}), ...(tail === undefined ? {} : { tail }) };
      return withClient(context, async (client) => {
        if (!follow) {
          const logs = await client.request(ServicesLogs, params);
          context.print(logs, () => [...(logs.truncated ? ['(older lines left out: use --tail or --since)'] : []), ...logs.lines.map(formatLine)].join('\n'));
          return 0;
        }
        // Lines come as notifications while the request stays open; Ctrl-C cancels it, which stops the remote reader.
        const requestId = newClientRequestId('cli');
        const source = new CancellationTokenSource();
        const onInterrupt = (): void => source.cancel();
        process.once('SIGINT', onInterrupt);
        client.onNotification(ServicesLogLines, (notification) => {
          if (notification.requestId !== requestId) return;
          for (const line of notification.lines) process.stdout.write(`${context.json ? JSON.stringify(line) : formatLine(line)}\n`);
        });
        try {
          await client.request(ServicesLogs, params, { token: source.token, requestId });
          return 0;
        } catch (error) {
          if (isCancelled(error)) return 0;
          throw error;
        } finally {
          process.off('SIGINT', onInterrupt);
        }
      });
    },
  },
  ...SERVICE_ACTIONS.map(controlCommand),
];
