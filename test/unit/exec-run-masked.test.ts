/**
 * `runMasked` end to end with a real child: megabytes of output written in writes of random sizes, read into one
 * reused buffer, masked and written on to a reader that keeps stopping (so writes queue and reads wait), reach it
 * exactly as the whole output masked at once would, on stdout and stderr; the same when the target keeps the chunks
 * it is given, and when the plain pipes are used instead of our own sockets.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { after, before, test } from 'node:test';
import { type MaskedSecret, maskText } from '../../daemon/exec/masker.js';
import { runMasked } from '../../daemon/exec/runChild.js';

const SECRETS: MaskedSecret[] = Array.from({ length: 5 }, (_, index) => ({ name: `SECRET_${index}`, value: crypto.randomBytes(18).toString('base64url') }));
const OUTPUT_BYTES = 6 * 1024 * 1024;

/**
 * Writes a file to its stdout and another to its stderr, each in writes of 1 byte to 300 kB (a seeded sequence),
 * the next write once the last is taken.
 */
const CHILD = `
const fs = require('node:fs');
let state = Number(process.argv[3]);
const next = () => { state = (Math.imul(state, 1103515245) + 12345) >>> 0; return state; };
for (const [file, stream] of [[process.argv[1], process.stdout], [process.argv[2], process.stderr]]) {
  const data = fs.readFileSync(file);
  let offset = 0;
  const write = () => {
    if (offset >= data.length) return;
    const size = next() % 4 === 0 ? 1 + (next() % 64) : 1 + (next() % 300000);
    stream.write(data.subarray(offset, (offset += size)), write);
  };
  write();
}
`;

let folder: string;
let files: { stdout: string; stderr: string };
let expected: { stdout: Buffer; stderr: Buffer };

/** Output like a command's: base64 lines, with the secrets in every form here and there, also across lines. */
function outputText(): Buffer {
  const parts: Buffer[] = [];
  let size = 0;
  for (let index = 0; size < OUTPUT_BYTES; index++) {
    const value = SECRETS[index % SECRETS.length]!.value;
    const forms = [value, Buffer.from(value).toString('base64'), encodeURIComponent(value), value.slice(0, 7)];
    const part = Buffer.from(`${crypto.randomBytes(1 + crypto.randomInt(40_000)).toString('base64').replace(/.{76}/g, '$&\n')} ${forms[index % forms.length]!} ü\n`);
    parts.push(part);
    size += part.length;
  }
  return Buffer.concat(parts);
}

before(() => {
  folder = fs.mkdtempSync(path.join(os.tmpdir(), 'zavhoz-run-masked-'));
  files = { stdout: path.join(folder, 'stdout.txt'), stderr: path.join(folder, 'stderr.txt') };
  const stdout = outputText();
  const stderr = outputText();
  fs.writeFileSync(files.stdout, stdout);
  fs.writeFileSync(files.stderr, stderr);
  const mask = (bytes: Buffer): Buffer => Buffer.from(maskText(bytes.toString('utf8'), SECRETS));
  expected = { stdout: mask(stdout), stderr: mask(stderr) };
  // The reference masks the whole text at once; a secret in it is a reason to fail, not a property of the check.
  assert.ok(SECRETS.every((secret) => !expected.stdout.includes(secret.value) && !expected.stderr.includes(secret.value)));
});

after(() => fs.rmSync(folder, { recursive: true, force: true }));

/** A connected socket whose reader stops after every chunk it gets and goes on a little later; resolves what it read. */
async function slowReader(): Promise<{ target: net.Socket; received: Promise<Buffer> }> {
  const socketPath = path.join(fs.mkdtempSync(path.join(folder, 's')), 'socket');
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  const target = net.connect(socketPath);
  const reader = await new Promise<net.Socket>((resolve) => server.once('connection', resolve));
  server.close();
  await new Promise((resolve) => (target.connecting ? target.once('connect', resolve) : resolve(undefined)));
  const received = new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let count = 0;
    reader.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      reader.pause();
      // Alternately on the next turn of the loop and after timers, so the writer meets both a full and a drained target.
      if (++count % 2 === 0) setImmediate(() => reader.resume());
      else setTimeout(() => reader.resume(), 1);
    });
    reader.once('end', () => resolve(Buffer.concat(chunks)));
    reader.once('error', reject);
  });
  return { target, received };
}

/** A stream that holds on to the very buffers it is given and takes its time with each. */
function keepingTarget(): { target: Writable; received: () => Buffer } {
  const chunks: Buffer[] = [];
  const target = new Writable({
    highWaterMark: 64 * 1024,
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk);
      setImmediate(callback);
    },
  });
  return { target, received: () => Buffer.concat(chunks) };
}

async function runChild(stdout: Writable, stderr: Writable, seed: number): Promise<void> {
  const outcome = await runMasked({
    command: process.execPath,
    args: ['-e', CHILD, files.stdout, files.stderr, String(seed)],
    env: process.env,
    secrets: SECRETS,
    mask: true,
    stdout,
    stderr,
    forwardInterrupt: false,
  });
  assert.deepEqual(outcome, { kind: 'exited', code: 0 });
}

test('output read into one reused buffer reaches a slow reader exactly as masked whole, on stdout and stderr', async () => {
  for (const seed of [1, 2]) {
    const stdout = await slowReader();
    const stderr = await slowReader();
    await runChild(stdout.target, stderr.target, seed);
    stdout.target.end();
    stderr.target.end();
    assert.ok((await stdout.received).equals(expected.stdout), `stdout, seed ${seed}`);
    assert.ok((await stderr.received).equals(expected.stderr), `stderr, seed ${seed}`);
  }
});

test('a target that keeps the buffers it is given gets copies, never the reused read buffer', async () => {
  const stdout = keepingTarget();
  const stderr = keepingTarget();
  await runChild(stdout.target, stderr.target, 3);
  assert.ok(stdout.received().equals(expected.stdout), 'stdout');
  assert.ok(stderr.received().equals(expected.stderr), 'stderr');
});

test('where no socket of our own can be made (a temporary folder too deep for one), the plain pipes are masked the same', async () => {
  const deep = path.join(folder, 'd'.repeat(60), 'e'.repeat(60));
  fs.mkdirSync(deep, { recursive: true });
  const previous = process.env.TMPDIR;
  process.env.TMPDIR = deep;
  try {
    const stdout = await slowReader();
    const stderr = keepingTarget();
    await runChild(stdout.target, stderr.target, 4);
    stdout.target.end();
    assert.ok((await stdout.received).equals(expected.stdout), 'stdout');
    assert.ok(stderr.received().equals(expected.stderr), 'stderr');
    // The socket folder would have been made in TMPDIR: none was left behind there.
    assert.deepEqual(fs.readdirSync(deep), []);
  } finally {
    if (previous === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = previous;
  }
});
