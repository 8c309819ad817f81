/**
 * `.env` files that hold references instead of values: `API_TOKEN=zavhoz:sec_ab12cd34`. `zavhoz secret import FILE
 * --replace` (and the editor's "Move .env values into Zavhoz") store the values and write references in their place;
 * `zavhoz exec --env-file FILE` gives a command the values back. Pure text work with no I/O, shared by the CLI, the
 * extension and the vault's import (vault/dotenv.ts reads with {@link readEnvFile} too), so it lives beside the
 * protocol, which all of them may import: there is one reader of `.env` syntax, and what a file is rewritten to is
 * what the import reads from it.
 */
import { SECRET_HANDLE_PATTERN } from './secretFields.js';

/** What a reference value starts with; the handle follows. */
export const ENV_REFERENCE_PREFIX = 'zavhoz:';

/** One variable of a `.env` text, with where its value is written (the quotes included). */
export interface EnvFileEntry {
  readonly name: string;
  /** The value as the vault's import reads it (quotes and escapes resolved). */
  readonly value: string;
  /** The handle when the value is a reference. */
  readonly reference?: string;
  /** 1-based line where the variable starts. */
  readonly line: number;
  /** Offsets (UTF-16, into the text as given) of the written value, quotes included. */
  readonly valueStart: number;
  readonly valueEnd: number;
}

/** A `.env` text that cannot be read: names the line, never its text (it may hold a value). */
export class EnvFileError extends Error {
  constructor(
    readonly line: number,
    detail: string,
  ) {
    super(`.env line ${line}: ${detail}`);
  }
}

/** The reference text for a handle. */
export function envReference(handle: string): string {
  return `${ENV_REFERENCE_PREFIX}${handle}`;
}

/** The handle a value refers to, or undefined when it is a plain value. */
export function referencedHandle(value: string): string | undefined {
  if (!value.startsWith(ENV_REFERENCE_PREFIX)) return undefined;
  const handle = value.slice(ENV_REFERENCE_PREFIX.length);
  return SECRET_HANDLE_PATTERN.test(handle) ? handle : undefined;
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const ESCAPES: Record<string, string> = { n: '\n', r: '\r', t: '\t', '"': '"', '\\': '\\', $: '$' };

/**
 * Every variable of a `.env` text, in order (a name defined twice appears twice), read the way `gh secret set -f`
 * (godotenv) reads it: `#` comments and blank lines, an optional `export ` prefix, `NAME=value` with spaces around `=`
 * allowed, unquoted values trimmed and cut at ` #`, single-quoted values taken literally, double-quoted values with
 * `\n \r \t \" \\ \$` escapes, both quoted forms spanning lines. A line ends at LF, CRLF or a lone CR, and inside
 * quotes each becomes LF. No `${VAR}` expansion: a value is read as written. Errors ({@link EnvFileError}) give the
 * line, never its text.
 */
export function readEnvFile(text: string): EnvFileEntry[] {
  const entries: EnvFileEntry[] = [];
  let position = text.startsWith('\uFEFF') ? 1 : 0;
  let line = 1;
  const at = (offset = 0): string | undefined => text[position + offset];
  /** How long the line end at the position is: 2 for CRLF, 1 for LF or a lone CR, 0 when there is none. */
  const lineEnd = (): number => (at() === '\n' ? 1 : at() === '\r' ? (at(1) === '\n' ? 2 : 1) : 0);
  const skipLineEnd = (): void => {
    position += lineEnd();
    line++;
  };
  const skipSpaces = (): void => {
    while (at() === ' ' || at() === '\t') position++;
  };
  const restOfLine = (): string => {
    const from = position;
    while (position < text.length && lineEnd() === 0) position++;
    return text.slice(from, position);
  };
  while (position < text.length) {
    skipSpaces();
    if (position >= text.length) break;
    if (lineEnd() > 0) {
      skipLineEnd();
      continue;
    }
    if (at() === '#') {
      restOfLine();
      continue;
    }
    const start = line;
    if (text.startsWith('export', position) && /[ \t]/.test(at(6) ?? '')) {
      position += 6;
      skipSpaces();
    }
    const nameStart = position;
    while (position < text.length && !/[=\s]/.test(at() ?? '')) position++;
    const name = text.slice(nameStart, position);
    skipSpaces();
    if (at() !== '=') throw new EnvFileError(start, 'expected NAME=value.');
    if (!NAME.test(name)) throw new EnvFileError(start, 'the name is not a valid environment variable name (letters, digits and _; not starting with a digit).');
    position++;
    skipSpaces();
    const valueStart = position;
    const quote = at();
    if (quote === '"' || quote === "'") {
      position++;
      let value = '';
      let closed = false;
      while (position < text.length) {
        if (lineEnd() > 0) {
          value += '\n';
          skipLineEnd();
          continue;
        }
        const character = text.charAt(position++);
        if (character === quote) {
          closed = true;
          break;
        }
        if (quote === '"' && character === '\\' && position < text.length) {
          if (lineEnd() > 0) {
            value += '\\\n';
            skipLineEnd();
          } else {
            const escaped = text.charAt(position++);
            value += ESCAPES[escaped] ?? `\\${escaped}`;
          }
          continue;
        }
        value += character;
      }
      if (!closed) throw new EnvFileError(start, `the ${quote === '"' ? 'double' : 'single'} quote that starts ${name}'s value is never closed.`);
      const valueEnd = position;
      skipSpaces();
      if (at() === '#') restOfLine();
      else if (position < text.length && lineEnd() === 0) throw new EnvFileError(line, `unexpected text after the closing quote of ${name}'s value.`);
      entries.push(entry(name, value, start, valueStart, valueEnd));
    } else {
      const raw = restOfLine();
      const comment = raw.search(/[ \t]#/);
      const value = (comment >= 0 ? raw.slice(0, comment) : raw).trim();
      entries.push(entry(name, value, start, valueStart, valueStart + value.length));
    }
  }
  return entries;
}

function entry(name: string, value: string, line: number, valueStart: number, valueEnd: number): EnvFileEntry {
  const reference = referencedHandle(value);
  return { name, value, line, valueStart, valueEnd, ...(reference === undefined ? {} : { reference }) };
}

/**
 * Values shorter than this stay as written (`PORT=80`, `DEBUG=1`): the vault refuses them, as no log could mask them,
 * and they are not secrets anyway.
 */
export const MIN_STORED_VALUE_LENGTH = 4;

/** The variables that hold a plain value worth storing: not a reference, not too short, not one of `keep`. */
export function plainSecretEntries(entries: readonly EnvFileEntry[], keep: ReadonlySet<string> = new Set()): EnvFileEntry[] {
  return entries.filter((candidate) => candidate.reference === undefined && candidate.value.length >= MIN_STORED_VALUE_LENGTH && !keep.has(candidate.name));
}

/**
 * The text for the vault's import: the file with the lines that are not stored (references, short values, `keep`)
 * left out, everything else as written, so the import reads each value exactly as it would have read the file.
 */
export function importableText(text: string, entries: readonly EnvFileEntry[], keep: ReadonlySet<string> = new Set()): string {
  const kept = new Set(plainSecretEntries(entries, keep));
  let output = '';
  let copiedUpTo = 0;
  for (const candidate of entries) {
    if (kept.has(candidate)) continue;
    // Blank out the whole line (its trailing comment too), so the name stays out of the import altogether.
    const lineStart = Math.max(text.lastIndexOf('\n', candidate.valueStart - 1), text.lastIndexOf('\r', candidate.valueStart - 1)) + 1;
    const lineEnd = endOfLine(text, candidate.valueEnd);
    output += text.slice(copiedUpTo, lineStart);
    copiedUpTo = lineEnd;
  }
  return output + text.slice(copiedUpTo);
}

/**
 * The same text with the value of every variable named in `handles` (that holds a plain value) replaced by its
 * reference; comments, order, blank lines, other variables and line endings stay byte for byte.
 */
export function withReferences(text: string, entries: readonly EnvFileEntry[], handles: Readonly<Record<string, string>>, keep: ReadonlySet<string> = new Set()): string {
  let output = '';
  let copiedUpTo = 0;
  for (const candidate of plainSecretEntries(entries, keep)) {
    const handle = handles[candidate.name];
    if (handle === undefined) continue;
    output += text.slice(copiedUpTo, candidate.valueStart) + envReference(handle);
    copiedUpTo = candidate.valueEnd;
  }
  return output + text.slice(copiedUpTo);
}

/** Where the line that `from` is on ends (at its LF, CRLF or lone CR), as the reader sees lines. */
function endOfLine(text: string, from: number): number {
  let end = from;
  while (end < text.length && text[end] !== '\n' && text[end] !== '\r') end++;
  return end;
}

/** Names that look like they hold a secret (for the editor's hint): tokens, keys, passwords, DSNs with credentials. */
const SECRET_NAME = /(SECRET|TOKEN|PASSWORD|PASSWD|PASS|PWD|API_?KEY|PRIVATE|CREDENTIAL|AUTH|_KEY$|^KEY$|DSN|DATABASE_URL)/i;

/** Whether a plain value looks like a secret: by its name, or a URL with a password in it. */
export function looksSecret(candidate: EnvFileEntry): boolean {
  if (candidate.reference !== undefined || candidate.value.length < MIN_STORED_VALUE_LENGTH) return false;
  return SECRET_NAME.test(candidate.name) || /^[a-z][a-z0-9+.-]*:\/\/[^/\s:@]+:[^/\s@]+@/i.test(candidate.value);
}
