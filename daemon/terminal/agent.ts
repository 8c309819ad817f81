import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { ZavhozError } from '../core/errors.js';
import { PRIVATE_FILE_MODE, ensurePrivateFolder } from '../core/files.js';
import { ErrorCodes } from '../protocol/errors.js';

/** The longest `ssh-add` or a starting `ssh-agent` may take. */
const AGENT_TIMEOUT_MS = 30_000;

/** What {@link addToAgent} loads: the key (and its passphrase, if it has one), for this long. */
export interface AgentLoad {
  readonly socket: string;
  readonly lifetimeSeconds: number;
  readonly privateKey: string;
  readonly passphrase?: string | undefined;
  /** A private folder for the passphrase's askpass helper (made and removed here). */
  readonly scratch: string;
  /** Masks anything secret in ssh-add's own words before they are answered. */
  readonly redact: (text: string) => string;
}

/**
 * Checks that a client's agent socket is a socket of this user, so a key is never handed to a path someone else
 * listens on. Named pipes (Windows' agent) are taken as given.
 */
export function checkAgentSocket(socket: string): void {
  if (process.platform === 'win32') return;
  const refuse = (why: string): never => {
    throw new ZavhozError(ErrorCodes.InvalidInput, `The ssh-agent socket ${socket} ${why}. Start an agent (\`eval "$(ssh-agent)"\`) and open VS Code from that shell, or leave SSH_AUTH_SOCK unset to use Zavhoz's own agent.`);
  };
  if (!path.isAbsolute(socket)) refuse('is not an absolute path');
  let stat: fs.Stats;
  try {
    stat = fs.lstatSync(socket);
  } catch {
    return refuse('does not exist');
  }
  if (!stat.isSocket()) refuse('is not a socket');
  if (typeof process.getuid === 'function' && stat.uid !== process.getuid()) refuse('belongs to another user');
}

/**
 * Runs `ssh-add -t SECONDS -` against the agent with the key on stdin: never a file, never argv. A passphrase goes to
 * ssh-add through an askpass helper that reads a 0600 file in a private folder, removed when ssh-add ends.
 */
export async function addToAgent(load: AgentLoad, signal?: AbortSignal): Promise<void> {
  const environment: NodeJS.ProcessEnv = { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: process.env['HOME'], LANG: 'C', SSH_AUTH_SOCK: load.socket };
  let helper: string | undefined;
  // The helper folder is removed whatever fails, also writing the askpass script after the passphrase's file.
  try {
    if (load.passphrase !== undefined) {
      ensurePrivateFolder(load.scratch);
      helper = fs.mkdtempSync(path.join(load.scratch, 'askpass-'));
      const secretFile = path.join(helper, 'passphrase');
      fs.writeFileSync(secretFile, load.passphrase, { mode: PRIVATE_FILE_MODE });
      const script = path.join(helper, 'askpass');
      fs.writeFileSync(script, `#!/bin/sh\nexec cat '${secretFile.replace(/'/g, `'\\''`)}'\n`, { mode: 0o700 });
      Object.assign(environment, { SSH_ASKPASS: script, SSH_ASKPASS_REQUIRE: 'force', DISPLAY: process.env['DISPLAY'] ?? ':0' });
    } else {
      // No prompt: a key that turns out to want a passphrase fails at once instead of waiting for a terminal.
      environment['SSH_ASKPASS_REQUIRE'] = 'never';
    }
    const child = spawn('ssh-add', ['-t', String(load.lifetimeSeconds), '-'], { env: environment, stdio: ['pipe', 'pipe', 'pipe'], detached: false });
    const outcome = await finished(child, load.privateKey, signal);
    if (outcome.code !== 0) {
      const said = load.redact(outcome.output.trim()).split('\n').slice(-3).join(' ');
      throw new ZavhozError(
        ErrorCodes.Unreachable,
        `The ssh-agent at ${load.socket} did not take the key (${said || `ssh-add exited with ${outcome.code ?? 'a signal'}`}). Check that the agent runs: \`SSH_AUTH_SOCK=${load.socket} ssh-add -l\`.`,
      );
    }
  } finally {
    if (helper) fs.rmSync(helper, { recursive: true, force: true });
  }
}

/**
 * Unloads a key from an agent by its public half (`ssh-add -d FILE`: a public key path, nothing secret). An agent that
 * is gone, or no longer holds the key, is fine: answers whether the agent said it removed the key.
 */
export async function removeFromAgent(socket: string, publicKeyFile: string): Promise<boolean> {
  try {
    const stat = fs.lstatSync(socket);
    if (!stat.isSocket() || (typeof process.getuid === 'function' && stat.uid !== process.getuid())) return false;
  } catch {
    return false;
  }
  const environment: NodeJS.ProcessEnv = { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: process.env['HOME'], LANG: 'C', SSH_AUTH_SOCK: socket, SSH_ASKPASS_REQUIRE: 'never' };
  const child = spawn('ssh-add', ['-d', publicKeyFile], { env: environment, stdio: ['pipe', 'pipe', 'pipe'] });
  try {
    return (await finished(child, '')).code === 0;
  } catch {
    return false;
  }
}

/** Waits for a child fed `input` on stdin; answers its exit code and what it printed. */
function finished(child: ChildProcess, input: string, signal?: AbortSignal): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    child.stdout?.on('data', (chunk: Buffer) => chunks.push(chunk));
    child.stderr?.on('data', (chunk: Buffer) => chunks.push(chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), AGENT_TIMEOUT_MS);
    const abort = (): void => {
      child.kill('SIGKILL');
    };
    signal?.addEventListener('abort', abort, { once: true });
    child.once('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', abort);
      reject(
        new ZavhozError(
          ErrorCodes.PreconditionFailed,
          error.code === 'ENOENT' ? 'ssh-add was not found. Install the OpenSSH client (it brings ssh, ssh-add and ssh-agent).' : `ssh-add could not start: ${error.message}.`,
        ),
      );
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', abort);
      if (signal?.aborted) { reject(new ZavhozError(ErrorCodes.RequestCancelled, 'The hand-off was cancelled.')); return; }
      resolve({ code, output: Buffer.concat(chunks).toString('utf8') });
    });
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(input);
  });
}

/**
 * Zavhoz's own ssh-agent, for a client that has none: started on first use on a socket in the data folder, ended
 * (by its PID) when the daemon stops. Keys it holds expire with their lifetime like in any agent.
 */
export class DaemonAgent {
  private child: ChildProcess | undefined;
  private starting: Promise<string> | undefined;

  constructor(private readonly socket: string) {}

  /** The agent's socket, starting the agent if it does not run. */
  ensure(): Promise<string> {
    if (this.child && this.child.exitCode === null && this.child.signalCode === null && fs.existsSync(this.socket)) return Promise.resolve(this.socket);
    this.starting ??= this.start().finally(() => {
      this.starting = undefined;
    });
    return this.starting;
  }

  /** Ends the agent (the keys it held are gone with it) and waits a moment for it to exit, so it is not left a zombie. */
  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (child?.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 3_000);
        child.once('exit', () => {
          clearTimeout(timer);
          resolve();
        });
      });
      child.kill('SIGTERM');
      fs.rmSync(this.pidFile, { force: true });
      await exited;
    }
    fs.rmSync(this.socket, { force: true });
  }

  /** Where the agent's PID is kept, so a daemon started after a crash can end the agent the crashed one left. */
  private get pidFile(): string {
    return `${this.socket}.pid`;
  }

  /**
   * Ends an agent a previous daemon left running (killed before its shutdown could stop it), so its keys do not stay
   * loaded behind a socket nobody uses. Only a process whose command line names this socket is signalled (Linux shows
   * it in /proc; elsewhere the stale agent lives until its keys' lifetimes end and it is replaced at the next start).
   */
  private endLeftover(): void {
    let pid: number;
    try {
      pid = Number(fs.readFileSync(this.pidFile, 'utf8').trim());
    } catch {
      return;
    }
    fs.rmSync(this.pidFile, { force: true });
    if (!Number.isInteger(pid) || pid <= 1) return;
    try {
      const commandLine = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      if (commandLine.some((part) => path.basename(part) === 'ssh-agent') && commandLine.includes(this.socket)) process.kill(pid, 'SIGTERM');
    } catch {
      // Gone already, or no /proc here.
    }
  }

  private async start(): Promise<string> {
    await this.stop();
    this.endLeftover();
    ensurePrivateFolder(path.dirname(this.socket));
    const child = spawn('ssh-agent', ['-D', '-a', this.socket], { stdio: 'ignore', env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', LANG: 'C' } });
    this.child = child;
    if (child.pid !== undefined) fs.writeFileSync(this.pidFile, `${child.pid}\n`, { mode: PRIVATE_FILE_MODE });
    const failed = new Promise<never>((_, reject) => {
      child.once('error', (error: NodeJS.ErrnoException) =>
        reject(new ZavhozError(ErrorCodes.PreconditionFailed, error.code === 'ENOENT' ? 'ssh-agent was not found. Install the OpenSSH client.' : `ssh-agent could not start: ${error.message}.`)),
      );
      child.once('exit', (code) => reject(new ZavhozError(ErrorCodes.PreconditionFailed, `Zavhoz's ssh-agent stopped at once (exit ${code ?? 'by a signal'}).`)));
    });
    failed.catch(() => undefined);
    const deadline = Date.now() + AGENT_TIMEOUT_MS;
    while (!fs.existsSync(this.socket)) {
      if (Date.now() > deadline) {
        await this.stop();
        throw new ZavhozError(ErrorCodes.PreconditionFailed, `Zavhoz's ssh-agent did not open ${this.socket} in time.`);
      }
      await Promise.race([new Promise((resolve) => setTimeout(resolve, 50)), failed]);
    }
    return this.socket;
  }
}
