import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { HANDOFF_LIFETIME, type RemoteHandedOff, RemoteHandoff } from '../../protocol/remote.js';
import { CliError, type Command, type CommandContext, integerFlag, call } from '../command.js';

/** How long the key of a session stays in its agent: enough to log in, not a working day. */
const SESSION_LIFETIME_SECONDS = 5 * HANDOFF_LIFETIME.min;
/** The longest a starting ssh-agent may take to open its socket. */
const AGENT_START_MS = 30_000;

/** An ssh-agent of this command only, in a private folder, ended (by its PID) when the session ends. */
interface SessionAgent {
  /** The session's private folder: the agent's socket, and the Host block the daemon writes for this session only. */
  readonly folder: string;
  readonly socket: string;
  stop(): void;
}

/**
 * Starts `ssh-agent -D` on a socket in a new private folder. Its own process group, so a Ctrl-C meant for the remote
 * command does not end it; the exit hook ends it if this process is ended first.
 */
async function startSessionAgent(): Promise<SessionAgent> {
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'zavhoz-ssh-'));
  fs.chmodSync(folder, 0o700);
  const socket = path.join(folder, 'agent.sock');
  let child: ChildProcess | undefined;
  const stop = (): void => {
    process.off('exit', stop);
    if (child?.pid !== undefined && child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    fs.rmSync(folder, { recursive: true, force: true });
  };
  process.on('exit', stop);
  try {
    child = spawn('ssh-agent', ['-D', '-a', socket], { stdio: 'ignore', detached: true, env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', LANG: 'C' } });
    const started = child;
    const failed = new Promise<never>((_, reject) => {
      started.once('error', (error: NodeJS.ErrnoException) =>
        reject(new CliError(error.code === 'ENOENT' ? 'ssh-agent was not found. Install the OpenSSH client (it brings ssh, ssh-add and ssh-agent).' : `ssh-agent could not start: ${error.message}.`)),
      );
      started.once('exit', (code) => reject(new CliError(`ssh-agent stopped at once (exit ${code ?? 'by a signal'}).`)));
    });
    failed.catch(() => undefined);
    const deadline = Date.now() + AGENT_START_MS;
    while (!fs.existsSync(socket)) {
      if (Date.now() > deadline) throw new CliError(`ssh-agent did not open its socket within ${AGENT_START_MS / 1000} s.`);
      await Promise.race([new Promise((resolve) => setTimeout(resolve, 25)), failed]);
    }
    child.unref();
    return { folder, socket, stop };
  } catch (error) {
    stop();
    throw error;
  }
}

/**
 * The `ssh` arguments of a session: Zavhoz's Host block only, then the alias, then the remote command if any (its
 * words joined into one command line for the remote shell, as ssh always does).
 */
export function sessionArguments(handed: Pick<RemoteHandedOff, 'hostConfig' | 'alias'>, command: readonly string[]): string[] {
  // `--` after the alias: the remote command's own flags (`id -un`) are not read as ssh's.
  return ['-F', handed.hostConfig, handed.alias, ...(command.length > 0 ? ['--', ...command] : [])];
}

/** Runs ssh with the terminal handed over; answers its exit code (a signal that ended it as 128 + its number). */
function runSsh(args: readonly string[], socket: string): Promise<number> {
  return new Promise((resolve, reject) => {
    // The person's Ctrl-C belongs to ssh (or the remote command), not to this process.
    const ignore = (): void => undefined;
    process.on('SIGINT', ignore);
    const child = spawn('ssh', args, { stdio: 'inherit', env: { ...process.env, SSH_AUTH_SOCK: socket } });
    child.once('error', (error: NodeJS.ErrnoException) => {
      process.off('SIGINT', ignore);
      reject(new CliError(error.code === 'ENOENT' ? 'ssh was not found. Install the OpenSSH client.' : `ssh could not start: ${error.message}.`));
    });
    child.once('exit', (code, signal) => {
      process.off('SIGINT', ignore);
      resolve(code ?? 128 + (signal ? os.constants.signals[signal] : 0));
    });
  });
}

function lifetimeOf(context: CommandContext, fallback: number): number {
  const lifetime = integerFlag(context.flags, 'lifetime') ?? fallback;
  if (lifetime < HANDOFF_LIFETIME.min || lifetime > HANDOFF_LIFETIME.max) {
    throw new CliError(`--lifetime must be between ${HANDOFF_LIFETIME.min} and ${HANDOFF_LIFETIME.max} seconds, got ${lifetime}.`, 2);
  }
  return lifetime;
}

/** `zavhoz server ssh`: a managed server handed to the system's own ssh client. */
export const serverSshCommands: Command[] = [
  {
    path: ['server', 'ssh'],
    usage: 'zavhoz server ssh HANDLE [--lifetime SECONDS] [--print-config] [-- COMMAND [ARGS…]]',
    summary: "Open ssh to a server with its vault key lent to an ssh-agent for a while (never a key file, never argv).",
    examples: ['zavhoz server ssh web-1', 'zavhoz server ssh web-1 -- docker ps', 'zavhoz server ssh web-1 --print-config'],
    options: {
      lifetime: {
        type: 'string',
        value: 'SECONDS',
        description: `How long the agent keeps the key (default ${SESSION_LIFETIME_SECONDS} for a session, ${HANDOFF_LIFETIME.default} with --print-config).`,
      },
      'print-config': {
        type: 'boolean',
        description: "Load the key into your ssh-agent ($SSH_AUTH_SOCK, else Zavhoz's own) and print the server's Host block instead of connecting.",
      },
    },
    positionals: [1, Number.MAX_SAFE_INTEGER],
    async run(context) {
      const [server = '', ...command] = context.positionals;
      if (context.flags['print-config'] === true) {
        if (command.length > 0) throw new CliError('--print-config prints the Host block and runs nothing; leave out the command.', 2);
        const agentSocket = process.env['SSH_AUTH_SOCK'];
        const handed = await call(context, RemoteHandoff, {
          server,
          lifetimeSeconds: lifetimeOf(context, HANDOFF_LIFETIME.default),
          ...(agentSocket ? { agentSocket } : {}),
        });
        const block = fs.readFileSync(handed.hostConfig, 'utf8');
        if (!context.json) process.stderr.write(`zavhoz: the key of ${handed.server} is in the ssh-agent at ${handed.agentSocket} until ${handed.expiresAt}; connect with: ssh ${handed.alias}\n`);
        context.print({ ...handed, hostBlock: block }, () => block.trimEnd());
        return 0;
      }
      const lifetimeSeconds = lifetimeOf(context, SESSION_LIFETIME_SECONDS);
      const agent = await startSessionAgent();
      try {
        // The Host block goes into the session's folder: Zavhoz's SSH config keeps its alias pointing at a living agent.
        const handed = await call(context, RemoteHandoff, { server, agentSocket: agent.socket, lifetimeSeconds, sessionFolder: agent.folder });
        return await runSsh(sessionArguments(handed, command), agent.socket);
      } finally {
        agent.stop();
      }
    },
  },
];
