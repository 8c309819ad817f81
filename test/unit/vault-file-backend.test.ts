import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ZavhozError } from '../../daemon/core/errors.js';
import { ErrorCodes } from '../../daemon/protocol/errors.js';
import { FileBackend } from '../../daemon/vault/fileBackend.js';

const MASTER_KEY = 'correct horse battery staple 42';

async function refusal(work: () => Promise<unknown>, code: number): Promise<ZavhozError> {
  try {
    await work();
  } catch (error) {
    assert.ok(error instanceof ZavhozError, String(error));
    assert.equal(error.code, code, error.message);
    return error;
  }
  assert.fail('expected a refusal');
}

interface VaultJson {
  entries: Record<string, { nonce: string; data: string; tag: string }>;
  [key: string]: unknown;
}

describe('encrypted file vault', () => {
  let folder: string;
  let file: string;

  before(() => {
    folder = fs.mkdtempSync(path.join(os.tmpdir(), 'zavhoz-filevault-'));
    file = path.join(folder, 'vault.enc');
  });
  after(() => fs.rmSync(folder, { recursive: true, force: true }));

  test('values survive a reopen; the file is 0600 and holds no value in clear or base64', async () => {
    const backend = await FileBackend.open(file, MASTER_KEY);
    await backend.write('sec_aaaaaaaa', 'canary-file-value-0123456789');
    await backend.write('sec_bbbbbbbb', 'second\nmulti-line value');
    assert.equal(await backend.remove('sec_bbbbbbbb'), true);
    assert.equal(await backend.remove('sec_bbbbbbbb'), false);
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    const reopened = await FileBackend.open(file, MASTER_KEY);
    assert.equal(await reopened.read('sec_aaaaaaaa'), 'canary-file-value-0123456789');
    assert.equal(await reopened.read('sec_bbbbbbbb'), undefined);
    assert.deepEqual([...(await reopened.readMany(['sec_aaaaaaaa', 'sec_cccccccc'])).entries()], [['sec_aaaaaaaa', 'canary-file-value-0123456789']]);
    const text = fs.readFileSync(file, 'utf8');
    assert.ok(!text.includes('canary-file-value'));
    assert.ok(!text.includes(Buffer.from('canary-file-value-0123456789').toString('base64').slice(0, 20)));
  });

  test('the same value twice is sealed under different nonces', async () => {
    const backend = await FileBackend.open(file, MASTER_KEY);
    await backend.write('sec_dddddddd', 'same-value-twice');
    await backend.write('sec_eeeeeeee', 'same-value-twice');
    const json = JSON.parse(fs.readFileSync(file, 'utf8')) as VaultJson;
    assert.notEqual(json.entries.sec_dddddddd?.nonce, json.entries.sec_eeeeeeee?.nonce);
    assert.notEqual(json.entries.sec_dddddddd?.data, json.entries.sec_eeeeeeee?.data);
  });

  test('a wrong master key is refused with VaultKeyInvalid, a short one too', async () => {
    const wrong = await refusal(() => FileBackend.open(file, 'not the right key at all'), ErrorCodes.VaultKeyInvalid);
    assert.match(wrong.message, /ZAVHOZ_MASTER_KEY does not open the vault file/);
    const short = await refusal(() => FileBackend.open(path.join(folder, 'other.enc'), 'short'), ErrorCodes.VaultKeyInvalid);
    assert.match(short.message, /too short/);
  });

  test('a changed ciphertext, swapped entries, a dropped entry or garbage are detected as tampering', async () => {
    const original = fs.readFileSync(file, 'utf8');
    const variants: [string, (json: VaultJson) => void][] = [
      ['flipped byte', (json) => {
        const entry = json.entries.sec_aaaaaaaa;
        assert.ok(entry);
        const bytes = Buffer.from(entry.data, 'base64');
        bytes[0] = (bytes[0] ?? 0) ^ 1;
        entry.data = bytes.toString('base64');
      }],
      ['swapped entries', (json) => {
        const first = json.entries.sec_aaaaaaaa;
        const second = json.entries.sec_dddddddd;
        assert.ok(first && second);
        json.entries.sec_aaaaaaaa = second;
        json.entries.sec_dddddddd = first;
      }],
      ['dropped entry', (json) => {
        delete json.entries.sec_eeeeeeee;
      }],
    ];
    for (const [label, change] of variants) {
      const json = JSON.parse(original) as VaultJson;
      change(json);
      fs.writeFileSync(file, JSON.stringify(json));
      const error = await refusal(() => FileBackend.open(file, MASTER_KEY), ErrorCodes.VaultTampered);
      assert.match(error.message, /changed outside Zavhoz/, label);
    }
    fs.writeFileSync(file, original.slice(0, original.length / 2));
    await refusal(() => FileBackend.open(file, MASTER_KEY), ErrorCodes.VaultTampered);
    fs.writeFileSync(file, original);
    assert.equal(await (await FileBackend.open(file, MASTER_KEY)).read('sec_aaaaaaaa'), 'canary-file-value-0123456789');
  });
});
