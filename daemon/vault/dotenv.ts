import { invalidInput } from '../core/errors.js';
import { SECRET_NAME_PATTERN } from '../protocol/secretFields.js';

/** One variable read from a `.env` file. */
export interface DotenvEntry {
  readonly name: string;
  readonly value: string;
  /** 1-based line where the variable starts, for error messages. */
  readonly line: number;
}

/**
 * Parses `.env` text the way `gh secret set -f` (godotenv) does: `#` comments and blank lines, an optional
 * `export ` prefix, `NAME=value` with spaces around `=` allowed, unquoted values trimmed and cut at ` #`,
 * single-quoted values taken literally, double-quoted values with `\n \r \t \" \\ \$` escapes, both quoted forms
 * spanning lines. CRLF and lone CR become LF. No `${VAR}` expansion: a value is stored as written. A later
 * definition of a name replaces an earlier one. Errors give the line, never the text of the line (it may be a
 * value).
 */
export function parseDotenv(content: string): DotenvEntry[] {
  const text = content.replace(/^\uFEFF/, '').replace(/\r\n?/g, '\n');
  const entries = new Map<string, DotenvEntry>();
  let position = 0;
  let line = 1;

  const fail = (at: number, message: string): never => {
    throw invalidInput(`.env line ${at}: ${message} Nothing was imported.`);
  };
  const peek = (): string | undefined => text[position];
  const advance = (): string => {
    const character = text[position++] ?? '';
    if (character === '\n') line++;
    return character;
  };
  const skipSpaces = (): void => {
    while (peek() === ' ' || peek() === '\t') advance();
  };
  const skipToLineEnd = (): void => {
    while (position < text.length && peek() !== '\n') advance();
  };

  while (position < text.length) {
    skipSpaces();
    const first = peek();
    if (first === undefined) break;
    if (first === '\n') {
      advance();
      continue;
    }
    if (first === '#') {
      skipToLineEnd();
      continue;
    }
    const start = line;
    if (text.startsWith('export', position) && /[ \t]/.test(text[position + 6] ?? '')) {
      position += 6;
      skipSpaces();
    }
    let name = '';
    while (position < text.length && !/[=\s]/.test(peek() ?? '')) name += advance();
    skipSpaces();
    if (peek() !== '=') fail(start, 'expected NAME=value.');
    advance();
    if (!SECRET_NAME_PATTERN.test(name) || name.length > 128) {
      fail(start, 'the name is not a valid environment variable name (A–Z, 0–9, _; not starting with a digit).');
    }
    skipSpaces();
    let value: string;
    const quote = peek();
    if (quote === '"' || quote === "'") {
      advance();
      value = '';
      let closed = false;
      while (position < text.length) {
        const character = advance();
        if (character === quote) {
          closed = true;
          break;
        }
        if (quote === '"' && character === '\\' && position < text.length) {
          const escaped = advance();
          const known: Record<string, string> = { n: '\n', r: '\r', t: '\t', '"': '"', '\\': '\\', $: '$' };
          value += known[escaped] ?? `\\${escaped}`;
          continue;
        }
        value += character;
      }
      if (!closed) fail(start, `the ${quote === '"' ? 'double' : 'single'} quote that starts ${name}'s value is never closed.`);
      skipSpaces();
      if (peek() === '#') skipToLineEnd();
      else if (position < text.length && peek() !== '\n') fail(line, `unexpected text after the closing quote of ${name}'s value.`);
    } else {
      let raw = '';
      while (position < text.length && peek() !== '\n') raw += advance();
      const comment = raw.search(/[ \t]#/);
      value = (comment >= 0 ? raw.slice(0, comment) : raw).trim();
    }
    entries.delete(name);
    entries.set(name, { name, value, line: start });
  }
  return [...entries.values()];
}
