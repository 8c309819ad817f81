import type { Redactor } from '../core/redactor.js';
import type { NotificationDefinition } from '../protocol/define.js';
import { RunsLogLines } from '../protocol/runs.js';
import type { RunFolder } from './runFolder.js';

/** One page of a run's log (see `runs/log`). */
export interface LogPage {
  readonly lines: string[];
  /** The line to ask for next: after this page, or the end of the log when nothing more is there. */
  readonly next: number;
  /** Lines in the log now. */
  readonly total: number;
  /** Lines after this page did not fit in it. */
  readonly more: boolean;
}

/**
 * The run log's lines from `from`, at most `limit` of them and `maxBytes` as JSON strings (never fewer than one
 * line, so a page always moves on), so no answer grows with the log.
 */
export function readLogPage(folder: RunFolder, from: number, limit: number, maxBytes: number): LogPage {
  const { lines: rest, total } = folder.readLog(from);
  const lines: string[] = [];
  let bytes = 0;
  for (const line of rest) {
    if (lines.length >= limit) break;
    const size = Buffer.byteLength(JSON.stringify(line), 'utf8') + 1;
    if (lines.length > 0 && bytes + size > maxBytes) break;
    lines.push(line);
    bytes += size;
  }
  const more = lines.length < rest.length;
  return { lines, next: more ? from + lines.length : Math.max(total, from), total, more };
}

/** Sends a notification to one client connection; false when that connection is gone. */
export interface ConnectionNotifier {
  notifyConnection<P>(connectionId: number, definition: NotificationDefinition<P>, params: P): boolean;
}

/**
 * Who follows which run's log: `runs/log` with `follow` adds a connection, the run's end (or the connection
 * going away) removes it.
 */
export class LogFollowers {
  private readonly followers = new Map<string, Set<number>>();

  constructor(private readonly notifier: ConnectionNotifier) {}

  /** Starts sending this connection the run's new lines. */
  add(runId: string, connectionId: number): void {
    const set = this.followers.get(runId) ?? new Set<number>();
    set.add(connectionId);
    this.followers.set(runId, set);
  }

  /** Sends lines `from`… of a run to its followers; `done` tells them the run ended (and forgets them). */
  send(runId: string, from: number, lines: readonly string[], done: boolean): void {
    const set = this.followers.get(runId);
    if (!set) return;
    for (const connectionId of [...set]) {
      const delivered = this.notifier.notifyConnection(connectionId, RunsLogLines, { id: runId, from, lines: [...lines], done });
      if (!delivered) set.delete(connectionId);
    }
    if (done || set.size === 0) this.followers.delete(runId);
  }
}

/**
 * One run's log: every line is redacted, appended to run.log and sent to the run's followers, numbered so a
 * client that read the file and then follows can drop what it already has.
 */
export class RunLog {
  private count: number;

  constructor(
    private readonly runId: string,
    private readonly folder: RunFolder,
    private readonly redactor: Redactor,
    private readonly followers: LogFollowers,
  ) {
    this.count = folder.readLog(0).total;
  }

  /** Writes lines as they came from Ansible or the daemon; they are redacted here. */
  write(...raw: string[]): void {
    const lines = raw.flatMap((text) => text.split(/\r?\n/)).map((line) => this.redactor.redact(line.trimEnd()));
    this.folder.appendLog(lines);
    this.followers.send(this.runId, this.count, lines, false);
    this.count += lines.length;
  }

  /** A line from the daemon itself (as opposed to Ansible's output). */
  note(message: string): void {
    this.write(`[zavhoz] ${message}`);
  }

  /** Tells followers the run ended. */
  close(): void {
    this.followers.send(this.runId, this.count, [], true);
  }
}
