import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ResponseError } from 'vscode-jsonrpc';
import { DaemonClient, DaemonNotRunningError } from '../client/client.js';
import { DaemonStartError } from '../client/spawn.js';
import { userMessage } from '../client/userMessages.js';
import { resolveDataFolder } from '../core/paths.js';
import { ZAVHOZ_VERSION } from '../core/version.js';
import { errorCodeName } from '../protocol/errors.js';
import { type Command, type CommandContext, CliError, type Flags } from './command.js';
import { commandHelp, GLOBAL_OPTIONS, groupCommands, groupHelp, overviewHelp, parseOptions, topLevel } from './help.js';
import { type PromptInput, promptSecret } from './prompt.js';
import { didYouMean } from './suggest.js';
import { CLI_COMMANDS } from './table.js';

/** The daemon script shipped beside this CLI (`dist/daemon.cjs`), or the built one when running from source. */
function daemonScript(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const beside = path.join(here, 'daemon.cjs');
  if (fs.existsSync(beside)) return beside;
  return path.resolve(here, '../../dist/daemon.cjs');
}

function findCommand(args: readonly string[]): { command: Command; rest: string[] } | undefined {
  let best: Command | undefined;
  for (const command of CLI_COMMANDS) {
    const matches = command.path.every((word, index) => args[index] === word);
    if (matches && (!best || command.path.length > best.path.length)) best = command;
  }
  return best ? { command: best, rest: args.slice(best.path.length) } : undefined;
}

function overview(): string {
  return overviewHelp(
    CLI_COMMANDS,
    `Zavhoz ${ZAVHOZ_VERSION}: deploy your projects to your servers, secrets kept in the OS keychain.`,
    `The data folder is $ZAVHOZ_HOME, else ${resolveDataFolder({})}.`,
  );
}

function isHelpFlag(word: string | undefined): boolean {
  return word === '--help' || word === '-h';
}

/** A word shown back in an error: one line, short (it could be anything the user typed). */
function shown(word: string): string {
  const line = word.replace(/[\r\n]/g, ' ');
  return line.length > 40 ? `${line.slice(0, 40)}…` : line;
}

/** When `argv` names no command: help for a group, or "unknown" with the nearest names. Returns the exit code. */
function noCommand(argv: readonly string[]): number {
  const { groups, single } = topLevel(CLI_COMMANDS);
  const [first = '', second] = argv;
  if (groups.includes(first)) {
    if (isHelpFlag(second)) {
      process.stdout.write(`${groupHelp(CLI_COMMANDS, first)}\n`);
      return 0;
    }
    if (second === undefined || second.startsWith('-')) {
      process.stderr.write(`${groupHelp(CLI_COMMANDS, first)}\n`);
      return 2;
    }
    const verbs = groupCommands(CLI_COMMANDS, first).map((command) => command.path.slice(1).join(' '));
    process.stderr.write(`zavhoz: "${shown(second)}" is not a ${first} command.${didYouMean(second, verbs)} Run \`zavhoz ${first} --help\` for the list.\n`);
    return 2;
  }
  const words = [...groups, ...single.map((command) => command.path.join(' ')), 'help'];
  process.stderr.write(`zavhoz: unknown command "${shown(first)}".${didYouMean(first, words)} Run \`zavhoz --help\` for the list.\n`);
  return 2;
}

/**
 * A flag `command` does not take, with the nearest names, or undefined. Checked before parseArgs so the message can
 * suggest; values of flags that take one are skipped, and nothing after `--` is a flag. The value of `--flag=value`
 * is never shown.
 */
function unknownFlag(command: Command, rest: readonly string[]): string | undefined {
  const options = { ...command.options, ...GLOBAL_OPTIONS };
  for (let index = 0; index < rest.length; index++) {
    const word = rest[index] ?? '';
    if (word === '--') return undefined;
    if (!word.startsWith('--')) continue;
    const name = word.slice(2).split('=')[0] ?? '';
    const option = options[name];
    if (option === undefined) {
      return `zavhoz: ${command.path.join(' ')} has no flag --${shown(name)}.${didYouMean(name, Object.keys(options)).replace(/"(.*?)"/g, '"--$1"')} Run \`zavhoz ${command.path.join(' ')} --help\` for its flags.`;
    }
    if (option.type === 'string' && !word.includes('=')) index++;
  }
  return undefined;
}

async function readStdin(): Promise<string> {
  if (process.stdin.isTTY) {
    throw new CliError('This command reads the value from standard input: pipe it in (e.g. `… < file`), it is never taken from the command line.', 2);
  }
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Runs the CLI with the given arguments and returns the exit code. */
export async function runCli(argv: readonly string[]): Promise<number> {
  if (argv.length === 0 || isHelpFlag(argv[0]) || (argv[0] === 'help' && argv.length === 1)) {
    process.stdout.write(`${overview()}\n`);
    return argv.length === 0 ? 2 : 0;
  }
  if (argv[0] === 'help') return runCli([...argv.slice(1), '--help']);
  if (argv[0] === '--version') {
    process.stdout.write(`${ZAVHOZ_VERSION}\n`);
    return 0;
  }
  const found = findCommand(argv);
  if (!found) return noCommand(argv);
  const { command, rest } = found;
  const unknown = unknownFlag(command, rest);
  if (unknown !== undefined) {
    process.stderr.write(`${unknown}\n`);
    return 2;
  }
  let flags: Flags;
  let positionals: string[];
  try {
    const parsed = parseArgs({ args: rest, options: parseOptions(command), allowPositionals: true, strict: true });
    flags = parsed.values as Flags;
    positionals = parsed.positionals;
  } catch (error) {
    process.stderr.write(`zavhoz: ${(error as Error).message}. Usage: ${command.usage}\n`);
    return 2;
  }
  if (flags.help) {
    process.stdout.write(`${commandHelp(command)}\n`);
    return 0;
  }
  const [min, max] = command.positionals ?? [0, 0];
  if (positionals.length < min || positionals.length > max) {
    process.stderr.write(`zavhoz: wrong number of arguments. Usage: ${command.usage}\nRun \`zavhoz ${command.path.join(' ')} --help\` for details.\n`);
    return 2;
  }
  const json = flags.json === true;
  const folder = resolveDataFolder();
  const interactive = process.stdin.isTTY;
  const context: CommandContext = {
    flags,
    positionals,
    json,
    folder,
    connect: (options = {}) =>
      DaemonClient.connect({
        folder,
        clientName: 'cli',
        clientVersion: ZAVHOZ_VERSION,
        ...(options.autoStart === false ? {} : { autoStart: { daemonScript: daemonScript() } }),
      }),
    readStdin,
    interactive,
    promptSecret(label, options = {}) {
      if (!interactive) throw new CliError('A hidden prompt needs a terminal on standard input; pipe the value in instead.', 2);
      return promptSecret(label, options.confirm === true, process.stdin as PromptInput, process.stderr);
    },
    print(value, human) {
      process.stdout.write(json ? `${JSON.stringify(value, null, 2)}\n` : `${human()}\n`);
    },
  };
  try {
    const code = await command.run(context);
    return typeof code === 'number' ? code : 0;
  } catch (error) {
    process.stderr.write(`zavhoz: ${describeCliError(error)}\n`);
    return error instanceof CliError ? error.exitCode : 1;
  }
}

function describeCliError(error: unknown): string {
  // Words for a person (the field named, what to do); the code name stays for scripts that grep stderr.
  if (error instanceof ResponseError) return `${userMessage(error).text} [${errorCodeName(error.code)}]`;
  if (error instanceof CliError || error instanceof DaemonNotRunningError || error instanceof DaemonStartError) {
    return error.message.replace(/\s*\n\s*/g, ' ');
  }
  return error instanceof Error ? error.message : String(error);
}

void runCli(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`zavhoz: ${describeCliError(error)}\n`);
    process.exitCode = 1;
  },
);
