/**
 * `addToAgent` with a passphrase writes it to a 0600 file in a private helper folder for ssh-add's askpass helper.
 * If writing the askpass script fails after that file is written (a full disk, a quota), the folder, passphrase
 * included, must not stay behind.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { addToAgent } from '../../daemon/terminal/agent.js';

const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'zavhoz-askpass-'));
after(() => fs.rmSync(folder, { recursive: true, force: true }));

test('a failed write of the askpass script leaves no helper folder and no passphrase file', async (t) => {
  const scratch = path.join(folder, 'scratch');
  const passphrase = 'askpass-canary-passphrase';
  let passphraseWritten = false;
  const write = fs.writeFileSync;
  t.mock.method(fs, 'writeFileSync', (file: fs.PathOrFileDescriptor, data: string | NodeJS.ArrayBufferView, options?: fs.WriteFileOptions) => {
    if (String(file).endsWith(`${path.sep}askpass`)) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    write(file, data, options);
    if (data === passphrase) passphraseWritten = true;
  });
  await assert.rejects(
    addToAgent({ socket: path.join(folder, 'agent.sock'), lifetimeSeconds: 60, privateKey: 'not used', passphrase, scratch, redact: (text) => text }),
    /ENOSPC/,
  );
  assert.ok(passphraseWritten, 'the passphrase file was written before the failure');
  assert.deepEqual(fs.readdirSync(scratch), [], 'the helper folder with the passphrase was removed');
});
