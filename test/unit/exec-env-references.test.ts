import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EnvFileError, envReference, importableText, looksSecret, plainSecretEntries, readEnvFile, referencedHandle, withReferences } from '../../daemon/protocol/envReferences.js';
import { parseDotenv } from '../../daemon/vault/dotenv.js';

const SAMPLE = [
  '# Shop settings',
  'export API_TOKEN=tok-1234567890 # from the dashboard',
  '',
  '  DB_PASSWORD = "p@ss \\"word\\"\\n2"  ',
  "SINGLE='literal $HOME'",
  'MULTI="line one',
  'line two"',
  'EMPTY=',
  'REF=zavhoz:sec_abcdefgh',
  'API_TOKEN=second-definition-wins',
  'TRAILING=value#not-a-comment',
].join('\n');

test('reads values exactly as the vault import does', () => {
  for (const text of [SAMPLE, SAMPLE.replace(/\n/g, '\r\n'), SAMPLE.replace(/\n/g, '\r'), `\uFEFF${SAMPLE}\n`]) {
    const ours = new Map(readEnvFile(text).map((entry) => [entry.name, entry.value]));
    const vault = new Map(parseDotenv(text).map((entry) => [entry.name, entry.value]));
    assert.deepEqual(ours, vault);
  }
});

test('references are told from values', () => {
  assert.equal(referencedHandle(envReference('sec_abcdefgh')), 'sec_abcdefgh');
  assert.equal(referencedHandle('zavhoz:not-a-handle'), undefined);
  assert.equal(referencedHandle('sec_abcdefgh'), undefined);
  const entries = readEnvFile(SAMPLE);
  assert.equal(entries.find((entry) => entry.name === 'REF')?.reference, 'sec_abcdefgh');
  assert.deepEqual(
    plainSecretEntries(entries).map((entry) => entry.name),
    ['API_TOKEN', 'DB_PASSWORD', 'SINGLE', 'MULTI', 'API_TOKEN', 'TRAILING'],
  );
});

test('the import text leaves out references and empty values, and reads the same otherwise', () => {
  const entries = readEnvFile(SAMPLE);
  const imported = parseDotenv(importableText(SAMPLE, entries));
  assert.deepEqual(
    imported.map((entry) => entry.name),
    ['DB_PASSWORD', 'SINGLE', 'MULTI', 'API_TOKEN', 'TRAILING'],
  );
  assert.equal(imported.find((entry) => entry.name === 'MULTI')?.value, 'line one\nline two');
});

test('values become references; comments, order, other lines and line endings stay byte for byte', () => {
  const handles = { API_TOKEN: 'sec_aaaaaaaa', DB_PASSWORD: 'sec_bbbbbbbb', SINGLE: 'sec_cccccccc', MULTI: 'sec_dddddddd', TRAILING: 'sec_eeeeeeee' };
  const expected = [
    '# Shop settings',
    'export API_TOKEN=zavhoz:sec_aaaaaaaa # from the dashboard',
    '',
    '  DB_PASSWORD = zavhoz:sec_bbbbbbbb  ',
    'SINGLE=zavhoz:sec_cccccccc',
    'MULTI=zavhoz:sec_dddddddd',
    'EMPTY=',
    'REF=zavhoz:sec_abcdefgh',
    'API_TOKEN=zavhoz:sec_aaaaaaaa',
    'TRAILING=zavhoz:sec_eeeeeeee',
  ].join('\n');
  // The single-quoted value holds no quote pair here; keep the sample's line for SINGLE as the vault reads it.
  const sample = SAMPLE.replace("SINGLE='literal $HOME'", "SINGLE='literal $HOME'");
  assert.equal(withReferences(sample, readEnvFile(sample), handles), expected);
  const crlf = sample.replace(/\n/g, '\r\n');
  assert.equal(withReferences(crlf, readEnvFile(crlf), handles), expected.replace(/\n/g, '\r\n'));
  const rewritten = readEnvFile(expected);
  assert.equal(plainSecretEntries(rewritten).length, 0);
  assert.equal(rewritten.find((entry) => entry.name === 'TRAILING')?.reference, 'sec_eeeeeeee');
});

test('a value looks secret by its name, or as a URL with a password', () => {
  const [token, port, url, reference] = readEnvFile('STRIPE_SECRET_KEY=sk_live_abc\nPORT=3000\nREDIS=redis://user:pw1234@host:6379\nAPI_KEY=zavhoz:sec_abcdefgh');
  assert.equal(looksSecret(token!), true);
  assert.equal(looksSecret(port!), false);
  assert.equal(looksSecret(url!), true);
  assert.equal(looksSecret(reference!), false);
});

test('one reader: a lone CR ends a line, inside quotes every line end reads as LF, and errors name the line only', () => {
  const values = (text: string): [string, string][] => readEnvFile(text).map((entry) => [entry.name, entry.value]);
  assert.deepEqual(values('A=one\rB="two\rthree\r\nfour"\r'), [
    ['A', 'one'],
    ['B', 'two\nthree\nfour'],
  ]);
  assert.deepEqual(readEnvFile('A=1\r\rB=2').map((entry) => entry.line), [1, 3]);
  assert.throws(() => readEnvFile('A=ok\rB="never closed\rC=secret-after'), (error: Error) => {
    assert.ok(error instanceof EnvFileError);
    assert.equal(error.message, ".env line 2: the double quote that starts B's value is never closed.");
    return true;
  });
  assert.throws(() => readEnvFile('A=1\n1ABC=x'), /line 2: the name is not a valid/);
  // Lower-case names are variables for `exec --env-file`; only the vault's import wants secret names.
  assert.deepEqual(values('lower_case=value'), [['lower_case', 'value']]);
  assert.throws(() => parseDotenv('lower_case=value'), /line 1: the name is not a valid environment variable name \(A–Z/);
});

test('a rewritten file with lone CR line ends keeps them, and the import reads the rest the same', () => {
  const text = 'API_TOKEN=tok-1234567890\rPORT=80\rREF=zavhoz:sec_abcdefgh\rPASSWORD="multi\rline"\r';
  const entries = readEnvFile(text);
  assert.equal(withReferences(text, entries, { API_TOKEN: 'sec_aaaaaaaa', PASSWORD: 'sec_bbbbbbbb' }), 'API_TOKEN=zavhoz:sec_aaaaaaaa\rPORT=80\rREF=zavhoz:sec_abcdefgh\rPASSWORD=zavhoz:sec_bbbbbbbb\r');
  assert.deepEqual(
    parseDotenv(importableText(text, entries)).map((entry) => [entry.name, entry.value]),
    [
      ['API_TOKEN', 'tok-1234567890'],
      ['PASSWORD', 'multi\nline'],
    ],
  );
});
