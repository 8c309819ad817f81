/**
 * An agent tool call is audited with its arguments (`agent/toolCalled`), each cut to a length in the agent's process
 * before the daemon masks values in it. A vault value that reads like words passes the secret guard; where the cut
 * falls inside it, the daemon's redactor no longer knows the piece, and the audit log kept the value's start.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { auditLines } from '../../daemon/agent/arguments.js';
import { Redactor } from '../../daemon/core/redactor.js';

test('an argument cut inside a value: no start of the value reaches the audit entry', () => {
  const value = 'correct-horse-battery-staple-leaf';
  const redactor = new Redactor();
  redactor.register(value);
  // The cut (200 characters) falls inside the value.
  for (const lead of [170, 180, 190]) {
    const script = `${'x'.repeat(lead - 'sh,-c,'.length)} curl -u api:${value} https://api.example.com/me`;
    // As the daemon's agent/toolCalled handler records each line.
    const [line = ''] = auditLines({ command: ['sh', '-c', script] }).map((text) => redactor.redact(text));
    assert.ok(line.startsWith('command=sh,-c,xxx'), 'the argument is still recorded');
    assert.ok(!line.includes(value.slice(0, 8)), `the audit entry keeps the start of the value: ${line}`);
  }
});
