import {
  type Allocation,
  AllocationsAllocate,
  AllocationsList,
  AllocationsRelease,
  DEFAULT_MIN_DISK_MB,
  DEFAULT_MIN_RAM_MB,
  DEFAULT_MODULE,
} from '../../protocol/allocations.js';
import { CliError, type Command, type CommandContext, integerFlag, stringFlag, call } from '../command.js';
import { listPages, printPages } from '../listing.js';

function requiredProject(context: CommandContext): string {
  const project = stringFlag(context.flags, 'project');
  if (!project) throw new CliError('--project is required.', 2);
  return project;
}

function lines(allocations: readonly Allocation[]): string {
  if (allocations.length === 0) return 'No allocations.';
  return allocations
    .map((allocation) => {
      const flags = allocation.flags.length > 0 ? `  [${allocation.flags.join(', ')}]` : '';
      return `${allocation.project}/${allocation.module}  ${allocation.server}:${allocation.port}  ${allocation.ramMb} MB${flags}`;
    })
    .join('\n');
}

/** `zavhoz allocate` and `zavhoz allocation list|release`. */
export const allocationCommands: Command[] = [
  {
    path: ['allocate'],
    usage: `zavhoz allocate --project P [--modules backend,tg-bot] [--min-ram-mb ${DEFAULT_MIN_RAM_MB}] [--min-disk-mb ${DEFAULT_MIN_DISK_MB}] [--json]`,
    summary: 'Pick a server and free ports for a project\'s modules (idempotent; one server per project; RAM is per module).',
    examples: ['zavhoz allocate --project shop --modules backend,tg-bot', 'zavhoz allocate --project shop --min-ram-mb 1024 --json'],
    options: {
      project: { type: 'string', value: 'PROJECT', description: 'The project to place (required).' },
      modules: { type: 'string', value: 'LIST', description: `Comma-separated module names, each gets a port (default: one module, "${DEFAULT_MODULE}").` },
      'min-ram-mb': { type: 'string', value: 'MB', description: `RAM each module needs on the server (default ${DEFAULT_MIN_RAM_MB}).` },
      'min-disk-mb': { type: 'string', value: 'MB', description: `Free disk the server must have (default ${DEFAULT_MIN_DISK_MB}).` },
    },
    async run(context) {
      const project = requiredProject(context);
      const modulesText = stringFlag(context.flags, 'modules');
      const modules = modulesText
        ?.split(',')
        .map((module) => module.trim())
        .filter((module) => module.length > 0);
      const minRamMb = integerFlag(context.flags, 'min-ram-mb');
      const minDiskMb = integerFlag(context.flags, 'min-disk-mb');
      const result = await call(context, AllocationsAllocate, {
        project,
        ...(modules && modules.length > 0 ? { modules } : {}),
        ...(minRamMb === undefined ? {} : { minRamMb }),
        ...(minDiskMb === undefined ? {} : { minDiskMb }),
      });
      const output = {
        project: result.project,
        server: result.server,
        allocations: result.allocations.map(({ module, server, port }) => ({ module, server, port })),
        created: result.created,
      };
      context.print(output, () => `${result.project} → ${result.server}\n${lines(result.allocations)}`);
    },
  },
  {
    path: ['allocation', 'list'],
    usage: 'zavhoz allocation list [--project P] [--json]',
    summary: 'List allocations (flagged when their server went missing or unreachable).',
    examples: ['zavhoz allocation list', 'zavhoz allocation list --project shop --json'],
    options: { project: { type: 'string', value: 'PROJECT', description: "Only this project's allocations." } },
    async run(context) {
      const project = stringFlag(context.flags, 'project');
      const pages = listPages(context, AllocationsList, project ? { project } : {}, (page) => page.allocations);
      await printPages(context, pages, { empty: 'No allocations.', lines: (allocations) => lines(allocations) });
    },
  },
  {
    path: ['allocation', 'release'],
    usage: 'zavhoz allocation release --project P [--module M]',
    summary: 'Release a project\'s allocations, or one module\'s; the ports and RAM become free.',
    examples: ['zavhoz allocation release --project shop', 'zavhoz allocation release --project shop --module tg-bot'],
    options: {
      project: { type: 'string', value: 'PROJECT', description: 'The project whose allocations to release (required).' },
      module: { type: 'string', value: 'MODULE', description: 'Release only this module (default: all of the project).' },
    },
    async run(context) {
      const project = requiredProject(context);
      const module = stringFlag(context.flags, 'module');
      const { released } = await call(context, AllocationsRelease, { project, ...(module ? { module } : {}) });
      context.print({ released }, () => `Released ${released.length} allocation(s) of ${project}.`);
    },
  },
];
