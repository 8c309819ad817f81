import { closingParenthesis, isWord, meaningful, splitTopLevel, SqlTranslationError, textOf, type Token, tokenize } from './tokens.js';

export { SqlTranslationError } from './tokens.js';

/** What the translator needs to know of the schema, read from the migrations ({@link schemaOf}). */
export interface SchemaFacts {
  /** Each table's primary-key columns, by table name: what `INSERT OR REPLACE` conflicts on. */
  readonly keys: ReadonlyMap<string, readonly string[]>;
  /**
   * Names of the columns that are NOT NULL in every table that has them: ordering by them needs no NULL placement
   * (any other key gets SQLite's, which keeps lists in the same order on both stores).
   */
  readonly neverNull: ReadonlySet<string>;
}

/** A statement in PostgreSQL's dialect. */
export interface TranslatedStatement {
  readonly text: string;
  /** Number of `$n` parameters, which must match the params given. */
  readonly parameterCount: number;
}

/**
 * The table that holds what SQLite keeps in `PRAGMA user_version`: the number of the last migration applied.
 * One row (id 1), created under the migration lock.
 */
export const VERSION_TABLE = 'zavhoz_schema_version';

/**
 * SQLite's implicit `rowid` made explicit: every table without an `INTEGER PRIMARY KEY` (which is its rowid) gets
 * this identity column, so statements that order by `rowid` (insertion order) mean the same on PostgreSQL. Rows read
 * back leave it out, as SQLite's `SELECT *` does.
 */
export const ROWID_COLUMN = 'rowid';

const COLUMN_TYPES: Readonly<Record<string, string>> = {
  // INTEGER columns hold millisecond timestamps too: 64 bits, read back as JS numbers (types.ts).
  INTEGER: 'BIGINT',
  INT: 'BIGINT',
  REAL: 'DOUBLE PRECISION',
  BLOB: 'BYTEA',
  // Compared byte by byte, as SQLite's default BINARY collation does, whatever the server's locale.
  TEXT: 'TEXT COLLATE "C"',
};

/**
 * Translates one statement from SQLite's dialect, in which the daemon writes all its SQL, to PostgreSQL's:
 * `?` → `$n`; `INSERT OR IGNORE` → `ON CONFLICT DO NOTHING`; `INSERT OR REPLACE` → an upsert on the table's primary
 * key (from `keys`); scalar `MAX(a, b)`/`MIN(a, b)` → `GREATEST`/`LEAST`; `INDEXED BY` dropped; `last_insert_rowid()`
 * → `lastval()`; `PRAGMA user_version` → {@link VERSION_TABLE}; `LIKE` → `ILIKE` (SQLite's LIKE ignores case); ORDER BY and index keys
 * that may hold NULL get SQLite's NULL placement (first when ascending); in DDL, column types (TEXT in byte order),
 * `AUTOINCREMENT` keys, index expressions in parentheses, and the {@link ROWID_COLUMN}. Throws
 * {@link SqlTranslationError} for what has no faithful translation.
 */
export function translateStatement(sql: string, schema: SchemaFacts): TranslatedStatement {
  let tokens = oneStatement(tokenize(sql));
  const words = meaningful(tokens);
  const first = words[0]?.token.text.toUpperCase() ?? '';
  if (first === 'PRAGMA') return { text: translatePragma(words.map((entry) => entry.token)), parameterCount: 0 };
  if (first === 'CREATE' && words.some((entry, index) => index < 4 && isWord(entry.token, 'TABLE'))) tokens = translateCreateTable(tokens);
  else if (first === 'CREATE' && words.some((entry, index) => index < 3 && isWord(entry.token, 'INDEX'))) tokens = translateCreateIndex(tokens, schema);
  else if (first === 'ALTER') tokens = mapColumnTypes(tokens);
  else if (first === 'INSERT' || first === 'REPLACE') tokens = translateInsert(tokens, schema.keys);
  else if (words.some((entry, index) => isWord(entry.token, 'INSERT') && isWord(words[index + 1]?.token, 'OR'))) {
    // Only a statement that starts with it is rewritten; anywhere else it would reach PostgreSQL as a syntax error.
    throw new SqlTranslationError('INSERT OR … is translated only at the start of a statement (not after WITH)');
  }
  else if (first === 'UPDATE' && isWord(words[1]?.token, 'OR')) {
    throw new SqlTranslationError(`UPDATE OR ${words[2]?.token.text ?? ''} has no PostgreSQL equivalent`);
  }
  tokens = orderNullsAsSqlite(translateExpressions(tokens), schema);
  let parameterCount = 0;
  const text = tokens.map((token) => (token.kind === 'parameter' ? `$${++parameterCount}` : token.text)).join('');
  return { text, parameterCount };
}

/**
 * The tokens of one statement without its closing `;` (clauses the translator appends must come before it). Several
 * statements in one text are refused: PostgreSQL runs only one per call when it has parameters.
 */
function oneStatement(tokens: readonly Token[]): Token[] {
  let end = tokens.length;
  while (end > 0 && (tokens[end - 1]?.kind === 'space' || (tokens[end - 1]?.kind === 'symbol' && tokens[end - 1]?.text === ';'))) end--;
  const kept = tokens.slice(0, end);
  if (kept.some((token) => token.kind === 'symbol' && token.text === ';')) {
    throw new SqlTranslationError('several statements in one text (a ; before the end): run them one at a time');
  }
  return kept;
}

/**
 * Primary keys and nullable columns of the tables the statements create (`CREATE TABLE` column or table
 * constraints, `ALTER TABLE … ADD COLUMN`).
 */
export function schemaOf(statements: Iterable<string>): SchemaFacts {
  const keys = new Map<string, string[]>();
  const nullableByTable = new Map<string, Set<string>>();
  const seen = new Set<string>();
  for (const statement of statements) {
    const tokens = tokenize(statement);
    const words = meaningful(tokens);
    if (isWord(words[0]?.token, 'ALTER') && isWord(words[3]?.token, 'ADD')) {
      const table = words[2]?.token;
      const columnAt = isWord(words[4]?.token, 'COLUMN') ? 5 : 4;
      const column = words[columnAt]?.token;
      const definition = words.slice(columnAt).map((entry) => entry.token);
      if (column !== undefined) seen.add(unquote(column));
      if (table !== undefined && column !== undefined && !hasNotNull(definition)) {
        const set = nullableByTable.get(unquote(table)) ?? new Set<string>();
        set.add(unquote(column));
        nullableByTable.set(unquote(table), set);
      }
      continue;
    }
    if (!isWord(words[0]?.token, 'CREATE')) continue;
    const tableAt = words.findIndex((entry, index) => index < 4 && isWord(entry.token, 'TABLE'));
    if (tableAt < 0) continue;
    let nameAt = tableAt + 1;
    if (isWord(words[nameAt]?.token, 'IF')) nameAt += 3;
    const nameToken = words[nameAt]?.token;
    const open = words[nameAt + 1];
    if (nameToken === undefined || open?.token.text !== '(') continue;
    const name = unquote(nameToken);
    const close = closingParenthesis(tokens, open.at);
    const nullable = new Set<string>();
    for (const part of splitTopLevel(tokens, open.at + 1, close)) {
      const partWords = part.filter((token) => token.kind !== 'space');
      const primaryAt = partWords.findIndex((token, index) => isWord(token, 'PRIMARY') && isWord(partWords[index + 1], 'KEY'));
      const head = partWords[0];
      if (head === undefined) continue;
      const constraint = ['PRIMARY', 'UNIQUE', 'CHECK', 'FOREIGN', 'CONSTRAINT'].some((word) => isWord(head, word));
      if (!constraint) seen.add(unquote(head));
      if (primaryAt === 0) {
        keys.set(name, partWords.filter((token) => token.kind === 'word' || token.kind === 'identifier').slice(2).map(unquote));
      } else if (primaryAt > 0) {
        keys.set(name, [unquote(head)]);
      } else if (!constraint && !hasNotNull(partWords)) {
        nullable.add(unquote(head));
      }
    }
    for (const key of keys.get(name) ?? []) nullable.delete(key);
    nullableByTable.set(name, nullable);
  }
  const neverNull = new Set(seen);
  for (const columns of nullableByTable.values()) for (const column of columns) neverNull.delete(column);
  neverNull.add(ROWID_COLUMN);
  return { keys, neverNull };
}

function hasNotNull(tokens: readonly Token[]): boolean {
  return tokens.some((token, index) => isWord(token, 'NOT') && isWord(tokens[index + 1], 'NULL'));
}

function unquote(token: Token): string {
  return token.kind === 'identifier' ? token.text.slice(1, -1).replaceAll('""', '"') : token.text.toLowerCase();
}

/** A column name as a PostgreSQL quoted identifier (names are folded to lower case by {@link unquote} already). */
function quoted(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

function translatePragma(words: readonly Token[]): string {
  const name = words[1]?.text.toLowerCase();
  if (name !== 'user_version') throw new SqlTranslationError(`PRAGMA ${name ?? ''} has no PostgreSQL equivalent`);
  if (words.length === 2) return `SELECT version AS user_version FROM ${VERSION_TABLE} WHERE id = 1`;
  const value = words[3];
  if (words[2]?.text !== '=' || value?.kind !== 'number' || words.length !== 4) {
    throw new SqlTranslationError('PRAGMA user_version takes one whole number');
  }
  return `UPDATE ${VERSION_TABLE} SET version = ${value.text} WHERE id = 1`;
}

/**
 * Column types; `INTEGER PRIMARY KEY [AUTOINCREMENT]`, SQLite's alias of the rowid, becomes an identity key; a table
 * without one gets the explicit {@link ROWID_COLUMN}.
 */
function translateCreateTable(tokens: Token[]): Token[] {
  const words = meaningful(tokens);
  const out = [...tokens];
  let hasRowidAlias = false;
  for (const [index, entry] of words.entries()) {
    if (!isWord(entry.token, 'INTEGER') || !isWord(words[index + 1]?.token, 'PRIMARY') || !isWord(words[index + 2]?.token, 'KEY')) continue;
    hasRowidAlias = true;
    // Ids are never reused, as with SQLite's AUTOINCREMENT (and as a rowid alias nearly always behaves).
    out[entry.at] = { kind: 'word', text: 'BIGINT GENERATED BY DEFAULT AS IDENTITY' };
    const after = words[index + 3];
    if (isWord(after?.token, 'AUTOINCREMENT')) out[after?.at ?? 0] = { kind: 'space', text: '' };
  }
  if (words.some((entry) => isWord(entry.token, 'AUTOINCREMENT')) && !hasRowidAlias) {
    throw new SqlTranslationError('AUTOINCREMENT is supported only as INTEGER PRIMARY KEY AUTOINCREMENT');
  }
  const mapped = mapColumnTypes(out);
  if (hasRowidAlias) return mapped;
  const open = meaningful(mapped).find((entry) => entry.token.text === '(');
  if (open === undefined) return mapped;
  const close = closingParenthesis(mapped, open.at);
  const columns = splitTopLevel(mapped, open.at + 1, close).map((part) => part.find((token) => token.kind !== 'space'));
  if (columns.some((token) => token !== undefined && unquote(token) === ROWID_COLUMN)) return mapped;
  return [...mapped.slice(0, close), { kind: 'symbol', text: `, ${ROWID_COLUMN} BIGINT GENERATED ALWAYS AS IDENTITY` }, ...mapped.slice(close)];
}

/** SQLite's type names to PostgreSQL's, in CREATE TABLE and ALTER TABLE … ADD COLUMN. */
function mapColumnTypes(tokens: readonly Token[]): Token[] {
  return tokens.map((token) => {
    const mapped = token.kind === 'word' ? COLUMN_TYPES[token.text.toUpperCase()] : undefined;
    return mapped === undefined ? token : { kind: 'word', text: mapped };
  });
}

/** Index keys other than a plain column need parentheses on PostgreSQL (`(a - b) DESC`). */
function translateCreateIndex(tokens: Token[], schema: SchemaFacts): Token[] {
  const words = meaningful(tokens);
  const onAt = words.findIndex((entry) => isWord(entry.token, 'ON'));
  const open = words[onAt + 2];
  if (onAt < 0 || open?.token.text !== '(') throw new SqlTranslationError('CREATE INDEX without ON table (columns)');
  const close = closingParenthesis(tokens, open.at);
  const keysText = splitTopLevel(tokens, open.at + 1, close).map((part) => {
    const partWords = part.filter((token) => token.kind !== 'space');
    let end = partWords.length;
    const last = partWords[end - 1];
    if (isWord(last, 'ASC') || isWord(last, 'DESC')) end--;
    const expression = partWords.slice(0, end);
    const order = end < partWords.length ? ` ${partWords[end]?.text ?? ''}` : '';
    const plain = expression.length === 1 && (expression[0]?.kind === 'word' || expression[0]?.kind === 'identifier');
    const expressionText = textOf(translateExpressions(part.slice(0, part.lastIndexOf(partWords[end - 1] as Token) + 1))).trim();
    // The same NULL placement as the ORDER BY clauses get, so an index still serves them.
    const nulls = nullsPlacement(expression, isWord(last, 'DESC'), schema);
    return plain ? `${expressionText}${order}${nulls}` : `(${expressionText})${order}${nulls}`;
  });
  return [...tokens.slice(0, open.at + 1), { kind: 'symbol', text: keysText.join(', ') }, ...tokens.slice(close)];
}

/** `INSERT OR IGNORE` / `INSERT OR REPLACE` / `REPLACE INTO`. */
function translateInsert(tokens: Token[], keys: SchemaFacts['keys']): Token[] {
  const words = meaningful(tokens);
  let mode: string | undefined;
  let removeUpTo: number;
  if (isWord(words[0]?.token, 'REPLACE')) {
    mode = 'REPLACE';
    removeUpTo = 0;
  } else if (isWord(words[1]?.token, 'OR')) {
    mode = words[2]?.token.text.toUpperCase();
    removeUpTo = 2;
  } else {
    return tokens;
  }
  if (mode !== 'IGNORE' && mode !== 'REPLACE' && mode !== 'ABORT') {
    throw new SqlTranslationError(`INSERT OR ${mode ?? ''} has no PostgreSQL equivalent`);
  }
  if (words.some((entry) => isWord(entry.token, 'CONFLICT') || isWord(entry.token, 'RETURNING'))) {
    throw new SqlTranslationError(`INSERT OR ${mode} cannot be combined with ON CONFLICT or RETURNING`);
  }
  // `REPLACE INTO t` keeps its own INTO: only the first word changes.
  const head: Token[] = [{ kind: 'word', text: 'INSERT' }];
  const rest = tokens.slice((words[removeUpTo]?.at ?? 0) + 1);
  if (mode === 'ABORT') return [...head, ...rest];
  if (mode === 'IGNORE') return [...head, ...rest, { kind: 'symbol', text: ' ON CONFLICT DO NOTHING' }];
  // REPLACE: an upsert on the primary key, setting every other column the statement names.
  const restWords = meaningful(rest);
  const intoAt = restWords.findIndex((entry) => isWord(entry.token, 'INTO'));
  const tableToken = restWords[intoAt + 1]?.token;
  const open = restWords[intoAt + 2];
  const table = tableToken === undefined ? undefined : unquote(tableToken);
  const key = table === undefined ? undefined : keys.get(table);
  if (table === undefined || key === undefined || key.length === 0) {
    throw new SqlTranslationError(`INSERT OR REPLACE INTO ${table ?? '?'}: the table's primary key is unknown, so there is no upsert to translate it to`);
  }
  if (open?.token.text !== '(') throw new SqlTranslationError(`INSERT OR REPLACE INTO ${table} needs a column list to become an upsert`);
  const columns = splitTopLevel(rest, open.at + 1, closingParenthesis(rest, open.at)).map((part) => {
    const name = part.find((token) => token.kind !== 'space');
    if (name === undefined) throw new SqlTranslationError(`INSERT OR REPLACE INTO ${table}: an empty column in its list`);
    return unquote(name);
  });
  const others = columns.filter((column) => !key.includes(column));
  // Quoted, so that a column named like a keyword (quoted in the statement) stays a name.
  const action = others.length === 0 ? 'DO NOTHING' : `DO UPDATE SET ${others.map((column) => `${quoted(column)} = EXCLUDED.${quoted(column)}`).join(', ')}`;
  return [...head, ...rest, { kind: 'symbol', text: ` ON CONFLICT (${key.map(quoted).join(', ')}) ${action}` }];
}

const FUNCTION_NAMES: Readonly<Record<string, string>> = {
  IFNULL: 'COALESCE',
  LAST_INSERT_ROWID: 'lastval',
};

/** Keywords after which a word starts an expression, not a planner hint (`WHERE NOT indexed`). */
const EXPRESSION_WORDS = new Set(['WHERE', 'AND', 'OR', 'NOT', 'ON', 'WHEN', 'THEN', 'ELSE', 'CASE', 'SELECT', 'SET', 'IS', 'BY', 'HAVING', 'DISTINCT', 'ALL', 'RETURNING', 'IN', 'EXISTS', 'VALUES']);

/** Function names and clauses inside any statement. */
function translateExpressions(tokens: readonly Token[]): Token[] {
  const out = [...tokens];
  const words = meaningful(out);
  words.forEach((entry, index) => {
    const { token, at } = entry;
    if (token.kind !== 'word') return;
    const upper = token.text.toUpperCase();
    const next = words[index + 1];
    if (upper === 'X' && out[at + 1]?.kind === 'string') {
      // A blob literal X'00ff': on PostgreSQL X'…' is a bit string, so it becomes the same bytes as bytea.
      const hex = out[at + 1]?.text.slice(1, -1) ?? '';
      if (!/^(?:[0-9A-Fa-f]{2})*$/.test(hex)) throw new SqlTranslationError(`the blob literal X'${hex.slice(0, 20)}' is not an even number of hex digits`);
      out[at] = { kind: 'word', text: 'decode' };
      out[at + 1] = { kind: 'symbol', text: `('${hex}', 'hex')` };
      return;
    }
    const previous = words[index - 1]?.token;
    // SQLite's planner hints follow a table name or its alias; elsewhere `NOT indexed` is an expression on a column.
    const afterName = previous !== undefined && (previous.kind === 'identifier' || (previous.kind === 'word' && !EXPRESSION_WORDS.has(previous.text.toUpperCase())));
    if (afterName && ((upper === 'INDEXED' && isWord(next?.token, 'BY')) || (upper === 'NOT' && isWord(next?.token, 'INDEXED')))) {
      // SQLite's planner hints: PostgreSQL chooses indexes itself.
      const last = upper === 'INDEXED' ? words[index + 2] : next;
      for (let drop = at; drop <= (last?.at ?? at); drop++) out[drop] = { kind: 'space', text: '' };
      return;
    }
    if (upper === 'GLOB') throw new SqlTranslationError('GLOB has no PostgreSQL equivalent: use LIKE');
    if (upper === 'LIKE') {
      out[at] = { kind: 'word', text: 'ILIKE' };
      return;
    }
    if (next?.token.text !== '(') return;
    const renamed = FUNCTION_NAMES[upper];
    if (renamed !== undefined) {
      out[at] = { kind: 'word', text: renamed };
      return;
    }
    if (upper === 'MAX' || upper === 'MIN') {
      // With two or more arguments SQLite's MAX/MIN are scalar functions (PostgreSQL's GREATEST/LEAST skip nulls
      // where SQLite's answer null: the daemon never passes them one).
      const close = closingParenthesis(out, next.at);
      if (splitTopLevel(out, next.at + 1, close).length > 1) out[at] = { kind: 'word', text: upper === 'MAX' ? 'GREATEST' : 'LEAST' };
    }
  });
  return out.filter((token) => !(token.kind === 'space' && token.text === ''));
}

/** Words that end an ORDER BY list at its own depth. */
const ORDER_ENDS = new Set(['LIMIT', 'OFFSET', 'UNION', 'EXCEPT', 'INTERSECT', 'WINDOW', 'FOR']);

/**
 * SQLite sorts NULL before every value (first when ascending, last when descending); PostgreSQL the other way round.
 * Each ORDER BY key that may be NULL gets SQLite's placement, so lists come out in the same order on both stores.
 */
function orderNullsAsSqlite(tokens: readonly Token[], schema: SchemaFacts): Token[] {
  const words = meaningful(tokens);
  const additions = new Map<number, string>();
  for (let index = 0; index < words.length; index++) {
    if (!isWord(words[index]?.token, 'ORDER') || !isWord(words[index + 1]?.token, 'BY')) continue;
    let depth = 0;
    let item: { token: Token; at: number }[] = [];
    const finish = (): void => {
      const last = item[item.length - 1];
      const itemTokens = item.map((entry) => entry.token);
      const descending = isWord(last?.token, 'DESC');
      const keyTokens = descending || isWord(last?.token, 'ASC') ? itemTokens.slice(0, -1) : itemTokens;
      if (last !== undefined && !itemTokens.some((token) => isWord(token, 'NULLS'))) {
        const nulls = nullsPlacement(keyTokens, descending, schema);
        if (nulls !== '') additions.set(last.at, nulls);
      }
      item = [];
    };
    let next = index + 2;
    for (; next < words.length; next++) {
      const entry = words[next];
      if (entry === undefined) break;
      const { token } = entry;
      if (token.text === ')' && depth === 0) break;
      if (depth === 0 && (token.text === ';' || (token.kind === 'word' && ORDER_ENDS.has(token.text.toUpperCase())))) break;
      if (token.text === '(') depth++;
      if (token.text === ')') depth--;
      if (depth === 0 && token.text === ',') finish();
      else item.push(entry);
    }
    finish();
    index = next - 1;
  }
  if (additions.size === 0) return [...tokens];
  return tokens.flatMap((token, at) => {
    const added = additions.get(at);
    return added === undefined ? [token] : [token, { kind: 'word', text: added }];
  });
}

/**
 * `NULLS FIRST`/`NULLS LAST` as SQLite would place NULLs for this key, or nothing for a plain column that is never
 * NULL (which keeps the primary keys' own indexes usable for ordering).
 */
function nullsPlacement(key: readonly Token[], descending: boolean, schema: SchemaFacts): string {
  const meaningfulKey = key.filter((token) => token.kind !== 'space');
  const column = meaningfulKey[meaningfulKey.length - 1];
  const plainColumn =
    column !== undefined &&
    (column.kind === 'word' || column.kind === 'identifier') &&
    (meaningfulKey.length === 1 || (meaningfulKey.length === 3 && meaningfulKey[1]?.text === '.'));
  if (plainColumn && schema.neverNull.has(unquote(column))) return '';
  return descending ? ' NULLS LAST' : ' NULLS FIRST';
}
