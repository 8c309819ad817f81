/**
 * The secret form's storage choice (issue 19): "Team (HashiCorp Vault)" is offered only when this member connected a
 * team Vault, next to the personal keychain; the team is preselected when the daemon makes it the default; the note
 * says where team values live and warns while the Vault cannot take them. Never a token.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { TeamVaultStatus } from '../../daemon/protocol/vault.js';
import { defaultLocation, secretStorageChoice } from '../../extension/model/secretStorage.js';

function vault(fields: Partial<TeamVaultStatus>): TeamVaultStatus {
  return {
    kind: 'hashicorp',
    connected: true,
    teamByDefault: false,
    address: 'https://vault.acme.dev:8200',
    mount: 'team-kv',
    prefix: 'zavhoz/acme',
    namespace: null,
    auth: 'approle',
    state: 'ok',
    message: null,
    tokenTtlSeconds: 3600,
    teamSecrets: 4,
    ...fields,
  };
}

test('no team Vault connected (or a daemon without team secrets): no storage choice, values stay personal', () => {
  assert.equal(secretStorageChoice(undefined), undefined);
  assert.equal(secretStorageChoice(vault({ connected: false, state: 'not-connected', address: null, mount: null })), undefined);
  assert.equal(defaultLocation(undefined), 'personal');
  assert.equal(defaultLocation(vault({ connected: false, teamByDefault: true })), 'personal');
});

test('a connected team Vault adds "Team (HashiCorp Vault)" next to the personal keychain, saying where values go', () => {
  const storage = secretStorageChoice(vault({}));
  assert.ok(storage);
  assert.deepEqual(storage.choices, [
    { value: 'personal', label: 'Personal (your OS keychain)' },
    { value: 'team', label: 'Team (HashiCorp Vault)' },
  ]);
  assert.equal(storage.note, 'Team secrets keep their value in https://vault.acme.dev:8200, mount team-kv/zavhoz/acme; every member connected to it can deploy with them.');
  assert.equal(defaultLocation(vault({})), 'personal');
  assert.equal(defaultLocation(vault({ teamByDefault: true })), 'team');
});

test('a sealed, unreachable or refusing Vault is still offered, with what will happen', () => {
  assert.match(secretStorageChoice(vault({ state: 'sealed' }))?.note ?? '', /sealed now: saving a team secret fails until it is unsealed\.$/);
  assert.match(secretStorageChoice(vault({ state: 'unreachable' }))?.note ?? '', /does not answer now/);
  assert.match(secretStorageChoice(vault({ state: 'refused' }))?.note ?? '', /zavhoz vault connect/);
});
