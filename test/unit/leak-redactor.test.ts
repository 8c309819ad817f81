/**
 * Forms a value takes in what the daemon passes on (containers' logs, run logs, errors, notifications) that the
 * exec masker already masks: base64 inside a longer base64 text (an HTTP Basic header is base64 of `user:value`),
 * form encoding (spaces as `+`) and lower-case percent escapes. The daemon's redactor must mask them too.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { REDACTED, Redactor } from '../../daemon/core/redactor.js';
import { RedactedLines } from '../../daemon/operations/redactedLines.js';

const VALUE = 'canary-basic-S3cr3tPw9x';
const PASSPHRASE = 'correct horse/battery staple';

/** A container's log as `services/logs` reads it: chunks from the SSH channel turned into redacted lines. */
function containerLog(redactor: Redactor, text: string): string[] {
  const lines: string[] = [];
  const reader = new RedactedLines(redactor, (line) => lines.push(line));
  reader.write(Buffer.from(text));
  reader.end();
  return lines;
}

/** Every base64 run in `text`, decoded, at each of its byte alignments. */
function decodedRuns(text: string): string[] {
  return (text.match(/[A-Za-z0-9+/]{8,}={0,2}/g) ?? []).flatMap((run) => [0, 1, 2, 3].map((cut) => Buffer.from(run.slice(cut), 'base64').toString('latin1')));
}

test('an HTTP Basic header in a container log: the value inside base64 of user:value is masked whatever the user', () => {
  const redactor = new Redactor();
  redactor.register(VALUE);
  for (const user of ['api', 'apx1', 'admin']) {
    const header = Buffer.from(`${user}:${VALUE}`).toString('base64');
    const [line = ''] = containerLog(redactor, `web-1  | > Authorization: Basic ${header}\n`);
    assert.match(line, /Authorization: Basic /);
    // What is left may show a character or two at the value's edges, never a run of it.
    const leaked = decodedRuns(line).find((decoded) => decoded.includes(VALUE.slice(3, -3)));
    assert.equal(leaked, undefined, `user ${user}: the log line still decodes to the value: ${line}`);
  }
});

test('a form-encoded body and lower-case percent escapes in a log: the value is masked', () => {
  const redactor = new Redactor();
  redactor.register(PASSPHRASE);
  const formEncoded = new URLSearchParams({ user: 'ops', passphrase: PASSPHRASE }).toString();
  const lowerEscapes = encodeURIComponent(PASSPHRASE).replace(/%[0-9A-F]{2}/g, (escape) => escape.toLowerCase());
  const lines = containerLog(redactor, `POST /login body=${formEncoded}\nGET /unlock?p=${lowerEscapes}\n`);
  assert.deepEqual(lines, [`POST /login body=user=ops&passphrase=${REDACTED}`, `GET /unlock?p=${REDACTED}`]);
});

test('a value percent-encoded as other encoders write it (an HTML form, RFC 3986 strictly, Go): masked', () => {
  const password = 'Tr0ub4dor&3!(x) y';
  const redactor = new Redactor();
  redactor.register(password);
  const htmlForm = new URLSearchParams({ password }).toString();
  const strict = encodeURIComponent(password).replace(/[!'()*]/g, (character) => `%${character.charCodeAt(0).toString(16).toUpperCase()}`);
  const goQuery = strict.replace(/%20/g, '+');
  const lines = containerLog(redactor, `POST /session ${htmlForm}\nGET /check?p=${strict}\nGET /check?q=${goQuery}\n`);
  assert.deepEqual(lines, [`POST /session password=${REDACTED}`, `GET /check?p=${REDACTED}`, `GET /check?q=${REDACTED}`]);
});
