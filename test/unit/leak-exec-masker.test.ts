/**
 * `zavhoz exec`'s output masker and the percent-encodings encoders disagree on: a value with `!'()*~` or a space,
 * written by an HTML form (URLSearchParams, Java's URLEncoder), strictly per RFC 3986 (Python's quote) or by Go's
 * QueryEscape, is masked as the encodeURIComponent form is.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Masker, maskReplacement } from '../../daemon/exec/masker.js';

test('a command prints the value as an HTML form, RFC 3986 or Go encode it: masked', () => {
  const password = 'Tr0ub4dor&3!(x) y';
  const masker = new Masker([{ name: 'DB_PASSWORD', value: password }]);
  const strict = encodeURIComponent(password).replace(/[!'()*]/g, (character) => `%${character.charCodeAt(0).toString(16).toUpperCase()}`);
  const printed = [`POST /session ${new URLSearchParams({ password }).toString()}`, `GET /check?p=${strict}`, `GET /check?q=${strict.replace(/%20/g, '+')}`].join('\n');
  const output = Buffer.concat([masker.push(Buffer.from(`${printed}\n`)), masker.end()]).toString('utf8');
  const masked = maskReplacement('DB_PASSWORD');
  assert.equal(output, `POST /session password=${masked}\nGET /check?p=${masked}\nGET /check?q=${masked}\n`);
});
