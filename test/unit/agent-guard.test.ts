/**
 * The agent tools' secret guard: where a handle belongs only a handle passes, and free text shaped like a credential
 * or a random token is refused, with a message that names the argument and never repeats its content.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { describe, test } from 'node:test';
import { argumentNames, auditLines, guardArguments } from '../../daemon/agent/arguments.js';
import { findTool } from '../../daemon/agent/catalogue.js';
import { looksLikeSecret, PASS_A_HANDLE } from '../../daemon/agent/secretGuard.js';
import type { AgentTool } from '../../daemon/agent/tool.js';
import { generateValue } from '../../daemon/vault/generate.js';

function tool(name: string): AgentTool {
  const found = findTool(name);
  assert.ok(found, name);
  return found;
}

const pem = `-----BEGIN OPENSSH PRIVATE KEY-----\n${crypto.randomBytes(48).toString('base64')}\n-----END OPENSSH PRIVATE KEY-----\n`;

describe('agent secret guard', () => {
  test('credential shapes are recognised anywhere in a string', () => {
    const shapes = {
      pem,
      'pem armour alone': '-----BEGIN RSA PRIVATE KEY-----',
      'GitHub classic token': `ghp_${crypto.randomBytes(18).toString('hex')}`,
      'GitHub fine-grained token': `github_pat_11ABCDEFG0${crypto.randomBytes(20).toString('hex')}`,
      'Slack bot token': `xoxb-1234567890-${crypto.randomBytes(8).toString('hex')}`,
      'Telegram bot token': `7012345678:${crypto.randomBytes(30).toString('base64url').slice(0, 35)}`,
      'AWS access key id': 'AKIAIOSFODNN7EXAMPLE',
      JWT: 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJl',
      'credentials in a URL': 'https://deploy:hunter2hunter2@git.example.com/acme/shop.git',
      'token inside a sentence': `please use ghp_${crypto.randomBytes(18).toString('hex')} for it`,
    };
    for (const [label, text] of Object.entries(shapes)) assert.equal(looksLikeSecret(text), true, label);
  });

  test('random values as the vault generates them are recognised (32 characters: at least 97 in 100)', () => {
    let caught = 0;
    const samples = 300;
    for (let index = 0; index < samples; index++) {
      if (looksLikeSecret(generateValue('password', 32))) caught++;
      if (looksLikeSecret(generateValue('token', 32))) caught++;
      if (looksLikeSecret(crypto.randomBytes(24).toString('hex'))) caught++;
    }
    assert.ok(caught >= samples * 3 * 0.97, `caught ${caught} of ${samples * 3}`);
  });

  test('names, paths, branches, handles and run ids pass', () => {
    const ordinary = [
      'shop',
      'tg-bot-production-eu-west-2',
      'MyProject2024BackendV2Prod',
      'feature/JIRA-1234-add-login-page-v2',
      'release-2024-11-22-hotfix-01',
      '/home/alice/Projects/MyWebApp2/backend',
      '/tmp/zavhoz-test-AbC123/project',
      'https://github.com/Acme/Demo.git',
      'git@github.com:acme/shop.git',
      'TELEGRAM_BOT_TOKEN_PRODUCTION_2',
      'sec_7f3k4x2m',
      'run_7f3k9x2mab',
      'v1.2.3-rc.1+build.20241122',
      'production',
      'The human asked for a Telegram bot token for the shop project',
    ];
    for (const text of ordinary) assert.equal(looksLikeSecret(text), false, text);
  });

  test('a value where a handle belongs is refused, naming the argument and never quoting the value', () => {
    const value = generateValue('token', 32);
    const verdict = guardArguments(tool('zavhoz_deploy'), { project: 'shop', gitToken: value });
    assert.equal(verdict.ok, false);
    assert.ok(verdict.message.includes(PASS_A_HANDLE));
    assert.ok(verdict.message.includes('"gitToken"'));
    assert.ok(!verdict.message.includes(value));
    // Even a short, low-entropy value is refused there: only the handle shape passes.
    assert.equal(guardArguments(tool('zavhoz_deploy'), { project: 'shop', registryToken: 'hunter2' }).ok, false);
    assert.equal(guardArguments(tool('zavhoz_deploy'), { project: 'shop', gitToken: 'sec_7f3k4x2m', registryToken: 'sec_abcdefgh' }).ok, true);
  });

  test('bindings take handles only, and their variable names are checked too', () => {
    const deploy = tool('zavhoz_deploy');
    assert.equal(guardArguments(deploy, { project: 'shop', bindings: { API_TOKEN: 'sec_7f3k4x2m' } }).ok, true);
    const refused = guardArguments(deploy, { project: 'shop', bindings: { API_TOKEN: 'plain-text-value' } });
    assert.ok(!refused.ok && refused.message.includes('"bindings.API_TOKEN"') && refused.message.includes(PASS_A_HANDLE));
    const token = `ghp_${crypto.randomBytes(18).toString('hex')}`;
    const keyed = guardArguments(deploy, { project: 'shop', bindings: { [token]: 'sec_7f3k4x2m' } });
    assert.ok(!keyed.ok && !keyed.message.includes(token));
  });

  test('free text is refused when it looks like a secret, in any argument, list item or key', () => {
    const telegram = `7012345678:${crypto.randomBytes(30).toString('base64url').slice(0, 35)}`;
    assert.equal(guardArguments(tool('zavhoz_list_managed_servers'), { label: telegram }).ok, false);
    // The shape test is statistical (about 1 in 250 generated 40-character passwords reads like words), so one random
    // value would fail a run now and then: of a thousand, at most 2% may pass.
    const passed = Array.from({ length: 1000 }, () => generateValue('password', 40)).filter(
      (password) => guardArguments(tool('zavhoz_allocate'), { project: 'shop', modules: ['app', password] }).ok,
    );
    assert.ok(passed.length <= 20, `${passed.length} of 1000 generated passwords passed as module names`);
    assert.equal(guardArguments(tool('zavhoz_env_plan'), { project: 'shop', folder: `/srv/${pem}` }).ok, false);
    assert.equal(guardArguments(tool('zavhoz_allocate'), { [`ghp_${crypto.randomBytes(18).toString('hex')}`]: 'x' }).ok, false);
    assert.equal(guardArguments(tool('zavhoz_allocate'), { project: 'shop', modules: ['backend', 'worker'] }).ok, true);
  });

  test('a commit id is a valid ref although it looks random; elsewhere a long hex string is refused', () => {
    const commit = crypto.randomBytes(20).toString('hex');
    assert.equal(guardArguments(tool('zavhoz_deploy'), { project: 'shop', ref: commit }).ok, true);
    assert.equal(guardArguments(tool('zavhoz_deploy'), { project: 'shop', registryUser: commit }).ok, false);
  });

  test('audit lines carry accepted arguments; a refused call is recorded by argument names only', () => {
    assert.deepEqual(auditLines({ project: 'shop', modules: ['app', 'worker'], bindings: { API_TOKEN: 'sec_7f3k4x2m' } }), [
      'project=shop',
      'modules=app,worker',
      'bindings.API_TOKEN=sec_7f3k4x2m',
    ]);
    const token = `ghp_${crypto.randomBytes(18).toString('hex')}`;
    assert.deepEqual(argumentNames({ project: 'shop', gitToken: token, [token]: 1 }), ['project', 'gitToken', '(a secret-looking name)']);
  });
});
