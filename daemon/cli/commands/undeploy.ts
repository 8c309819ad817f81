import readline from 'node:readline';
import { CancellationTokenSource } from 'vscode-jsonrpc/node';
import { isCancelled } from '../../client/client.js';
import { AllocationsList } from '../../protocol/allocations.js';
import { UndeployCancel, UndeployProgress, type UndeployResult, UndeployStart } from '../../protocol/undeploy.js';
import { type Command, type CommandContext, CliError, stringFlag } from '../command.js';

/** Asks a yes/no question on the terminal (stderr, so stdout stays the command's output); only "y" or "yes" is yes. */
async function confirmOnTerminal(question: string): Promise<boolean> {
  const lines = readline.createInterface({ input: process.stdin, output: process.stderr, terminal: true });
  try {
    const answer = await new Promise<string | undefined>((resolve) => {
      lines.once('close', () => resolve(undefined));
      lines.question(question, resolve);
    });
    return answer !== undefined && /^\s*y(es)?\s*$/i.test(answer);
  } finally {
    lines.close();
  }
}

function summary(result: UndeployResult): string {
  const { removed } = result;
  if (result.status !== 'succeeded') return `Undeploy of ${result.project} ${result.status}: ${result.error ?? ''}`;
  const lines = [
    `Undeployed ${result.project} from ${result.server}: ${removed.containers} container(s), ${removed.volumes.length} volume(s), ${removed.images.length} image(s) removed` +
      `${removed.folder ? `, /opt/services/${result.project} removed` : ''}${removed.firewallPorts.length > 0 ? `, port(s) ${removed.firewallPorts.join(', ')} closed` : ''}.`,
    `Released ${removed.modules.join(', ')}${removed.githubSecrets.length > 0 ? `; deleted CI secrets ${removed.githubSecrets.join(', ')}` : ''}.`,
  ];
  if (removed.keptVolumes.length > 0) lines.push(`Kept volume(s): ${removed.keptVolumes.join(', ')} (remove them with docker volume rm when no longer needed).`);
  for (const warning of result.warnings) lines.push(`warning: ${warning}`);
  return lines.join('\n');
}

async function what(context: CommandContext, project: string, keepData: boolean): Promise<string> {
  const client = await context.connect();
  try {
    const { allocations } = await client.request(AllocationsList, { project });
    const first = allocations[0];
    if (!first) throw new CliError(`Project ${project} is not deployed anywhere: it has no allocation. \`zavhoz allocation list\` shows what is.`, 1);
    const ports = allocations.map((allocation) => allocation.port).join(', ');
    return (
      `Undeploy ${project} from server ${first.server}? This removes its containers, networks, ` +
      `${keepData ? '(named volumes are kept) ' : 'volumes (its data) '}and unused images, /opt/services/${project}, ` +
      `the firewall rule(s) for port(s) ${ports}, its allocation and the CI secrets Zavhoz pushed for it. [y/N] `
    );
  } finally {
    client.close();
  }
}

/** `zavhoz undeploy`: take a project off its server. */
export const undeployCommands: Command[] = [
  {
    path: ['undeploy'],
    usage: 'zavhoz undeploy --project P [--keep-data] [--yes] [--json] | zavhoz undeploy --project P --cancel',
    summary: 'Take a project off its server: containers, volumes (unless --keep-data), images, folder, firewall rule, allocation, CI secrets.',
    examples: ['zavhoz undeploy --project shop', 'zavhoz undeploy --project shop --keep-data --yes'],
    options: {
      project: { type: 'string', value: 'P', description: 'The project to undeploy.' },
      'keep-data': { type: 'boolean', description: "Keep the project's named volumes (its data) on the server; everything else goes." },
      yes: { type: 'boolean', description: 'Do not ask for confirmation (needed when not on a terminal).' },
      cancel: { type: 'boolean', description: "Cancel the project's running undeploy (what was removed stays removed; the allocation stays)." },
    },
    async run(context) {
      const project = stringFlag(context.flags, 'project');
      if (!project) throw new CliError('--project is required.', 2);
      if (context.flags.cancel === true) {
        const client = await context.connect();
        try {
          const result = await client.request(UndeployCancel, { project });
          context.print(result, () => summary(result));
          return 0;
        } finally {
          client.close();
        }
      }
      const keepData = context.flags['keep-data'] === true;
      if (context.flags.yes !== true) {
        if (!context.interactive) throw new CliError(`Undeploying removes ${project} from its server; pass --yes to confirm when not on a terminal.`, 2);
        if (!(await confirmOnTerminal(await what(context, project, keepData)))) throw new CliError('Nothing was changed.', 1);
      }
      const client = await context.connect();
      const source = new CancellationTokenSource();
      const onInterrupt = (): void => source.cancel();
      process.once('SIGINT', onInterrupt);
      try {
        client.onNotification(UndeployProgress, (progress) => {
          if (context.json || progress.project !== project || progress.stepStatus === 'pending') return;
          process.stderr.write(`${progress.step}: ${progress.stepStatus}${progress.detail ? ` (${progress.detail})` : ''}\n`);
        });
        // --yes or a yes at the prompt: a person confirmed it now.
        const result = await client.request(UndeployStart, { project, keepData, wait: true, confirmed: true }, { token: source.token });
        context.print(result, () => summary(result));
        return result.status === 'succeeded' ? 0 : 1;
      } catch (error) {
        if (isCancelled(error)) throw new CliError(`Undeploy of ${project} cancelled; what was removed stays removed, and its allocation is kept. Run the command again to finish it.`, 130);
        throw error;
      } finally {
        process.off('SIGINT', onInterrupt);
        client.close();
      }
    },
  },
];
