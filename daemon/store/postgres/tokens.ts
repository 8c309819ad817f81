/** One lexical piece of an SQL statement. Joining the texts of all tokens gives the statement back. */
export interface Token {
  readonly kind: 'word' | 'number' | 'string' | 'identifier' | 'parameter' | 'symbol' | 'space';
  readonly text: string;
}

/** A statement the translator cannot carry over to PostgreSQL; the message says which construct and why. */
export class SqlTranslationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SqlTranslationError';
  }
}

const SPACE = /\s/;
const WORD_START = /[A-Za-z_]/;
const WORD_PART = /[A-Za-z0-9_$]/;
const DIGIT = /[0-9]/;

/**
 * Splits SQLite-dialect SQL into tokens, keeping string literals and quoted names whole so that nothing inside them
 * is ever rewritten. Comments become a space. SQLite's other identifier quotes (backticks, brackets) become
 * PostgreSQL's double quotes.
 */
export function tokenize(sql: string): Token[] {
  const tokens: Token[] = [];
  let index = 0;
  const endOfQuoted = (start: number, close: string): number => {
    let at = start + 1;
    for (;;) {
      const found = sql.indexOf(close, at);
      if (found < 0) throw new SqlTranslationError(`an unterminated ${close} quote in: ${sql.slice(start, start + 60)}`);
      // A doubled quote is an escaped one.
      if (sql[found + 1] === close && close !== ']') {
        at = found + 2;
        continue;
      }
      return found + 1;
    }
  };
  while (index < sql.length) {
    const char = sql.charAt(index);
    const next = sql.charAt(index + 1);
    let end = index + 1;
    let kind: Token['kind'];
    let text: string | undefined;
    if (SPACE.test(char)) {
      while (end < sql.length && SPACE.test(sql.charAt(end))) end++;
      kind = 'space';
    } else if (char === '-' && next === '-') {
      end = sql.indexOf('\n', index);
      if (end < 0) end = sql.length;
      kind = 'space';
      text = ' ';
    } else if (char === '/' && next === '*') {
      const close = sql.indexOf('*/', index + 2);
      end = close < 0 ? sql.length : close + 2;
      kind = 'space';
      text = ' ';
    } else if (char === "'") {
      end = endOfQuoted(index, "'");
      kind = 'string';
    } else if (char === '"' || char === '`' || char === '[') {
      end = endOfQuoted(index, char === '[' ? ']' : char);
      kind = 'identifier';
      const inner = sql.slice(index + 1, end - 1);
      text = `"${(char === '"' ? inner.replaceAll('""', '"') : inner).replaceAll('"', '""')}"`;
    } else if (char === '?') {
      while (end < sql.length && DIGIT.test(sql.charAt(end))) end++;
      if (end > index + 1) throw new SqlTranslationError(`numbered parameters (${sql.slice(index, end)}) are not supported: use ? in order`);
      kind = 'parameter';
    } else if (char === ':' || char === '@' || (char === '$' && WORD_START.test(next))) {
      throw new SqlTranslationError(`named parameters (${char}…) are not supported: use ? in order`);
    } else if (WORD_START.test(char)) {
      while (end < sql.length && WORD_PART.test(sql.charAt(end))) end++;
      kind = 'word';
    } else if (DIGIT.test(char)) {
      while (end < sql.length && /[0-9.eE]/.test(sql.charAt(end))) end++;
      kind = 'number';
    } else {
      kind = 'symbol';
    }
    tokens.push({ kind, text: text ?? sql.slice(index, end) });
    index = end;
  }
  return tokens;
}

/** The tokens that are not spaces, with their positions in the full list. */
export function meaningful(tokens: readonly Token[]): { token: Token; at: number }[] {
  const found: { token: Token; at: number }[] = [];
  tokens.forEach((token, at) => {
    if (token.kind !== 'space') found.push({ token, at });
  });
  return found;
}

/** True when `token` is the keyword `word` (SQL keywords are case-insensitive). */
export function isWord(token: Token | undefined, word: string): boolean {
  return token !== undefined && token.kind === 'word' && token.text.toUpperCase() === word;
}

/** Index of the `)` that closes the `(` at `open` (indices into `tokens`). */
export function closingParenthesis(tokens: readonly Token[], open: number): number {
  let depth = 0;
  for (let at = open; at < tokens.length; at++) {
    const text = tokens[at]?.kind === 'symbol' ? tokens[at]?.text : undefined;
    if (text === '(') depth++;
    else if (text === ')') {
      depth--;
      if (depth === 0) return at;
    }
  }
  throw new SqlTranslationError('unbalanced parentheses');
}

/** Splits tokens `from`..`to` (exclusive) at the commas outside parentheses. */
export function splitTopLevel(tokens: readonly Token[], from: number, to: number): Token[][] {
  const parts: Token[][] = [[]];
  let depth = 0;
  for (let at = from; at < to; at++) {
    const token = tokens[at];
    if (token === undefined) break;
    if (token.kind === 'symbol' && token.text === '(') depth++;
    if (token.kind === 'symbol' && token.text === ')') depth--;
    if (depth === 0 && token.kind === 'symbol' && token.text === ',') parts.push([]);
    else parts[parts.length - 1]?.push(token);
  }
  return parts;
}

/** The text of tokens, joined. */
export function textOf(tokens: readonly Token[]): string {
  return tokens.map((token) => token.text).join('');
}
