import { spawn } from 'node:child_process';
import fs from 'node:fs';
import type { Readable } from 'node:stream';
import type { AuditLog } from '../audit/auditLog.js';
import { ZavhozError } from '../core/errors.js';
import type { TextRedactor } from '../core/redactor.js';
import { createMaskingStream, type MaskedSecret } from '../exec/masker.js';
import { AGENT_EXEC_TAIL, type AgentExecResult, commandLineText } from '../protocol/agent.js';
import { ErrorCodes } from '../protocol/errors.js';
import type { SecretMetadata } from '../protocol/secretFields.js';
import type { SecretReader, SecretUse } from '../vault/api.js';
import type { ApprovedCommands } from './commands.js';
import type { Requester } from './grants.js';

/** What the runner needs of the vault: the project's secrets by name, and their values on loan. */
export interface ProjectSecrets extends SecretReader {
  list(filter: { project?: string | undefined }): Promise<SecretMetadata[]>;
}

/** Time a command gets between SIGTERM and SIGKILL. */
const KILL_GRACE_MS = 3000;

/** The daemon's own variables a command must not inherit. */
const PRIVATE_VARIABLE = /^ZAVHOZ_/;

/** One agent command: what to run, where, for how long. */
export interface AgentCommandRun {
  readonly project: string;
  readonly command: readonly string[];
  readonly folder: string;
  readonly timeoutSeconds: number;
}

/**
 * Runs command lines a human approved for agents, with the project's own vault secrets (not the global ones) in
 * the child's environment, each under its name: the environment is the values' destination, as with `zavhoz
 * exec`. What the command prints reaches the agent only through the masker (every value, base64, URL-encoded,
 * split across writes) and then the vault's redactor (every value the vault holds), and only its last lines.
 */
export class AgentCommandRunner {
  /** Stops each command still running, for shutdown. */
  private readonly running = new Set<() => void>();

  constructor(
    private readonly vault: ProjectSecrets,
    private readonly commands: ApprovedCommands,
    private readonly audit: AuditLog,
    private readonly redactor: TextRedactor,
  ) {}

  /** Runs `request` if its command line is approved for its project; refuses it otherwise, before anything runs. */
  async run(request: AgentCommandRun, by: Requester, signal: AbortSignal): Promise<AgentExecResult> {
    const approved = await this.commands.find(request.project, request.command);
    if (!approved) {
      throw new ZavhozError(
        ErrorCodes.PreconditionFailed,
        `This command line is not approved for agents in project ${request.project}, so it did not run. A human approves it in VS Code when the agent asks, ` +
          `or with: zavhoz agent commands approve --project ${request.project} -- ${commandLineText(request.command)}`,
      );
    }
    if (!fs.statSync(request.folder, { throwIfNoEntry: false })?.isDirectory()) {
      throw new ZavhozError(ErrorCodes.InvalidInput, `The folder ${request.folder} does not exist on this machine; pass the project's folder.`);
    }
    const secrets = (await this.vault.list({ project: request.project })).filter((secret) => secret.project === request.project);
    const use: SecretUse = {
      client: by.client,
      requestId: by.requestId,
      action: 'agent-exec',
      detail: { project: request.project, command: approved.id },
    };
    await this.audit.record({
      client: by.client,
      requestId: by.requestId,
      action: 'agent-exec',
      subject: request.project,
      detail: { command: approved.id, program: request.command[0] ?? '', handles: secrets.map((secret) => secret.handle) },
    });
    return this.withValues(secrets, use, [], (values) => this.spawnMasked(request, values, signal));
  }

  /** Ends every command still running (daemon shutdown): they were started detached, in groups of their own. */
  stop(): void {
    for (const kill of [...this.running]) kill();
  }

  /** Lends every secret's value, one loan inside the other, for the time of `work`. */
  private async withValues<T>(secrets: readonly SecretMetadata[], use: SecretUse, values: MaskedSecret[], work: (values: MaskedSecret[]) => Promise<T>): Promise<T> {
    const [first, ...rest] = secrets;
    if (!first) return work(values);
    return this.vault.withValue(first.handle, use, (value) => this.withValues(rest, use, [...values, { name: first.name, value }], work));
  }

  private spawnMasked(request: AgentCommandRun, secrets: readonly MaskedSecret[], signal: AbortSignal): Promise<AgentExecResult> {
    const started = Date.now();
    const environment: NodeJS.ProcessEnv = {};
    for (const [key, value] of Object.entries(process.env)) if (!PRIVATE_VARIABLE.test(key)) environment[key] = value;
    for (const secret of secrets) environment[secret.name] = secret.value;
    const [program = '', ...args] = request.command;
    const tail = new OutputTail();
    return new Promise<AgentExecResult>((resolve) => {
      let timedOut = false;
      let startError: string | null = null;
      const child = spawn(program, args, { cwd: request.folder, env: environment, stdio: ['ignore', 'pipe', 'pipe'], detached: process.platform !== 'win32' });
      const kill = (): void => {
        const signalGroup = (name: NodeJS.Signals): void => {
          try {
            if (child.pid !== undefined && process.platform !== 'win32') process.kill(-child.pid, name);
            else child.kill(name);
          } catch {
            // Already gone.
          }
        };
        signalGroup('SIGTERM');
        setTimeout(() => signalGroup('SIGKILL'), KILL_GRACE_MS).unref();
      };
      const timer = setTimeout(() => {
        timedOut = true;
        kill();
      }, request.timeoutSeconds * 1000);
      const onAbort = (): void => kill();
      signal.addEventListener('abort', onAbort, { once: true });
      this.running.add(kill);
      const outputs = [child.stdout, child.stderr].map((stream) => collect(stream, secrets, tail));
      child.on('error', (error: NodeJS.ErrnoException) => {
        startError = error.code === 'ENOENT' ? `${program}: command not found (no such program on the PATH or in the folder)` : `${program}: ${error.message}`;
      });
      child.on('close', (code, killedBy) => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        this.running.delete(kill);
        void Promise.all(outputs).then(() => {
          const { text, omitted } = tail.result();
          resolve({
            exitCode: code,
            signal: killedBy,
            timedOut,
            startError: startError === null ? null : this.redactor.redact(startError),
            output: this.redactor.redact(text),
            omittedLines: omitted,
            secrets: secrets.map((secret) => secret.name),
            durationMs: Date.now() - started,
          });
        });
      });
    });
  }
}

/** Pipes one output stream through its own masker, line by line into the shared tail; resolves when it ended. */
function collect(stream: Readable | null, secrets: readonly MaskedSecret[], tail: OutputTail): Promise<void> {
  if (!stream) return Promise.resolve();
  const masked = stream.pipe(createMaskingStream(secrets));
  // Each stream keeps its own unfinished line, so stdout and stderr interleave by whole lines.
  let partial = '';
  return new Promise((resolve) => {
    const done = (): void => {
      if (partial !== '') tail.add(partial);
      partial = '';
      resolve();
    };
    masked.on('data', (chunk: Buffer) => {
      const pieces = (partial + chunk.toString('utf8')).split('\n');
      partial = pieces.pop() ?? '';
      for (const line of pieces) tail.add(line);
      // A line that never ends is cut, so one endless line cannot hold the memory.
      if (partial.length > AGENT_EXEC_TAIL.chars) partial = partial.slice(-AGENT_EXEC_TAIL.chars);
    });
    masked.on('end', done);
    masked.on('error', done);
    stream.on('error', done);
  });
}

/** The last lines of masked output, bounded in lines and characters; counts what it left out. */
class OutputTail {
  private readonly lines: string[] = [];
  private dropped = 0;
  private chars = 0;

  result(): { text: string; omitted: number } {
    return { text: this.lines.join('\n'), omitted: this.dropped };
  }

  add(line: string): void {
    const kept = line.length > AGENT_EXEC_TAIL.chars ? line.slice(-AGENT_EXEC_TAIL.chars) : line;
    this.lines.push(kept);
    this.chars += kept.length + 1;
    while (this.lines.length > AGENT_EXEC_TAIL.lines || this.chars > AGENT_EXEC_TAIL.chars) {
      const first = this.lines.shift() ?? '';
      this.chars -= first.length + 1;
      this.dropped += 1;
    }
  }
}
