import fs from 'node:fs';
import { EXEC_COMMAND_LIMITS, EXEC_VALUES_VARIABLE, ENV_NAME_PATTERN, type ExecSecretValue, ExecResolve, execValueNames } from '../../protocol/exec.js';
import { SECRET_HANDLE_PATTERN } from '../../protocol/secretFields.js';
import { runMasked, signalExitCode } from '../../exec/runChild.js';
import { EnvFileError, readEnvFile } from '../../protocol/envReferences.js';
import { type Command, type CommandContext, CliError, listFlag, stringFlag, withClient } from '../command.js';

/** Signals a child's death is passed on as, by ending this process the same way; others become 128 + n. */
const RERAISED = new Set<NodeJS.Signals>(['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGKILL', 'SIGQUIT', 'SIGALRM', 'SIGUSR2']);

/** `--secret NAME=HANDLE` pairs, checked here so a typo is a usage error, not a daemon refusal. */
function secretPairs(context: CommandContext): { name: string; handle: string }[] {
  return listFlag(context.flags, 'secret').map((pair) => {
    const [name = '', handle = ''] = pair.split('=', 2);
    if (!ENV_NAME_PATTERN.test(name) || !SECRET_HANDLE_PATTERN.test(handle)) {
      throw new CliError(`--secret takes NAME=HANDLE, e.g. API_TOKEN=sec_ab12cd34 (a handle, never a value).`, 2);
    }
    return { name, handle };
  });
}

/** The command line as the audit keeps it: long words and long lines are cut. */
function auditedCommand(command: readonly string[]): string[] {
  const { words, wordLength } = EXEC_COMMAND_LIMITS;
  const cut = command.map((word) => (word.length > wordLength ? `${word.slice(0, wordLength - 1)}…` : word));
  return cut.length > words ? [...cut.slice(0, words - 1), `… (${cut.length - words + 1} more)`] : cut;
}

/** What `--env-file` files give: references to resolve (by name) and plain variables passed on as written. */
interface EnvFiles {
  readonly references: Map<string, string>;
  readonly plain: Map<string, string>;
}

function readEnvFiles(files: readonly string[]): EnvFiles {
  const references = new Map<string, string>();
  const plain = new Map<string, string>();
  for (const file of files) {
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (error) {
      throw new CliError(`Cannot read ${file}: ${(error as Error).message}.`);
    }
    try {
      for (const entry of readEnvFile(text)) {
        // A later definition wins, across files too, as in the files themselves.
        references.delete(entry.name);
        plain.delete(entry.name);
        if (entry.reference === undefined) plain.set(entry.name, entry.value);
        else references.set(entry.name, entry.reference);
      }
    } catch (error) {
      if (error instanceof EnvFileError) throw new CliError(`${file}: ${error.message}`, 2);
      throw error;
    }
  }
  return { references, plain };
}

async function resolveSecrets(context: CommandContext, command: readonly string[], references: ReadonlyMap<string, string>): Promise<ExecSecretValue[]> {
  const project = stringFlag(context.flags, 'project');
  const chosen = new Map(references);
  for (const pair of secretPairs(context)) chosen.set(pair.name, pair.handle);
  const secrets = [...chosen].map(([name, handle]) => ({ name, handle }));
  // Nothing asked for: nothing to fetch, so the daemon is not even started.
  if (project === undefined && secrets.length === 0) return [];
  const resolved = await withClient(context, (client) =>
    client.request(ExecResolve, { ...(project === undefined ? {} : { project }), secrets, command: auditedCommand(command) }),
  );
  return [...resolved.secrets];
}

/** Ends this process the way the child ended (so a shell sees the signal), else answers 128 + n. */
function passOnSignal(signal: NodeJS.Signals): number {
  if (RERAISED.has(signal)) {
    process.removeAllListeners(signal);
    process.kill(process.pid, signal);
  }
  return signalExitCode(signal);
}

/** `zavhoz exec`: run a command with secrets in its environment and its output masked. */
export const execCommands: Command[] = [
  {
    path: ['exec'],
    usage: 'zavhoz exec [--project P] [--secret NAME=HANDLE]… [--env-file FILE]… [--no-mask] -- COMMAND [ARGS…]',
    summary: "Run a command with secrets in its environment (never in argv or a file) and their values masked in its output.",
    examples: [
      'zavhoz exec --project shop -- npm run migrate               # every secret of shop, under its own name',
      'zavhoz exec --env-file .env -- npm test                     # .env holds API_TOKEN=zavhoz:sec_ab12cd34',
      'zavhoz exec --secret API_TOKEN=sec_ab12cd34 -- sh -c \'curl -fsS -H "Authorization: Bearer $API_TOKEN" https://api.example.com/me\'',
    ],
    positionals: [1, Number.MAX_SAFE_INTEGER],
    complete: 'file',
    options: {
      project: { type: 'string', value: 'P', description: 'Give the command every secret of project P, each under its own name.' },
      secret: { type: 'string', multiple: true, value: 'NAME=HANDLE', description: 'Give the command the secret HANDLE as variable NAME (wins over --project and --env-file).' },
      'env-file': { type: 'string', multiple: true, value: 'FILE', description: 'Read variables from a .env file: zavhoz:sec_… references are resolved, plain values passed on as written.' },
      'no-mask': { type: 'boolean', description: 'Let the output through unmasked (values the command prints are shown in clear).' },
    },
    async run(context) {
      const command = [...context.positionals];
      const [program = '', ...args] = command;
      if (program === '') throw new CliError('exec needs a command to run: zavhoz exec [flags] -- COMMAND [ARGS…]', 2);
      const envFiles = readEnvFiles(listFlag(context.flags, 'env-file'));
      const secrets = await resolveSecrets(context, command, envFiles.references);
      const mask = context.flags['no-mask'] !== true;
      if (!mask) process.stderr.write('zavhoz: --no-mask: the output is not masked; values the command prints are shown in clear.\n');
      const env: NodeJS.ProcessEnv = { ...process.env, ...Object.fromEntries(envFiles.plain) };
      for (const secret of secrets) env[secret.name] = secret.value;
      // Which variables hold values (an outer exec's too), so a daemon started from inside the command leaves them out.
      if (secrets.length > 0) env[EXEC_VALUES_VARIABLE] = [...new Set([...execValueNames(process.env), ...secrets.map((secret) => secret.name)])].join(',');
      const outcome = await runMasked({
        command: program,
        args,
        env,
        secrets: secrets.map(({ name, value }) => ({ name, value })),
        mask,
        stdout: process.stdout,
        stderr: process.stderr,
        forwardInterrupt: !process.stdin.isTTY,
      });
      switch (outcome.kind) {
        case 'exited':
          return outcome.code;
        case 'signalled':
          return passOnSignal(outcome.signal);
        case 'not-found':
          process.stderr.write(`zavhoz: exec: ${program}: command not found.\n`);
          return 127;
        case 'not-executable':
          process.stderr.write(`zavhoz: exec: ${program}: cannot be run (not an executable file, or no permission).\n`);
          return 126;
      }
    },
  },
];
