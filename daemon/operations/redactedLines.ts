import { StringDecoder } from 'node:string_decoder';
import type { TextRedactor } from '../core/redactor.js';

/** Longest line kept whole; the rest of a longer line is dropped (a log is not a place for megabyte lines). */
export const MAX_LOG_LINE_CHARS = 64 * 1024;

/**
 * What is cut off the kept part of an over-long line besides the rest of it: a secret that straddles the cut would
 * otherwise show its first characters, unmatched by the redactor. Longer than any one-line value (multi-line values
 * such as keys are also masked line by line).
 */
const CUT_MARGIN_CHARS = 8 * 1024;

/** Marks a line that was cut. */
export const CUT_MARK = ' [line cut: too long]';

/**
 * Turns a stream of byte chunks (an SSH channel's data) into whole, redacted lines. A secret can arrive split across
 * two chunks, and the redactor only finds whole values: so nothing is released before its line is complete, and a
 * line is redacted as a whole. An incomplete last line waits for the next chunk (or `end()`).
 */
export class RedactedLines {
  private readonly decoder = new StringDecoder('utf8');
  private pending = '';
  /** True while dropping the rest of an over-long line, up to its newline. */
  private dropping = false;

  constructor(
    private readonly redactor: TextRedactor,
    private readonly emit: (line: string) => void,
  ) {}

  /** Takes the next chunk; emits every line it completes. */
  write(chunk: Buffer | string): void {
    this.take(typeof chunk === 'string' ? chunk : this.decoder.write(chunk));
  }

  /** The stream ended: emits the last line even without its newline. */
  end(): void {
    this.take(this.decoder.end());
    if (this.pending.length > 0 && !this.dropping) this.release(this.pending);
    this.pending = '';
    this.dropping = false;
  }

  private take(text: string): void {
    let start = 0;
    for (let newline = text.indexOf('\n'); newline >= 0; newline = text.indexOf('\n', start)) {
      const piece = text.slice(start, newline);
      start = newline + 1;
      if (this.dropping) {
        this.dropping = false;
        this.pending = '';
        continue;
      }
      this.release(this.pending + piece);
      this.pending = '';
    }
    if (this.dropping) return;
    this.pending += text.slice(start);
    if (this.pending.length > MAX_LOG_LINE_CHARS) {
      // Redacted before the cut: a value wholly inside the kept part is masked; one that runs past it can only leave
      // its unmatched start in the last CUT_MARGIN_CHARS of the redacted text, which are dropped with the rest.
      const redacted = this.redactor.redact(this.pending.slice(0, MAX_LOG_LINE_CHARS));
      this.emit(redacted.slice(0, Math.max(0, redacted.length - CUT_MARGIN_CHARS)) + CUT_MARK);
      this.pending = '';
      this.dropping = true;
    }
  }

  private release(line: string): void {
    this.emit(this.redactor.redact(line.endsWith('\r') ? line.slice(0, -1) : line));
  }
}
