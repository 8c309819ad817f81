import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ZavhozError } from '../../daemon/core/errors.js';
import { ErrorCodes } from '../../daemon/protocol/errors.js';
import { storeError } from '../../daemon/store/postgres/errors.js';
import { tokenize } from '../../daemon/store/postgres/tokens.js';
import { ROWID_COLUMN, schemaOf, SqlTranslationError, translateStatement, VERSION_TABLE } from '../../daemon/store/postgres/translate.js';

/** A schema like the daemon's: a rowid-alias key, a text key, a composite key, nullable and NOT NULL columns. */
const schema = schemaOf([
  'CREATE TABLE servers (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL UNIQUE, note TEXT, created INTEGER NOT NULL)',
  'CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL)',
  'CREATE TABLE allocations (server TEXT NOT NULL, port INTEGER NOT NULL, project TEXT, PRIMARY KEY (server, port))',
  'CREATE TABLE marks ("order" TEXT PRIMARY KEY, "user" TEXT)',
  'ALTER TABLE servers ADD COLUMN region TEXT',
]);

/** The statement in PostgreSQL's dialect, spaces folded so that tests read the clauses, not the layout. */
function pg(sql: string): string {
  return translateStatement(sql, schema).text.replace(/\s+/g, ' ').trim();
}

/** Asserts that `sql` is refused with a translation error whose message matches `names`. */
function refused(sql: string, names: RegExp): void {
  assert.throws(() => translateStatement(sql, schema), (error: unknown) => {
    assert.ok(error instanceof SqlTranslationError, `a SqlTranslationError, got ${String(error)}`);
    assert.match(error.message, names);
    return true;
  });
}

describe('team store: SQLite → PostgreSQL statement translation', () => {
  test('? placeholders become $1, $2, … in order, and the count is reported', () => {
    const translated = translateStatement('SELECT * FROM servers WHERE name = ? AND created > ? LIMIT ?', schema);
    assert.equal(translated.text, 'SELECT * FROM servers WHERE name = $1 AND created > $2 LIMIT $3');
    assert.equal(translated.parameterCount, 3);
    assert.equal(translateStatement('SELECT 1', schema).parameterCount, 0);
  });

  test('numbered and named parameters are refused, naming the construct', () => {
    refused('SELECT * FROM servers WHERE id = ?1', /numbered parameters \(\?1\)/);
    refused('SELECT * FROM servers WHERE id = :id', /named parameters/);
    refused('SELECT * FROM servers WHERE id = @id', /named parameters/);
    refused('SELECT * FROM servers WHERE id = $id', /named parameters/);
  });

  test('strings and quoted names are left alone: a ? or a keyword inside them is not rewritten', () => {
    assert.equal(pg("SELECT * FROM servers WHERE note = 'what? it''s -- not a comment /* nor this */' AND name = ?"),
      "SELECT * FROM servers WHERE note = 'what? it''s -- not a comment /* nor this */' AND name = $1");
    assert.equal(pg("SELECT 'INSERT OR IGNORE LIKE MAX(a, b) :name @x' AS text"), "SELECT 'INSERT OR IGNORE LIKE MAX(a, b) :name @x' AS text");
    assert.equal(pg('SELECT "what?" FROM "like"'), 'SELECT "what?" FROM "like"');
  });

  test('SQLite\'s other identifier quotes become double quotes, with embedded quotes escaped', () => {
    assert.equal(pg('SELECT `a"b`, [c d] FROM servers'), 'SELECT "a""b", "c d" FROM servers');
  });

  test('comments are dropped, so a ? or a quote in them is neither a parameter nor a string', () => {
    const translated = translateStatement("SELECT name -- isn't it? \nFROM servers /* where id = ? */ WHERE id = ?", schema);
    assert.equal(translated.parameterCount, 1);
    assert.equal(translated.text.replace(/\s+/g, ' '), 'SELECT name FROM servers WHERE id = $1');
  });

  test('an unterminated string or quoted name is refused', () => {
    refused("SELECT 'abc", /unterminated ' quote/);
    refused('SELECT "abc', /unterminated " quote/);
  });

  test('a closing ; is dropped (appended clauses go before it); two statements in one text are refused', () => {
    assert.equal(pg('INSERT OR IGNORE INTO settings (key, value) VALUES (?, ?);'), 'INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT DO NOTHING');
    assert.equal(pg('PRAGMA user_version; -- read it'), `SELECT version AS user_version FROM ${VERSION_TABLE} WHERE id = 1`);
    refused('DELETE FROM servers; DELETE FROM settings', /several statements/);
  });

  test('INSERT OR IGNORE becomes ON CONFLICT DO NOTHING; INSERT OR ABORT a plain INSERT', () => {
    assert.equal(pg('INSERT OR IGNORE INTO allocations (server, port, project) VALUES (?, ?, ?)'),
      'INSERT INTO allocations (server, port, project) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING');
    assert.equal(pg('insert or abort into settings (key, value) values (?, ?)'), 'INSERT into settings (key, value) values ($1, $2)');
  });

  test('INSERT OR REPLACE and REPLACE INTO become an upsert on the primary key, setting the other named columns', () => {
    assert.equal(pg('INSERT OR REPLACE INTO settings (key, value) VALUES (?, ?)'),
      'INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT ("key") DO UPDATE SET "value" = EXCLUDED."value"');
    assert.equal(pg('REPLACE INTO allocations (server, port, project) VALUES (?, ?, ?)'),
      'INSERT INTO allocations (server, port, project) VALUES ($1, $2, $3) ON CONFLICT ("server", "port") DO UPDATE SET "project" = EXCLUDED."project"');
    // Only key columns named: nothing to update.
    assert.equal(pg('INSERT OR REPLACE INTO allocations (server, port) VALUES (?, ?)'), 'INSERT INTO allocations (server, port) VALUES ($1, $2) ON CONFLICT ("server", "port") DO NOTHING');
  });

  test('an upsert on columns named like keywords keeps them names', () => {
    assert.equal(pg('INSERT OR REPLACE INTO marks ("order", "user") VALUES (?, ?)'),
      'INSERT INTO marks ("order", "user") VALUES ($1, $2) ON CONFLICT ("order") DO UPDATE SET "user" = EXCLUDED."user"');
  });

  test('INSERT OR REPLACE that cannot become an upsert is refused, naming the table and the reason', () => {
    refused('INSERT OR REPLACE INTO unknown_table (a) VALUES (?)', /INSERT OR REPLACE INTO unknown_table: the table's primary key is unknown/);
    refused('INSERT OR REPLACE INTO settings VALUES (?, ?)', /INSERT OR REPLACE INTO settings needs a column list/);
    refused('INSERT OR REPLACE INTO settings (key, value) VALUES (?, ?) RETURNING key', /cannot be combined with ON CONFLICT or RETURNING/);
    refused('INSERT OR FAIL INTO settings (key, value) VALUES (?, ?)', /INSERT OR FAIL has no PostgreSQL equivalent/);
    refused('INSERT OR ROLLBACK INTO settings (key, value) VALUES (?, ?)', /INSERT OR ROLLBACK/);
    refused('UPDATE OR IGNORE settings SET value = ?', /UPDATE OR IGNORE has no PostgreSQL equivalent/);
    refused('WITH x AS (SELECT 1) INSERT OR IGNORE INTO settings (key, value) SELECT ?, ? FROM x', /INSERT OR … is translated only at the start of a statement/);
  });

  test('MAX/MIN with two or more arguments become GREATEST/LEAST; the aggregates stay', () => {
    assert.equal(pg('SELECT MAX(created, ?), min(port, 8000, ?) FROM servers'), 'SELECT GREATEST(created, $1), LEAST(port, 8000, $2) FROM servers');
    assert.equal(pg('SELECT MAX(port), MIN(COALESCE(port, 1)) FROM allocations'), 'SELECT MAX(port), MIN(COALESCE(port, 1)) FROM allocations');
    assert.equal(pg('SELECT MAX(MAX(a, b), c) FROM t'), 'SELECT GREATEST(GREATEST(a, b), c) FROM t');
  });

  test('IFNULL and last_insert_rowid() get their PostgreSQL names', () => {
    assert.equal(pg('SELECT IFNULL(note, ?), last_insert_rowid() FROM servers'), 'SELECT COALESCE(note, $1), lastval() FROM servers');
  });

  test('blob literals become bytea; a malformed one is refused', () => {
    assert.equal(pg("SELECT X'00ff'"), "SELECT decode('00ff', 'hex')");
    refused("SELECT x'0f0'", /blob literal X'0f0'/);
  });

  test('PRAGMA user_version reads and writes the version table; other PRAGMAs are refused by name', () => {
    assert.equal(pg('PRAGMA user_version'), `SELECT version AS user_version FROM ${VERSION_TABLE} WHERE id = 1`);
    assert.equal(pg('PRAGMA user_version = 14'), `UPDATE ${VERSION_TABLE} SET version = 14 WHERE id = 1`);
    refused('PRAGMA foreign_keys = ON', /PRAGMA foreign_keys has no PostgreSQL equivalent/);
    refused('PRAGMA user_version = ?', /PRAGMA user_version takes one whole number/);
  });

  test('DDL: column types, the INTEGER PRIMARY KEY as an identity, and the explicit rowid for other tables', () => {
    assert.equal(pg('CREATE TABLE t (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, size REAL, data BLOB, n INT)'),
      'CREATE TABLE t (id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY , name TEXT COLLATE "C" NOT NULL, size DOUBLE PRECISION, data BYTEA, n BIGINT)');
    assert.equal(pg('CREATE TABLE IF NOT EXISTS k (key TEXT PRIMARY KEY, at INTEGER NOT NULL)'),
      `CREATE TABLE IF NOT EXISTS k (key TEXT COLLATE "C" PRIMARY KEY, at BIGINT NOT NULL, ${ROWID_COLUMN} BIGINT GENERATED ALWAYS AS IDENTITY)`);
    assert.equal(pg('ALTER TABLE servers ADD COLUMN region TEXT'), 'ALTER TABLE servers ADD COLUMN region TEXT COLLATE "C"');
    refused('CREATE TABLE t (id TEXT PRIMARY KEY AUTOINCREMENT)', /AUTOINCREMENT is supported only as INTEGER PRIMARY KEY AUTOINCREMENT/);
  });

  test('DDL: index keys other than a plain column are put in parentheses, with SQLite\'s NULL placement', () => {
    assert.equal(pg('CREATE INDEX i ON servers (name, created - 1 DESC)'), 'CREATE INDEX i ON servers (name, (created - 1) DESC NULLS LAST)');
    assert.equal(pg('CREATE INDEX j ON servers (note)'), 'CREATE INDEX j ON servers (note NULLS FIRST)');
    refused('CREATE INDEX k', /CREATE INDEX without ON table/);
  });

  test('the schema facts: primary keys by table, and the columns that are never NULL', () => {
    assert.deepEqual(schema.keys.get('settings'), ['key']);
    assert.deepEqual(schema.keys.get('allocations'), ['server', 'port']);
    assert.deepEqual(schema.keys.get('servers'), ['id']);
    assert.deepEqual(schema.keys.get('marks'), ['order']);
    for (const column of ['id', 'name', 'created', 'key', 'server', 'port', ROWID_COLUMN]) assert.ok(schema.neverNull.has(column), column);
    for (const column of ['note', 'project', 'region', 'user']) assert.ok(!schema.neverNull.has(column), column);
  });

  test('LIKE becomes ILIKE, since SQLite\'s LIKE ignores case; GLOB is refused', () => {
    assert.equal(pg('SELECT name FROM servers WHERE name LIKE ? AND note NOT LIKE ? ESCAPE ?'), 'SELECT name FROM servers WHERE name ILIKE $1 AND note NOT ILIKE $2 ESCAPE $3');
    refused('SELECT name FROM servers WHERE name GLOB ?', /GLOB has no PostgreSQL equivalent/);
  });

  test('ORDER BY keys that may be NULL get SQLite\'s placement (first ascending, last descending); NOT NULL columns none', () => {
    assert.equal(pg('SELECT * FROM servers ORDER BY note, name DESC, region DESC LIMIT ?'),
      'SELECT * FROM servers ORDER BY note NULLS FIRST, name DESC, region DESC NULLS LAST LIMIT $1');
    assert.equal(pg('SELECT * FROM servers s ORDER BY s.created, COALESCE(note, name) ASC'), 'SELECT * FROM servers s ORDER BY s.created, COALESCE(note, name) ASC NULLS FIRST');
    assert.equal(pg('SELECT * FROM servers ORDER BY note NULLS LAST'), 'SELECT * FROM servers ORDER BY note NULLS LAST');
    assert.equal(pg('SELECT * FROM servers ORDER BY rowid'), 'SELECT * FROM servers ORDER BY rowid');
    assert.equal(pg('SELECT * FROM (SELECT * FROM servers ORDER BY note) AS x ORDER BY x.id'), 'SELECT * FROM (SELECT * FROM servers ORDER BY note NULLS FIRST) AS x ORDER BY x.id');
    assert.equal(pg('SELECT ROW_NUMBER() OVER (ORDER BY project DESC) FROM allocations'), 'SELECT ROW_NUMBER() OVER (ORDER BY project DESC NULLS LAST) FROM allocations');
  });

  test('planner hints are dropped, but a column named like one stays part of its expression', () => {
    assert.equal(pg('SELECT * FROM servers INDEXED BY servers_name WHERE name = ?'), 'SELECT * FROM servers WHERE name = $1');
    assert.equal(pg('SELECT * FROM servers AS s NOT INDEXED WHERE id = ?'), 'SELECT * FROM servers AS s WHERE id = $1');
    assert.equal(pg('SELECT * FROM t WHERE NOT indexed AND x = ?'), 'SELECT * FROM t WHERE NOT indexed AND x = $1');
  });

  test('names that look like keywords but are quoted or not followed by ( are not rewritten', () => {
    assert.equal(pg('SELECT max, "replace", "like" FROM t WHERE "max"(1) = 1'), 'SELECT max, "replace", "like" FROM t WHERE "max"(1) = 1');
    assert.equal(pg('UPDATE t SET "max" = ? WHERE "ifnull" = ?'), 'UPDATE t SET "max" = $1 WHERE "ifnull" = $2');
  });

  test('tokens joined give the statement back (comments apart): nothing is lost', () => {
    const sql = "SELECT a, 'b''c', \"d\" FROM t WHERE x = ? AND y >= 1.5e3";
    assert.equal(tokenize(sql).map((token) => token.text).join(''), sql);
  });
});

describe('team store: errors say what to do and quote no values', () => {
  const address = { host: 'db.example', port: 5432 };
  /** A driver error as pg throws it: a message, a SQLSTATE and the server's detail line. */
  function driverError(message: string, fields: Record<string, string>): Error {
    return Object.assign(new Error(message), fields);
  }

  test('a unique violation names the table and the key\'s columns, not the key\'s values', () => {
    const error = storeError(
      driverError('duplicate key value violates unique constraint "allocations_pkey"', { code: '23505', table: 'allocations', constraint: 'allocations_pkey', detail: 'Key (server, port)=(s3cret-host, 8001) already exists.' }),
      address,
    );
    assert.ok(error instanceof ZavhozError);
    assert.equal(error.code, ErrorCodes.Conflict);
    assert.match(error.message, /allocations already has that key \(server, port\), constraint allocations_pkey\. Nothing of this change was kept; try again\./);
    assert.doesNotMatch(error.message, /s3cret|8001/);
  });

  test('other constraint failures leave out the failing row', () => {
    const error = storeError(
      driverError('new row for relation "settings" violates check constraint "settings_value_check"', { code: '23514', detail: 'Failing row contains (token, s3cret).' }),
      address,
    );
    assert.match(error.message, /violates check constraint "settings_value_check"\. Nothing of it was kept\./);
    assert.doesNotMatch(error.message, /s3cret/);
  });

  test('a refused value is not quoted back, and the driver error is not attached as a cause', () => {
    const error = storeError(driverError('invalid input syntax for type bigint: "s3cret"', { code: '22P02', detail: 's3cret', where: 'unnamed portal parameter $1 = \'s3cret\'' }), address, 'UPDATE t SET n = ?');
    assert.equal(error.message, 'PostgreSQL refused a statement: invalid input syntax for type bigint [22P02] (statement: UPDATE t SET n = ?)');
    assert.equal(error.cause, undefined);
  });

  test('a cancelled slow statement and a lock held elsewhere say to try again', () => {
    const slow = storeError(driverError('canceling statement due to statement timeout', { code: '57014' }), address);
    assert.ok(slow instanceof ZavhozError);
    assert.equal(slow.code, ErrorCodes.Timeout);
    assert.match(slow.message, /db\.example:5432 took too long .* Try again/);
    const locked = storeError(driverError('could not obtain lock on row in relation "allocations"', { code: '55P03' }), address);
    assert.ok(locked instanceof ZavhozError);
    assert.equal(locked.code, ErrorCodes.Conflict);
  });

  test('a lost server is StoreUnavailable with what to do; a refused login names neither password nor URL', () => {
    const lost = storeError(driverError('connect ECONNREFUSED 127.0.0.1:5432', { code: 'ECONNREFUSED' }), address);
    assert.ok(lost instanceof ZavhozError);
    assert.equal(lost.code, ErrorCodes.StoreUnavailable);
    assert.match(lost.message, /db\.example:5432 cannot be reached \(ECONNREFUSED\)\. Zavhoz reconnects by itself/);
    const login = storeError(driverError('password authentication failed for user "team"', { code: '28P01' }), address);
    assert.match(login.message, /refused the login .* Check the user and the password \(vault handle or PGPASSFILE\)/);
    assert.doesNotMatch(login.message, /postgres(ql)?:\/\//);
  });

  test('an untranslatable statement is reported with the construct and the statement text, never its params', () => {
    const error = storeError(new SqlTranslationError('GLOB has no PostgreSQL equivalent: use LIKE'), address, 'SELECT * FROM t WHERE a GLOB ?');
    assert.equal(error.message, 'The team store cannot run a statement on PostgreSQL: GLOB has no PostgreSQL equivalent: use LIKE (statement: SELECT * FROM t WHERE a GLOB ?)');
  });
});
