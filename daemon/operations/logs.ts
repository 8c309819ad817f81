/** Reads containers' logs over SSH as whole, redacted lines: a bounded tail, or a follow streamed in batches. */
import type { ClientChannel } from 'ssh2';
import { ZavhozError } from '../core/errors.js';
import type { TextRedactor } from '../core/redactor.js';
import type { SshConnection } from '../inventory/ssh.js';
import { ErrorCodes } from '../protocol/errors.js';
import type { ServiceLogLine } from '../protocol/services.js';
import { RedactedLines } from './redactedLines.js';
import { FIELD, logsScript, type LogsScriptOptions } from './remote.js';

/**
 * The most a tail answer holds, encoded: well under the protocol's message limit (1 MiB), beside the rest of the
 * answer. Older lines are left out first.
 */
export const LOG_ANSWER_BYTES = 512 * 1024;

/** A followed batch is sent once it holds this much, or {@link FOLLOW_FLUSH_MS} after its first line. */
const FOLLOW_BATCH_BYTES = 128 * 1024;
const FOLLOW_FLUSH_MS = 100;

/** How long the remote side gets to end after its input was closed, before the connection is cut. */
const STOP_GRACE_MS = 2_000;

/** Splits a prefixed, redacted line (`service FIELD timestamp text`) into its parts. */
export function parseLogLine(line: string): ServiceLogLine {
  const cut = line.indexOf(FIELD);
  const service = cut >= 0 ? line.slice(0, cut) : '';
  const rest = cut >= 0 ? line.slice(cut + 1) : line;
  const match = /^(\d{4}-\d{2}-\d{2}T\S+) ?/.exec(rest);
  return match ? { service, at: match[1] ?? '', text: rest.slice(match[0].length) } : { service, at: '', text: rest };
}

/** The bytes a line takes in the answer, as JSON encodes it (the message limit counts UTF-8 bytes). */
function sizeOf(line: ServiceLogLine): number {
  return Buffer.byteLength(JSON.stringify(line)) + 1;
}

/** A sortable form of the engine's RFC 3339 time (its fraction has no trailing zeros: pad it to nanoseconds). */
function sortKey(at: string): string {
  return at.replace(/(\.\d+)?(Z|[+-]\d{2}:\d{2})$/, (_whole, fraction: string | undefined, zone: string) => `${(fraction ?? '.').padEnd(10, '0')}${zone}`);
}

/** Keeps the newest lines that fit in `budget` bytes, dropping from the front. */
class Tail {
  readonly lines: ServiceLogLine[] = [];
  private bytes = 0;
  dropped = false;

  constructor(private readonly budget: number) {}

  push(line: ServiceLogLine): void {
    this.lines.push(line);
    this.bytes += sizeOf(line);
    while (this.bytes > this.budget && this.lines.length > 0) {
      const first = this.lines.shift();
      if (first) this.bytes -= sizeOf(first);
      this.dropped = true;
    }
  }
}

/**
 * Runs the logs script and collects its lines, each redacted whole (a value split across SSH chunks is still
 * masked). Without follow: every service's newest lines, merged in time order and trimmed to
 * {@link LOG_ANSWER_BYTES}. With follow: batches go to `onLines` until the logs end or `signal` aborts; then the
 * channel's input is closed, which makes the remote script kill its `docker logs` processes.
 */
export async function readLogs(
  ssh: SshConnection,
  options: LogsScriptOptions,
  redactor: TextRedactor,
  follow: { signal: AbortSignal; onLines(lines: ServiceLogLine[]): void },
): Promise<{ lines: ServiceLogLine[]; truncated: boolean }> {
  const channel = await new Promise<ClientChannel>((resolve, reject) =>
    ssh.client.exec(logsScript(options), (error, opened) =>
      error ? reject(new ZavhozError(ErrorCodes.Unreachable, `Could not run docker logs on the server: ${error.message}.`)) : resolve(opened),
    ),
  );
  const tails = new Map<string, Tail>();
  let batch: ServiceLogLine[] = [];
  let batchBytes = 0;
  let timer: NodeJS.Timeout | undefined;
  const flush = (): void => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    if (batch.length === 0) return;
    const lines = batch;
    batch = [];
    batchBytes = 0;
    follow.onLines(lines);
  };
  const take = (raw: string): void => {
    const line = parseLogLine(raw);
    if (!options.follow) {
      const tail = tails.get(line.service) ?? new Tail(LOG_ANSWER_BYTES);
      tails.set(line.service, tail);
      tail.push(line);
      return;
    }
    batch.push(line);
    batchBytes += sizeOf(line);
    if (batchBytes >= FOLLOW_BATCH_BYTES) flush();
    else timer ??= setTimeout(flush, FOLLOW_FLUSH_MS);
  };
  const stdout = new RedactedLines(redactor, take);
  let stderr = '';
  channel.on('data', (chunk: Buffer) => stdout.write(chunk));
  channel.stderr.on('data', (chunk: Buffer) => {
    if (stderr.length < 4096) stderr += chunk.toString('utf8');
  });
  let stopTimer: NodeJS.Timeout | undefined;
  const stop = (): void => {
    // EOF on the channel's input: the script's watcher kills its process group (remote.ts logsScript).
    channel.end();
    stopTimer = setTimeout(() => ssh.close(), STOP_GRACE_MS);
  };
  if (follow.signal.aborted) stop();
  else follow.signal.addEventListener('abort', stop, { once: true });
  // Without follow nothing is written: the channel's input can close at once.
  if (!options.follow) channel.end();
  const code = await new Promise<number | null>((resolve) => {
    channel.on('close', (exit: number | null) => resolve(typeof exit === 'number' ? exit : null));
    // A connection cut by `stop` (the remote side did not end in time) closes no channel by itself.
    ssh.client.once('close', () => resolve(null));
  });
  follow.signal.removeEventListener('abort', stop);
  if (stopTimer) clearTimeout(stopTimer);
  stdout.end();
  flush();
  if (follow.signal.aborted) throw new ZavhozError(ErrorCodes.RequestCancelled, 'The log follow was cancelled.');
  if (code !== 0 && !options.follow) {
    throw new ZavhozError(ErrorCodes.Unreachable, `docker logs failed on the server (exit ${String(code)}): ${redactor.redact(stderr.trim()).slice(0, 500)}`);
  }
  if (options.follow) return { lines: [], truncated: false };
  return mergeTails([...tails.values()]);
}

/** Every service's lines in time order, trimmed from the oldest to {@link LOG_ANSWER_BYTES}. */
function mergeTails(tails: readonly Tail[]): { lines: ServiceLogLine[]; truncated: boolean } {
  const all = tails.flatMap((tail) => tail.lines.map((line, index) => ({ line, index, key: sortKey(line.at) })));
  all.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.index - b.index));
  const merged = new Tail(LOG_ANSWER_BYTES);
  for (const { line } of all) merged.push(line);
  return { lines: merged.lines, truncated: merged.dropped || tails.some((tail) => tail.dropped) };
}
