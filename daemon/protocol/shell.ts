import * as z from 'zod';
import { defineRequest, result } from './define.js';
import { lazySchema } from './lazySchema.js';
import { serverHandle } from './servers.js';

/**
 * Interactive SSH shells for the editor's terminal. The daemon holds the SSH connection and the vault key; the
 * client only moves keystrokes and screen output. Output is pulled with `shell/read` (a long poll answered as soon
 * as there is output), so it reaches only the connection that opened the shell, never a broadcast.
 */

/** Shell session ids: `sh_` and 16 hex characters; valid only on the connection that opened them. */
export const shellSession = lazySchema(() => z.string().regex(/^sh_[0-9a-f]{16}$/, 'a shell session id like sh_0123456789abcdef'));

const dimension = lazySchema(() => z.number().int().min(1).max(1000));

/** Longest a `shell/read` waits for output before answering empty, in milliseconds. */
export const SHELL_READ_WAIT_MS = 20_000;

/** A shell closes when its connection has not read for this long (the client went away), in milliseconds. */
export const SHELL_IDLE_MS = 60_000;

/** Opens a login shell on a managed server over SSH with its vault key and pinned host key. */
export const ShellOpen = defineRequest(
  'shell/open',
  () => z.strictObject({ server: serverHandle, cols: dimension.default(80), rows: dimension.default(24) }),
  result<ShellOpened>(),
);

/** What `shell/open` answers: the session and where it is logged in. */
export interface ShellOpened {
  readonly session: string;
  readonly server: string;
  readonly host: string;
  readonly user: string;
}

/** Waits (up to {@link SHELL_READ_WAIT_MS}) for output and answers everything produced since the last read. */
export const ShellRead = defineRequest('shell/read', () => z.strictObject({ session: shellSession }), result<ShellOutput>());

/** Output of a shell since the last read. */
export interface ShellOutput {
  /** Bytes the shell wrote (stdout and stderr as the terminal shows them), base64-encoded. Empty after a quiet wait. */
  readonly data: string;
  /** True once the shell has ended; no more output will come. */
  readonly closed: boolean;
  /** The remote shell's exit code, once closed (null if it died by a signal or the connection dropped). */
  readonly exitCode: number | null;
}

/** Sends keystrokes (or pasted text) to the shell. */
export const ShellWrite = defineRequest(
  'shell/write',
  () => z.strictObject({ session: shellSession, data: z.string().max(64 * 1024) }),
  result<{ readonly written: number }>(),
);

/** Tells the shell the terminal's new size. */
export const ShellResize = defineRequest(
  'shell/resize',
  () => z.strictObject({ session: shellSession, cols: dimension, rows: dimension }),
  result<{ readonly resized: true }>(),
);

/** Ends the shell and its SSH connection. */
export const ShellClose = defineRequest('shell/close', () => z.strictObject({ session: shellSession }), result<{ readonly closed: true }>());
