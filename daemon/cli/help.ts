import type { ParseArgsConfig } from 'node:util';
import type { Command, CommandOption } from './command.js';
import { GROUP_SUMMARIES } from './groups.js';

/** Flags every command takes. */
export const GLOBAL_OPTIONS: Readonly<Record<string, CommandOption>> = {
  json: { type: 'boolean', description: 'Print one JSON document on stdout instead of the human form.' },
  help: { type: 'boolean', short: 'h', description: 'Show this help and exit.' },
};

/** A command's flags and the global ones, as `util.parseArgs` takes them (the help texts left out). */
export function parseOptions(command: Command): NonNullable<ParseArgsConfig['options']> {
  const options: NonNullable<ParseArgsConfig['options']> = {};
  for (const [name, option] of Object.entries({ ...command.options, ...GLOBAL_OPTIONS })) {
    options[name] = {
      type: option.type,
      ...(option.multiple ? { multiple: true } : {}),
      ...(option.short === undefined ? {} : { short: option.short }),
    };
  }
  return options;
}

/** The first words of the command table: groups (`secret`) and commands of one word (`deploy`). */
export function topLevel(commands: readonly Command[]): { groups: string[]; single: Command[] } {
  const groups: string[] = [];
  const single: Command[] = [];
  for (const command of commands) {
    const [first] = command.path;
    if (first === undefined) continue;
    if (command.path.length === 1) single.push(command);
    else if (!groups.includes(first)) groups.push(first);
  }
  return { groups, single };
}

/** The commands of one group, in table order. */
export function groupCommands(commands: readonly Command[], group: string): Command[] {
  return commands.filter((command) => command.path.length > 1 && command.path[0] === group);
}

function columns(rows: readonly (readonly [string, string])[], indent = '  '): string {
  const width = Math.max(...rows.map(([left]) => left.length));
  return rows.map(([left, right]) => `${indent}${left.padEnd(width)}   ${right}`.trimEnd()).join('\n');
}

function flagLabel(name: string, option: CommandOption): string {
  const short = option.short === undefined ? '' : `-${option.short}, `;
  const value = option.type === 'string' ? ` ${option.value ?? 'VALUE'}` : '';
  return `${short}--${name}${value}${option.multiple ? ' (repeatable)' : ''}`;
}

/** `zavhoz <command> --help`: usage, what it does, every flag with a line on it, and examples. */
export function commandHelp(command: Command): string {
  const options = Object.entries({ ...command.options, ...GLOBAL_OPTIONS });
  return [
    `Usage: ${command.usage}`,
    '',
    command.summary,
    '',
    'Options:',
    columns(options.map(([name, option]) => [flagLabel(name, option), option.description])),
    '',
    command.examples.length > 1 ? 'Examples:' : 'Example:',
    ...command.examples.map((example) => `  ${example}`),
  ].join('\n');
}

/** `zavhoz <group> --help`: what the group is for and its commands. */
export function groupHelp(commands: readonly Command[], group: string): string {
  const members = groupCommands(commands, group);
  return [
    `Usage: zavhoz ${group} <command> [options]`,
    '',
    GROUP_SUMMARIES[group] ?? '',
    '',
    'Commands:',
    columns(members.map((command) => [command.path.slice(1).join(' '), command.summary])),
    '',
    `Run \`zavhoz ${group} <command> --help\` for a command's flags and examples.`,
  ].join('\n');
}

/** `zavhoz --help`: the groups and the one-word commands. */
export function overviewHelp(commands: readonly Command[], heading: string, footer: string): string {
  const { groups, single } = topLevel(commands);
  return [
    heading,
    '',
    'Usage: zavhoz <group> <command> [options]',
    '       zavhoz <command> [options]',
    '',
    'Groups:',
    columns(groups.map((group) => [group, GROUP_SUMMARIES[group] ?? ''])),
    '',
    'Commands:',
    columns(single.map((command) => [command.path.join(' '), command.summary])),
    '',
    'Options:',
    columns([
      ['-h, --help', 'Show help: `zavhoz <group> --help` and `zavhoz <group> <command> --help` go into detail.'],
      ['--version', 'Print the version.'],
      ['--json', 'With any command: print one JSON document on stdout instead of the human form.'],
    ]),
    '',
    footer,
  ].join('\n');
}
