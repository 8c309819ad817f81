/**
 * The `time4vpsApiBase` setting receives the Time4VPS account's Basic auth header: only https, or http to a loopback
 * test stand-in, and never a login written into the URL.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ZavhozError } from '../../daemon/core/errors.js';
import { ErrorCodes } from '../../daemon/protocol/errors.js';
import { DEFAULT_SETTINGS, SettingSchemas, isLoopbackHost } from '../../daemon/protocol/settings.js';
import { SettingsService } from '../../daemon/settings/settings.js';
import { MIGRATIONS } from '../../daemon/store/schema.js';
import { Store } from '../../daemon/store/store.js';
import { RecordingNotifier } from './allocationSupport.js';
import { EmbeddedDatabase } from '../../daemon/store/embedded.js';

/** The first message the schema gives for `value`, or undefined if it is accepted. */
function refusal(value: unknown): string | undefined {
  const parsed = SettingSchemas.time4vpsApiBase.safeParse(value);
  return parsed.success ? undefined : (parsed.error.issues[0]?.message ?? 'refused without a message');
}

describe('settings: time4vpsApiBase', () => {
  test('https anywhere, and http on loopback (the test stand-ins), are accepted', () => {
    for (const value of [
      DEFAULT_SETTINGS.time4vpsApiBase,
      'https://billing.example.test/api',
      'https://203.0.113.7:8443/api',
      'http://127.0.0.1:41234/api',
      'http://127.8.9.10/api',
      'http://localhost:3000/api',
      'http://[::1]:3000/api',
    ]) {
      assert.equal(refusal(value), undefined, value);
    }
  });

  test('http to any other host is refused, saying to use https', () => {
    for (const value of ['http://billing.time4vps.com/api', 'http://10.0.0.5/api', 'http://localhost.example.test/api', 'http://128.0.0.1/api', 'http://[::2]/api']) {
      assert.match(refusal(value) ?? '', /http is allowed only for a loopback host .*unencrypted; use https:\/\//, value);
    }
    assert.match(refusal('http://billing.time4vps.com/api') ?? '', /use https:\/\/billing\.time4vps\.com\/api$/);
  });

  test('a login in the URL is refused, pointing at the vault settings instead', () => {
    for (const value of ['https://user:secret@billing.time4vps.com/api', 'https://user@billing.time4vps.com/api', 'http://user:secret@127.0.0.1:4000/api']) {
      assert.match(refusal(value) ?? '', /must not contain a login \(user:pass@\).*zavhoz secret set.*time4vpsLoginSecret/, value);
    }
  });

  test('what is not an http(s) URL is refused', () => {
    assert.match(refusal('billing.time4vps.com/api') ?? '', /not a URL; give the API base, e\.g\. https:\/\/billing\.time4vps\.com\/api/);
    assert.match(refusal('ftp://billing.time4vps.com/api') ?? '', /ftp: is not an API scheme; use an https:\/\/ URL/);
    assert.match(refusal('file:///etc/passwd') ?? '', /file: is not an API scheme/);
    assert.notEqual(refusal(`https://example.test/${'a'.repeat(600)}`), undefined);
  });

  test('loopback means 127.0.0.0/8, localhost and [::1], as URL spells them', () => {
    const hostOf = (value: string): string => new URL(value).hostname;
    assert.ok(isLoopbackHost(hostOf('http://127.1/')), 'short IPv4 forms are normalised by URL first');
    assert.ok(isLoopbackHost(hostOf('http://0x7f000001/')));
    assert.ok(isLoopbackHost(hostOf('http://LOCALHOST/')));
    assert.ok(!isLoopbackHost(hostOf('http://127.0.0.1.example.test/')));
    assert.ok(!isLoopbackHost(hostOf('http://[::ffff:10.0.0.1]/')));
  });

  describe('through the settings service', () => {
    let folder: string;
    let store: Store;
    before(async () => {
      folder = fs.mkdtempSync(path.join(os.tmpdir(), 'zavhoz-settings-'));
      store = await Store.open({ database: path.join(folder, 'zavhoz.db'), journal: path.join(folder, 'zavhoz.journal'), migrations: MIGRATIONS });
    });
    after(() => {
      store.close();
      fs.rmSync(folder, { recursive: true, force: true });
    });

    test('a refused value is reported as InvalidInput naming the setting, and the stored value stays', async () => {
      const settings = await SettingsService.open(EmbeddedDatabase.of(store), new RecordingNotifier());
      await settings.set('time4vpsApiBase', 'http://127.0.0.1:4000/api');
      await assert.rejects(
        () => settings.set('time4vpsApiBase', 'http://billing.time4vps.com/api'),
        (error: unknown) => {
          assert.ok(error instanceof ZavhozError, String(error));
          assert.equal(error.code, ErrorCodes.InvalidInput);
          assert.match(error.message, /^Invalid value for setting time4vpsApiBase: http is allowed only for a loopback host/);
          return true;
        },
      );
      assert.equal(settings.get('time4vpsApiBase'), 'http://127.0.0.1:4000/api');
    });
  });
});

describe('settings: githubApiBase', () => {
  const refusalOf = (value: string): string | undefined => {
    const parsed = SettingSchemas.githubApiBase.safeParse(value);
    return parsed.success ? undefined : (parsed.error.issues[0]?.message ?? 'refused without a message');
  };

  test('api.github.com, a GitHub Enterprise Server over https and a loopback stand-in are accepted', () => {
    for (const value of [DEFAULT_SETTINGS.githubApiBase, 'https://github.example.test/api/v3', 'http://127.0.0.1:41234']) {
      assert.equal(refusalOf(value), undefined, value);
    }
  });

  test('the token never goes over plain http off this machine, nor in the URL', () => {
    assert.match(refusalOf('http://github.example.test/api/v3') ?? '', /credentials would cross the network unencrypted; use https:\/\/github\.example\.test\/api\/v3$/);
    assert.match(refusalOf('https://x-access-token:ghp_abc@github.example.test/api/v3') ?? '', /must not contain a login.*githubTokenSecret/);
  });
});
