import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SecretMetadata } from '../../daemon/protocol/secretFields.js';
import { dueSecrets } from '../../daemon/rotation/due.js';
import { rotatesItself } from '../../daemon/rotation/service.js';

function secret(handle: string, fields: Partial<SecretMetadata>): SecretMetadata {
  return {
    handle,
    name: handle.toUpperCase(),
    type: 'password',
    category: 'other',
    project: 'shop',
    tags: [],
    origin: 'generated',
    hasPassphrase: false,
    fingerprint: 'f',
    createdAt: '2026-01-01T00:00:00.000Z',
    updatedAt: '2026-01-01T00:00:00.000Z',
    lastUsedAt: null,
    expiresAt: null,
    rotationDays: null,
    version: 1,
    previous: null,
    ...fields,
  };
}

describe('due rotation', () => {
  const now = new Date('2026-03-10T12:00:00.000Z');

  it('is due once the current version is rotationDays old, counted from its last change, oldest first', () => {
    const secrets = [
      secret('sec_fresh', { rotationDays: 30, updatedAt: '2026-03-01T00:00:00.000Z' }),
      secret('sec_exactly', { rotationDays: 1, updatedAt: '2026-03-09T12:00:00.000Z' }),
      secret('sec_old', { rotationDays: 7, updatedAt: '2026-01-01T00:00:00.000Z', createdAt: '2025-01-01T00:00:00.000Z' }),
      secret('sec_never', { rotationDays: null, updatedAt: '2020-01-01T00:00:00.000Z' }),
    ];
    const due = dueSecrets(secrets, now);
    assert.deepEqual(
      due.map((entry) => [entry.secret.handle, entry.dueSince.toISOString()]),
      [
        ['sec_old', '2026-01-08T00:00:00.000Z'],
        ['sec_exactly', '2026-03-10T12:00:00.000Z'],
      ],
    );
  });

  it('is not due a moment before its time, and a rotation (a newer updatedAt) restarts the count', () => {
    assert.deepEqual(dueSecrets([secret('sec_a', { rotationDays: 1, updatedAt: '2026-03-09T12:00:00.001Z' })], now), []);
    const rotatedToday = secret('sec_b', { rotationDays: 1, createdAt: '2025-01-01T00:00:00.000Z', updatedAt: '2026-03-10T11:00:00.000Z', version: 5 });
    assert.deepEqual(dueSecrets([rotatedToday], now), []);
  });

  it('rotates itself only what Zavhoz generated and can generate again; typed-in values are reported', () => {
    assert.equal(rotatesItself({ origin: 'generated', type: 'password' }), true);
    assert.equal(rotatesItself({ origin: 'generated', type: 'token' }), true);
    assert.equal(rotatesItself({ origin: 'user', type: 'password' }), false);
    assert.equal(rotatesItself({ origin: 'generated', type: 'private_key' }), false);
  });
});
