/**
 * The secret form guesses a secret's type and category from its name, one pattern at a time (the person can
 * still pick others): each pattern below is one the form knows.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { guessSecretKind } from '../../webview/secretGuess.js';

const cases: readonly [name: string, type: string, category: string][] = [
  ['DEPLOY_SSH_KEY', 'private_key', 'server'],
  ['SSH_PRIVATE_KEY', 'private_key', 'server'],
  ['BACKUP_PRIVATE_KEY', 'private_key', 'server'],
  ['PROD_SSH_KEY', 'private_key', 'server'],
  ['DEPLOY_KEY', 'private_key', 'server'],
  ['SHOP_BOT_TOKEN', 'token', 'telegram_bot'],
  ['TELEGRAM_CHAT_TOKEN', 'token', 'telegram_bot'],
  ['GITHUB_TOKEN', 'token', 'github'],
  ['GH_PAT', 'token', 'github'],
  ['CLOUDFLARE_API_TOKEN', 'token', 'domain'],
  ['TIME4VPS_PASSWORD', 'token', 'provider'],
  ['HETZNER_TOKEN', 'token', 'provider'],
  ['OPENAI_API_KEY', 'token', 'api_key'],
  ['STRIPE_SECRET_KEY', 'token', 'api_key'],
  ['MAPS_APIKEY', 'token', 'api_key'],
  ['POSTGRES_PASSWORD', 'password', 'other'],
  ['ADMIN_PASS', 'password', 'other'],
  ['TLS_CERT', 'text', 'other'],
  ['GCP_SERVICE_ACCOUNT_JSON', 'text', 'other'],
  ['WEBHOOK_SECRET', 'token', 'other'],
  ['SESSION_TOKEN', 'token', 'other'],
];

describe('the secret form guesses type and category from the name', () => {
  for (const [name, type, category] of cases) {
    test(`${name} → ${type}, ${category}`, () => {
      const guess = guessSecretKind(name);
      assert.ok(guess, `${name} should be recognised`);
      assert.equal(guess.type, type);
      assert.equal(guess.category, category);
      assert.ok(guess.reason.length > 0);
    });
  }

  test('names that say nothing leave the form as it is', () => {
    for (const name of ['', 'PORT', 'APP_ENV', 'LOG_LEVEL', 'KEYBOARD_LAYOUT']) assert.equal(guessSecretKind(name), undefined, name);
  });

  test('a name typed in lower case is read as the variable it will become', () => {
    assert.equal(guessSecretKind('deploy_ssh_key')?.type, 'private_key');
  });
});
