import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import type { Readable, Writable } from 'node:stream';
import { type MaskedSecret, Masker } from './masker.js';

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
export function runMasked(run: MaskedRun): Promise<RunOutcome> {
  const piped = run.mask && run.secrets.length > 0;
  const child = spawn(run.command, [...run.args], { env: run.env, stdio: ['inherit', piped ? 'pipe' : 'inherit', piped ? 'pipe' : 'inherit'] });
  const forward = (signal: NodeJS.Signals): void => {
    if (signal === 'SIGINT' && !run.forwardInterrupt) return;
    child.kill(signal);
  };
  for (const signal of FORWARDED) process.on(signal, forward);
  const outputs = piped && child.stdout && child.stderr ? [pump(child.stdout, run.secrets, run.stdout), pump(child.stderr, run.secrets, run.stderr)] : [];
  const ended = new Promise<RunOutcome>((resolve) => {
    child.once('error', (error: NodeJS.ErrnoException) => {
      resolve(error.code === 'ENOENT' ? { kind: 'not-found' } : { kind: 'not-executable' });
    });
    child.once('close', (code, signal) => {
      resolve(signal === null ? { kind: 'exited', code: code ?? 1 } : { kind: 'signalled', signal });
    });
  });
  return ended.then(async (outcome) => {
    // A child that never started has no output to wait for (its pipes may never end).
    if (outcome.kind === 'exited' || outcome.kind === 'signalled') await Promise.all(outputs);
    for (const signal of FORWARDED) process.off(signal, forward);
    return outcome;
  });
}

/** The exit code a shell reports for a process a signal ended: 128 + its number. */
export function signalExitCode(signal: NodeJS.Signals): number {
  return 128 + (constants.signals[signal] ?? 0);
}

/**
 * Copies `source` into `target` through a masker, pausing while `target` is full. If `target` goes away (the reader
 * of a pipe quit), the source is dropped, so the child sees a broken pipe as it would have without us.
 */
function pump(source: Readable, secrets: readonly MaskedSecret[], target: Writable): Promise<void> {
  const masker = new Masker(secrets);
  return new Promise((resolve) => {
    let broken = false;
    const onTargetError = (): void => {
      broken = true;
      source.destroy();
      resolve();
    };
    target.on('error', onTargetError);
    const finish = (): void => {
      target.off('error', onTargetError);
      resolve();
    };
    source.on('data', (chunk: Buffer) => {
      if (broken) return;
      // The pieces are views of the chunk around what was masked; corked, they go out in one writev.
      const pieces = masker.pushPieces(chunk);
      if (pieces.length > 1) target.cork();
      let flowing = true;
      for (const piece of pieces) flowing = target.write(piece);
      if (pieces.length > 1) target.uncork();
      if (!flowing) {
        source.pause();
        target.once('drain', () => source.resume());
      }
    });
    source.once('end', () => {
      if (broken) return;
      const rest = masker.end();
      if (rest.length > 0) target.write(rest, finish);
      else target.write('', finish);
    });
    source.once('error', () => resolve());
  });
}
