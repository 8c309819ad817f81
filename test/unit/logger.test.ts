import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { Logger } from '../../daemon/core/logger.js';
import { Redactor } from '../../daemon/core/redactor.js';

test('the log is size-capped and rotated, keeps N files, and every line is redacted JSON', () => {
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'zavhoz-log-'));
  const file = path.join(folder, 'daemon.log');
  const redactor = new Redactor();
  redactor.register('hunter2-secret');
  const logger = new Logger({ file, redactor, maxBytes: 2_000, keep: 2 });
  for (let index = 0; index < 200; index++) logger.write('info', `line ${index} hunter2-secret`, { requestId: `r${index}` });
  logger.close();
  const files = fs.readdirSync(folder).sort();
  assert.deepEqual(files, ['daemon.log', 'daemon.log.1', 'daemon.log.2']);
  for (const name of files) {
    const full = path.join(folder, name);
    assert.ok(fs.statSync(full).size <= 2_000, name);
    assert.equal(fs.statSync(full).mode & 0o777, 0o600);
    for (const line of fs.readFileSync(full, 'utf8').trim().split('\n')) {
      const record = JSON.parse(line) as { message: string };
      assert.ok(!record.message.includes('hunter2-secret'));
    }
  }
  assert.match(fs.readFileSync(file, 'utf8'), /line 199 \[REDACTED\]/);
  fs.rmSync(folder, { recursive: true, force: true });
});

test('a line written after close goes nowhere, even when the closed file\'s descriptor number has been reused', () => {
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'zavhoz-log-'));
  try {
    const file = path.join(folder, 'daemon.log');
    const logger = new Logger({ file, redactor: new Redactor() });
    logger.write('info', 'before close');
    logger.close();
    // The OS hands out the lowest free number: the next file opened gets the log's old descriptor.
    const other = path.join(folder, 'other.txt');
    const otherFd = fs.openSync(other, 'w');
    try {
      logger.write('warn', 'after close');
      logger.close();
      fs.writeSync(otherFd, 'still open');
    } finally {
      fs.closeSync(otherFd);
    }
    assert.equal(fs.readFileSync(other, 'utf8'), 'still open', 'the other file got no log line and was not closed by the second close');
    assert.deepEqual(fs.readFileSync(file, 'utf8').trim().split('\n').map((line) => (JSON.parse(line) as { message: string }).message), ['before close']);
  } finally {
    fs.rmSync(folder, { recursive: true, force: true });
  }
});
