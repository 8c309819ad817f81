import { type ChildProcess, spawn, type StdioOptions } from 'node:child_process';
import { constants } from 'node:os';
import type { Readable, Writable } from 'node:stream';
import type { MaskedSecret } from './masker.js';
import { MaskedWriter } from './maskedWriter.js';
import { closeChannel, type OutputChannel, openOutputChannels } from './outputChannel.js';

/** A command to run with secrets in its environment. */
export interface MaskedRun {
  readonly command: string;
  readonly args: readonly string[];
  /** The child's whole environment (the values included: this is their destination). */
  readonly env: NodeJS.ProcessEnv;
  /** What is masked in its output; empty or `mask: false` lets the output through as it is. */
  readonly secrets: readonly MaskedSecret[];
  readonly mask: boolean;
  readonly stdout: Writable;
  readonly stderr: Writable;
  /**
   * Whether a SIGINT this process gets is passed on. On a terminal, Ctrl-C already reaches the child (it is in the
   * same foreground process group), and passing it on would make it two.
   */
  readonly forwardInterrupt: boolean;
}

/** How the child ended. */
export type RunOutcome =
  | { readonly kind: 'exited'; readonly code: number }
  | { readonly kind: 'signalled'; readonly signal: NodeJS.Signals }
  | { readonly kind: 'not-found' }
  | { readonly kind: 'not-executable' };

/** Signals passed on to the child while it runs: the ones that ask a process to stop. */
const FORWARDED: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/**
 * Runs a command (an argument array, no shell) with stdin passed through, its stdout and stderr masked into the
 * given streams, and stop signals passed on; resolves once it has ended and its output has been written.
 */
export async function runMasked(run: MaskedRun): Promise<RunOutcome> {
  const piped = run.mask && run.secrets.length > 0;
  const targets = [run.stdout, run.stderr];
  const writers = piped ? targets.map((target) => new MaskedWriter(run.secrets, target)) : [];
  let channels: OutputChannel[] | undefined;
  if (piped) {
    // Each channel hands its reads to its writer, which says when the read buffer may be filled again.
    channels = await openOutputChannels(writers.map((writer) => (bytes: Buffer, release: () => void) => writer.write(bytes, release)));
  }
  const stdio: StdioOptions = !piped ? 'inherit' : channels === undefined ? ['inherit', 'pipe', 'pipe'] : ['inherit', ...channels.map((channel) => channel.childEnd)];
  let child: ChildProcess;
  try {
    child = spawn(run.command, [...run.args], { env: run.env, stdio });
  } finally {
    // The child has its own copies now (or none, if it could not be started): ours would keep its output open.
    for (const channel of channels ?? []) channel.childEnd.destroy();
  }
  const forward = (signal: NodeJS.Signals): void => {
    if (signal === 'SIGINT' && !run.forwardInterrupt) return;
    child.kill(signal);
  };
  for (const signal of FORWARDED) process.on(signal, forward);
  const sources: (Readable | null)[] = channels === undefined ? [child.stdout, child.stderr] : channels.map((channel) => channel.ours);
  // eslint-disable-next-line @typescript-eslint/no-non-null-assertion -- one writer per target: the writers were made from `targets`
  const outputs = writers.map((writer, index) => pump(sources[index] ?? null, writer, targets[index]!, channels === undefined));
  const ended = new Promise<RunOutcome>((resolve) => {
    child.once('error', (error: NodeJS.ErrnoException) => {
      resolve(error.code === 'ENOENT' ? { kind: 'not-found' } : { kind: 'not-executable' });
    });
    child.once('close', (code, signal) => {
      resolve(signal === null ? { kind: 'exited', code: code ?? 1 } : { kind: 'signalled', signal });
    });
  });
  const outcome = await ended;
  // A child that never started has no output to wait for (its pipes may never end).
  if (outcome.kind === 'exited' || outcome.kind === 'signalled') await Promise.all(outputs);
  else for (const channel of channels ?? []) closeChannel(channel);
  for (const signal of FORWARDED) process.off(signal, forward);
  return outcome;
}

/** The exit code a shell reports for a process a signal ended: 128 + its number. */
export function signalExitCode(signal: NodeJS.Signals): number {
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- NodeJS.Signals names signals this platform may lack (SIGINFO on Linux)
  return 128 + (constants.signals[signal] ?? 0);
}

/**
 * Copies `source` into `target` through its masking writer, pausing while `target` holds on to bytes. A `stream`
 * source (a pipe Node reads) emits its chunks as events; otherwise the chunks reach the writer from the channel's
 * read callback, and only the end is seen here. If `target` goes away (the reader of a pipe quit), the source is
 * dropped, so the child sees a broken pipe as it would have without us.
 */
function pump(source: Readable | null, writer: MaskedWriter, target: Writable, stream: boolean): Promise<void> {
  if (source === null) return Promise.resolve();
  return new Promise((resolve) => {
    const onTargetError = (): void => {
      writer.drop();
      source.destroy();
      resolve();
    };
    target.on('error', onTargetError);
    const finish = (): void => {
      target.off('error', onTargetError);
      resolve();
    };
    if (stream) {
      source.on('data', (chunk: Buffer) => {
        if (!writer.write(chunk, () => source.resume())) source.pause();
      });
    }
    source.once('end', () => writer.end(finish));
    source.once('error', finish);
  });
}
