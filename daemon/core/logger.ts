import fs from 'node:fs';
import { PRIVATE_FILE_MODE } from './files.js';
import type { Redactor } from './redactor.js';

/** Severity of a log line. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** Structured context carried on a line: request id, client, and whatever the caller adds. */
export type LogFields = Record<string, string | number | boolean | null | undefined | readonly string[]>;

/** Severity order, for "this level and above" filters. */
export const LOG_LEVEL_RANK: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

/** One line as written to the log file and sent to subscribers. */
export interface LogRecord {
  readonly time: string;
  readonly level: LogLevel;
  readonly message: string;
  readonly [field: string]: unknown;
}

/** Options for {@link Logger}. */
export interface LoggerOptions {
  readonly file: string;
  readonly redactor: Redactor;
  /** Rotate when the file passes this size. */
  readonly maxBytes?: number;
  /** How many rotated files to keep (`daemon.log.1` …). */
  readonly keep?: number;
  /** Lowest level written to the file (default `info`; `ZAVHOZ_LOG_LEVEL=debug` for per-request lines). */
  readonly fileLevel?: LogLevel;
}

/**
 * The daemon's log: one JSON object a line in a size-capped, rotated file. Every line passes the redactor after
 * serialisation, so a secret cannot slip through a field name, a nested value or an error message.
 */
export class Logger {
  private fd: number;
  /**
   * Set by close(): the fd's number is free again once closed, and the OS gives it to the next file or socket the
   * process opens, so a line written after close (a retry's warning that outlived its service) would land there.
   */
  private closed = false;
  private size: number;
  private readonly maxBytes: number;
  private readonly keep: number;
  private readonly listeners = new Set<(line: string, level: LogLevel) => void>();

  constructor(private readonly options: LoggerOptions) {
    this.maxBytes = options.maxBytes ?? 5 * 1024 * 1024;
    this.keep = options.keep ?? 3;
    this.fd = this.open();
    this.size = fs.fstatSync(this.fd).size;
  }

  /** Returns a logger that adds the given fields to every line. */
  child(fields: LogFields): ScopedLogger {
    return new ScopedLogger(this, fields);
  }

  /** Writes one line. */
  write(level: LogLevel, message: string, fields: LogFields = {}): void {
    const toFile = !this.closed && LOG_LEVEL_RANK[level] >= LOG_LEVEL_RANK[this.options.fileLevel ?? 'info'];
    if (!toFile && this.listeners.size === 0) return;
    const record = { time: new Date().toISOString(), level, message, ...fields };
    const line = this.options.redactor.redact(JSON.stringify(record)) + '\n';
    if (toFile) {
      const bytes = Buffer.from(line);
      if (this.size + bytes.length > this.maxBytes) this.rotate();
      try {
        fs.writeSync(this.fd, bytes);
        this.size += bytes.length;
      } catch {
        // A full disk must not take the daemon down; the line is lost, the work goes on.
      }
    }
    for (const listener of this.listeners) listener(line.trimEnd(), level);
  }

  /** Receives every redacted line as written (used to stream the log to clients). */
  subscribe(listener: (line: string, level: LogLevel) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Flushes and closes the file; lines written after this reach only the subscribers. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      fs.fsyncSync(this.fd);
      fs.closeSync(this.fd);
    } catch {
      // Already closed.
    }
  }

  private open(): number {
    const fd = fs.openSync(this.options.file, 'a', PRIVATE_FILE_MODE);
    fs.fchmodSync(fd, PRIVATE_FILE_MODE);
    return fd;
  }

  private rotate(): void {
    fs.closeSync(this.fd);
    const file = this.options.file;
    fs.rmSync(`${file}.${this.keep}`, { force: true });
    for (let index = this.keep - 1; index >= 1; index--) {
      if (fs.existsSync(`${file}.${index}`)) fs.renameSync(`${file}.${index}`, `${file}.${index + 1}`);
    }
    fs.renameSync(file, `${file}.1`);
    this.fd = this.open();
    this.size = 0;
  }
}

/** A logger bound to fixed fields, e.g. one request's id and client. */
export class ScopedLogger {
  constructor(
    private readonly logger: Logger,
    private readonly fields: LogFields,
  ) {}

  /** Adds more fields. */
  child(fields: LogFields): ScopedLogger {
    return new ScopedLogger(this.logger, { ...this.fields, ...fields });
  }

  debug(message: string, fields?: LogFields): void {
    this.logger.write('debug', message, { ...this.fields, ...fields });
  }
  info(message: string, fields?: LogFields): void {
    this.logger.write('info', message, { ...this.fields, ...fields });
  }
  warn(message: string, fields?: LogFields): void {
    this.logger.write('warn', message, { ...this.fields, ...fields });
  }
  error(message: string, fields?: LogFields): void {
    this.logger.write('error', message, { ...this.fields, ...fields });
  }
}
