/** The Notifications view's words for an endpoint: kind, events, delivery state, and its target by handle only. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { NOTIFY_EVENTS, type NotifyEndpoint } from '../../daemon/protocol/notify.js';
import { deliveryState, describeEndpoint, endpointTarget } from '../../extension/model/notify.js';

const now = new Date('2026-12-07T12:00:00Z');
const base: NotifyEndpoint = {
  id: 'ntf_aaaaaaaaaa',
  name: 'ops',
  kind: 'telegram',
  events: ['run.failed', 'approval.requested'],
  ratePerMinute: 20,
  settings: { kind: 'telegram', botTokenSecret: 'sec_bbbbbbbb', chatId: '-100123' },
  createdAt: '2026-12-01T00:00:00Z',
  pending: 0,
  failed: 0,
  lastDeliveredAt: null,
  lastError: null,
};

describe('Notifications view', () => {
  test('a row says the kind, how many events and the last delivery', () => {
    assert.equal(describeEndpoint(base, now), 'telegram · 2 events · nothing sent yet');
    assert.equal(deliveryState(base), 'idle');
    const delivered = { ...base, events: [...NOTIFY_EVENTS], lastDeliveredAt: '2026-12-07T11:55:00Z' };
    assert.equal(describeEndpoint(delivered, now), 'telegram · all events · delivered 5 min ago');
    assert.equal(deliveryState({ ...delivered, pending: 2 }), 'pending');
    assert.equal(describeEndpoint({ ...delivered, pending: 2 }, now), 'telegram · all events · 2 pending');
    const failing = { ...base, failed: 1, pending: 1, lastError: 'HTTP 401' };
    assert.equal(deliveryState(failing), 'failing');
    assert.equal(describeEndpoint(failing, now), 'telegram · 2 events · 1 failed, 1 pending');
  });

  test('the target names handles, never values', () => {
    assert.equal(endpointTarget(base.settings), 'chat -100123 with bot sec_bbbbbbbb');
    assert.equal(endpointTarget({ kind: 'slack', urlSecret: 'sec_cccccccc' }), 'Slack webhook sec_cccccccc');
    assert.equal(endpointTarget({ kind: 'webhook', url: 'https://hooks.example.com/z', signingKeySecret: 'sec_dddddddd' }), 'https://hooks.example.com/z (signed with sec_dddddddd)');
    assert.equal(
      endpointTarget({ kind: 'email', host: 'smtp.example.com', port: 587, user: 'ops', passwordSecret: 'sec_eeeeeeee', from: 'z@example.com', to: ['a@example.com', 'b@example.com'] }),
      'a@example.com, b@example.com via smtp.example.com:587 as ops (sec_eeeeeeee)',
    );
  });
});
