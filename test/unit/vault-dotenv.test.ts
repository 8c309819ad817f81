import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ZavhozError } from '../../daemon/core/errors.js';
import { ErrorCodes } from '../../daemon/protocol/errors.js';
import { parseDotenv } from '../../daemon/vault/dotenv.js';

function parsed(content: string): Record<string, string> {
  return Object.fromEntries(parseDotenv(content).map((entry) => [entry.name, entry.value]));
}

function refusal(content: string): ZavhozError {
  try {
    parseDotenv(content);
  } catch (error) {
    assert.ok(error instanceof ZavhozError);
    assert.equal(error.code, ErrorCodes.InvalidInput);
    return error;
  }
  assert.fail('expected the .env text to be refused');
}

describe('.env parsing (like gh secret set -f)', () => {
  test('comments, blank lines, export prefixes and spaces around = are handled', () => {
    assert.deepEqual(parsed('# a comment\n\n  export API_KEY=abc123\nPORT = 8080\n   # indented comment\n'), { API_KEY: 'abc123', PORT: '8080' });
  });

  test('unquoted values are trimmed and cut at an inline comment, but keep a # inside', () => {
    assert.deepEqual(parsed('A=value with spaces   # note\nB=pass#word\nC=\n'), { A: 'value with spaces', B: 'pass#word', C: '' });
  });

  test('single-quoted values are literal, double-quoted ones understand escapes', () => {
    assert.deepEqual(parsed(`S='it\\n $HOME "x"'\nD="tab\\there\\n\\"q\\" \\\\ \\$HOME"\n`), {
      S: 'it\\n $HOME "x"',
      D: 'tab\there\n"q" \\ $HOME',
    });
  });

  test('double-quoted values span lines (a PEM key pasted into a .env)', () => {
    const key = '-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIAbcdefghijklmnopqrstuvwxyz0123456789ab\n-----END PRIVATE KEY-----';
    assert.deepEqual(parsed(`KEY="${key}"\nNEXT=1234\n`), { KEY: key, NEXT: '1234' });
  });

  test('CRLF and a byte-order mark are normalised', () => {
    assert.deepEqual(parsed('\uFEFFA=one\r\nB="two\r\nlines"\r\n'), { A: 'one', B: 'two\nlines' });
  });

  test('a later definition replaces an earlier one', () => {
    assert.deepEqual(parseDotenv('A=first\nB=x123\nA=second\n').map((entry) => [entry.name, entry.value, entry.line]), [
      ['B', 'x123', 2],
      ['A', 'second', 3],
    ]);
  });

  test('a line without = is refused with its line number and without its text', () => {
    const error = refusal('A=fine\nsk_live_not_a_variable\n');
    assert.match(error.message, /line 2: expected NAME=value/);
    assert.doesNotMatch(error.message, /sk_live/);
  });

  test('a lowercase or digit-first name is refused (names are environment variable names)', () => {
    assert.match(refusal('database_url=postgres://x\n').message, /line 1: the name is not a valid/);
    assert.match(refusal('A=1\n\n1ABC=x\n').message, /line 3/);
  });

  test('an unterminated quote is refused, naming the line it starts on', () => {
    const error = refusal('A=ok\nB="never closed\nC=secret-after\n');
    assert.match(error.message, /line 2: the double quote that starts B's value is never closed/);
    assert.doesNotMatch(error.message, /secret-after|never closed\n/);
  });

  test('text after a closing quote is refused', () => {
    assert.match(refusal(`A='x' trailing\n`).message, /line 1: unexpected text after the closing quote/);
  });
});
