import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ResponseError } from 'vscode-jsonrpc';
import { DaemonClient, DaemonNotRunningError } from '../client/client.js';
import { DaemonStartError } from '../client/spawn.js';
import { resolveDataFolder } from '../core/paths.js';
import { ZAVHOZ_VERSION } from '../core/version.js';
import { errorCodeName } from '../protocol/errors.js';
import { type Command, type CommandContext, CliError, type Flags } from './command.js';
import { COMMANDS } from './commands/index.js';

/** The daemon script shipped beside this CLI (`dist/daemon.cjs`), or the built one when running from source. */
function daemonScript(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const beside = path.join(here, 'daemon.cjs');
  if (fs.existsSync(beside)) return beside;
  return path.resolve(here, '../../dist/daemon.cjs');
}

function findCommand(args: readonly string[]): { command: Command; rest: string[] } | undefined {
  let best: Command | undefined;
  for (const command of COMMANDS) {
    const matches = command.path.every((word, index) => args[index] === word);
    if (matches && (!best || command.path.length > best.path.length)) best = command;
  }
  return best ? { command: best, rest: args.slice(best.path.length) } : undefined;
}

function usage(): string {
  const lines = COMMANDS.map((command) => `  ${command.usage}\n      ${command.summary}`);
  return `Zavhoz ${ZAVHOZ_VERSION}: deploy your projects to your servers, secrets kept in the OS keychain.\n\nUsage:\n${lines.join('\n')}\n\nEvery command takes --json. The data folder is $ZAVHOZ_HOME, else ${resolveDataFolder({})}.`;
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
  if (argv.length === 0 || argv[0] === '--help' || argv[0] === 'help') {
    process.stdout.write(`${usage()}\n`);
    return argv.length === 0 ? 2 : 0;
  }
  if (argv[0] === '--version') {
    process.stdout.write(`${ZAVHOZ_VERSION}\n`);
    return 0;
  }
  const found = findCommand(argv);
  if (!found) {
    process.stderr.write(`zavhoz: unknown command "${argv.slice(0, 2).join(' ')}". Run zavhoz --help for the list.\n`);
    return 2;
  }
  const { command, rest } = found;
  let flags: Flags;
  let positionals: string[];
  try {
    const parsed = parseArgs({
      args: rest,
      options: { ...command.options, json: { type: 'boolean' }, help: { type: 'boolean' } },
      allowPositionals: true,
      strict: true,
    });
    flags = parsed.values as Flags;
    positionals = parsed.positionals;
  } catch (error) {
    process.stderr.write(`zavhoz: ${(error as Error).message}. Usage: ${command.usage}\n`);
    return 2;
  }
  if (flags.help) {
    process.stdout.write(`${command.usage}\n  ${command.summary}\n`);
    return 0;
  }
  const [min, max] = command.positionals ?? [0, 0];
  if (positionals.length < min || positionals.length > max) {
    process.stderr.write(`zavhoz: wrong number of arguments. Usage: ${command.usage}\n`);
    return 2;
  }
  const json = flags.json === true;
  const folder = resolveDataFolder();
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
  if (error instanceof ResponseError) return `${error.message} [${errorCodeName(error.code)}]`;
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
