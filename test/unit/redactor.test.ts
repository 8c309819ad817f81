import assert from 'node:assert/strict';
import { test } from 'node:test';
import { REDACTED, Redactor } from '../../daemon/core/redactor.js';

const KEY = ['-----BEGIN OPENSSH PRIVATE KEY-----', 'b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW', 'QyNTUxOQAAACDVvN7kQ1v8yJ7gR3a2pK9m8J2qS0xP4lW1c9z5vO3kNwAAAJgAAAAAAAAA', '-----END OPENSSH PRIVATE KEY-----'].join('\n');

test('masks a registered value in every common encoding', () => {
  const redactor = new Redactor();
  const value = 'tg:7f3k9x2m/Ab+c=';
  redactor.register(value);
  for (const form of [value, Buffer.from(value).toString('base64'), Buffer.from(value).toString('base64url'), encodeURIComponent(value)]) {
    const text = `before ${form} after`;
    assert.equal(redactor.redact(text), `before ${REDACTED} after`, form);
  }
});

test('masks a multi-line key whole, JSON-escaped, and line by line', () => {
  const redactor = new Redactor();
  redactor.register(KEY);
  assert.ok(!redactor.redact(`key: ${KEY}`).includes('b3BlbnNzaC1rZXkt'));
  assert.ok(!redactor.redact(JSON.stringify({ key: KEY })).includes('b3BlbnNzaC1rZXkt'));
  assert.ok(!redactor.redact(JSON.stringify({ key: KEY.replace(/\n/g, '\r\n') })).includes('QyNTUxOQAAACDV'));
  const oneLine = KEY.split('\n')[2]!;
  assert.equal(redactor.redact(`ansible: ${oneLine}`), `ansible: ${REDACTED}`);
  // The armour lines are not secret and stay readable.
  assert.equal(redactor.redact('-----BEGIN OPENSSH PRIVATE KEY-----'), '-----BEGIN OPENSSH PRIVATE KEY-----');
});

test('unregister stops masking only when no registration holds the value', () => {
  const redactor = new Redactor();
  redactor.register('shared-secret-1');
  redactor.register('shared-secret-1');
  redactor.unregister('shared-secret-1');
  assert.equal(redactor.redact('shared-secret-1'), REDACTED);
  redactor.unregister('shared-secret-1');
  assert.equal(redactor.redact('shared-secret-1'), 'shared-secret-1');
});

test('regular-expression characters in values are taken literally', () => {
  const redactor = new Redactor();
  redactor.register('a.b*c(d)[e]');
  assert.equal(redactor.redact('aXbbbc(d)[e] a.b*c(d)[e]'), `aXbbbc(d)[e] ${REDACTED}`);
});

test('overlapping values are masked as one stretch, leaving no character of either; touching ones each masked', () => {
  const redactor = new Redactor();
  redactor.register('alpha-1234-bravo');
  redactor.register('bravo-charlie-99');
  assert.equal(redactor.redact('[alpha-1234-bravo-charlie-99]'), `[${REDACTED}]`);
  assert.equal(redactor.redact('alpha-1234-bravobravo-charlie-99 and bravo-charlie-99'), `${REDACTED}${REDACTED} and ${REDACTED}`);
  // A value that overlaps itself, repeated: one stretch, whatever its length.
  const looping = new Redactor();
  looping.register('k9Tk9Tk9T');
  assert.equal(looping.redact(`run: ${'k9T'.repeat(1000)} done`), `run: ${REDACTED} done`);
  // One value inside another: the outer one's edges are masked too.
  const nested = new Redactor();
  nested.register('inner-value');
  nested.register('outer-inner-value-outer');
  assert.equal(nested.redact('a outer-inner-value-outer b inner-value c'), `a ${REDACTED} b ${REDACTED} c`);
});
