import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { AuditLog } from '../../daemon/audit/auditLog.js';
import type { CommandContext } from '../../daemon/cli/command.js';
import { notifyCommands } from '../../daemon/cli/commands/notify.js';
import type { DaemonClient } from '../../daemon/client/client.js';
import { Logger } from '../../daemon/core/logger.js';
import { Redactor } from '../../daemon/core/redactor.js';
import { NotifyStore } from '../../daemon/notify/records.js';
import { NotifyService } from '../../daemon/notify/service.js';
import { createWatchers } from '../../daemon/notify/watchers.js';
import { describeSubscription, NOTIFY_EVENTS, receivedEvents, webhookUrl } from '../../daemon/protocol/notify.js';
import type { RunDetail } from '../../daemon/protocol/runs.js';
import type { SecretMetadata } from '../../daemon/protocol/secretFields.js';
import type { ProjectStatus } from '../../daemon/protocol/services.js';
import { MIGRATIONS } from '../../daemon/store/schema.js';
import { Store } from '../../daemon/store/store.js';
import { startFakeSlack, type FakeSlack } from '../fakes/slack.js';
import { startFakeTelegram, type FakeTelegram } from '../fakes/telegram.js';
import { startWebhookReceiver, type WebhookReceiver } from '../fakes/webhook.js';
import { EmbeddedDatabase } from '../../daemon/store/embedded.js';

const CANARY = 'canary-Zq8vN3xW7pL2rT5y';
const TOKEN = '123456789:AAH-notify-test-token-abcdefghijklm';
const SIGNING_KEY = 'whsec-notify-signing-key-0123456789';

/** An in-process notification service over a real store and redactor, with the vault's loans in memory. */
async function setUp(folder: string, bases: { telegramApiBase: string; slackWebhookBase: string }, values: Record<string, string>) {
  const store = await Store.open({ database: path.join(folder, 'z.db'), journal: path.join(folder, 'z.journal'), migrations: MIGRATIONS });
  const redactor = new Redactor();
  for (const value of [...Object.values(values), CANARY]) redactor.register(value);
  const logger = new Logger({ file: path.join(folder, 'daemon.log'), redactor });
  const categories: Record<string, string> = { sec_tgtoken1: 'telegram_bot' };
  const service = new NotifyService({
    records: new NotifyStore(EmbeddedDatabase.of(store)),
    secrets: {
      has: async (handle) => handle in values,
      get: async (handle) => ({ category: (categories[handle] ?? 'other') as SecretMetadata['category'] }),
      withValue: async (handle, _use, work) => work(values[handle] ?? ''),
    },
    redactor,
    audit: new AuditLog(EmbeddedDatabase.of(store)),
    log: logger.child({ component: 'notify' }),
    bases: () => bases,
    backoffMs: () => 200,
  });
  return { store, service, records: new NotifyStore(EmbeddedDatabase.of(store)), logger };
}

/** Waits for a condition the daemon reaches on its own (checked every 50 ms, for up to 10 s). */
async function until(condition: () => boolean | Promise<boolean>): Promise<void> {
  for (let i = 0; i < 200 && !(await condition()); i++) await new Promise((resolve) => setTimeout(resolve, 50));
  assert.ok(await condition(), 'the condition was not reached in 10 s');
}

describe('notifications (in process)', () => {
  let folder: string;
  let telegram: FakeTelegram;
  let slack: FakeSlack;
  let webhook: WebhookReceiver;
  let env: Awaited<ReturnType<typeof setUp>>;

  before(async () => {
    folder = fs.mkdtempSync(path.join(os.tmpdir(), 'zavhoz-notify-'));
    telegram = await startFakeTelegram(TOKEN, ['-100777']);
    slack = await startFakeSlack();
    webhook = await startWebhookReceiver(SIGNING_KEY);
    env = await setUp(folder, { telegramApiBase: telegram.url, slackWebhookBase: slack.url }, { sec_tgtoken1: TOKEN, sec_slackurl: slack.webhookUrl, sec_whkey001: SIGNING_KEY });
    env.service.start();
  });

  after(async () => {
    await env.service.stop();
    env.store.close();
    await Promise.all([telegram.stop(), slack.stop(), webhook.stop()]);
    fs.rmSync(folder, { recursive: true, force: true });
  });

  test('each endpoint gets the events it wants, redacted, through 429s and 5xx answers, once each', async () => {
    const caller = { client: 'test', requestId: 'r1' };
    await env.service.add({ name: 'tg', ratePerMinute: 20, events: ['run.failed'], endpoint: { kind: 'telegram', botTokenSecret: 'sec_tgtoken1', chatId: '-100777' } }, caller);
    await env.service.add({ name: 'slack', ratePerMinute: 20, endpoint: { kind: 'slack', urlSecret: 'sec_slackurl' } }, caller);
    await env.service.add({ name: 'hook', ratePerMinute: 20, events: ['run.failed', 'server.missing'], endpoint: { kind: 'webhook', url: `${webhook.url}/in`, signingKeySecret: 'sec_whkey001' } }, caller);
    telegram.fail({ status: 429, retryAfter: 1 });
    slack.fail({ status: 503 }, { status: 429, retryAfter: 1 });
    webhook.fail({ status: 500 });

    await env.service.raise({ kind: 'run.failed', subject: 'shop', title: 'shop: deploy failed', text: `the health check printed ${CANARY} and stopped` });
    await env.service.raise({ kind: 'secret.rotated', subject: 'sec_x', title: 'Secret rotated', text: 'ok' });

    const [telegramMessage] = await telegram.waitForAccepted(1);
    await slack.waitForAccepted(2);
    await webhook.waitForAccepted(1);
    assert.ok(telegramMessage);
    assert.equal(telegram.messages()[0]?.chatId, '-100777');
    assert.match(telegram.messages()[0]?.text ?? '', /shop: deploy failed/);
    const everything = [...telegram.arrived, ...slack.arrived, ...webhook.arrived].map((request) => request.body).join('\n');
    assert.ok(!everything.includes(CANARY), 'the canary reached a receiver unmasked');
    assert.match(everything, /\[REDACTED\]/);
    assert.deepEqual(webhook.bodies().map((body) => body.event), ['run.failed']);
    assert.equal(webhook.rejectedSignatures(), 0);
    assert.equal(webhook.accepted[0]?.headers['x-zavhoz-delivery'], webhook.bodies()[0]?.id);
    // Faults were retried, and nothing arrived twice once accepted.
    assert.equal(telegram.arrived.length, 2);
    assert.equal(slack.texts().length, 2);
    // The receiver answered; the daemon marks each delivered right after.
    await until(async () => (await env.service.list()).every((endpoint) => endpoint.pending === 0));
    const listed = await env.service.list();
    assert.deepEqual(listed.map((endpoint) => [endpoint.name, endpoint.pending, endpoint.failed]), [['hook', 0, 0], ['slack', 0, 0], ['tg', 0, 0]]);
  });

  test('a refusal that retrying cannot fix is given up at once; `test` says why, redacted', async () => {
    const caller = { client: 'test', requestId: 'r2' };
    const wrongChat = await env.service.add({ name: 'tg-wrong', ratePerMinute: 20, events: ['server.missing'], endpoint: { kind: 'telegram', botTokenSecret: 'sec_tgtoken1', chatId: '-100999' } }, caller);
    const result = await env.service.test(wrongChat.id, caller);
    assert.equal(result.delivered, false);
    assert.match(result.error ?? '', /chat not found/);
    assert.ok(!(result.error ?? '').includes(TOKEN));
    await env.service.raise({ kind: 'server.missing', subject: 'srv_1', title: 'Server missing', text: 'gone' });
    await webhook.waitForAccepted(2);
    await until(async () => (await env.service.list()).find((endpoint) => endpoint.id === wrongChat.id)?.failed === 1);
    const endpoint = (await env.service.list()).find((item) => item.id === wrongChat.id);
    assert.equal(endpoint?.failed, 1);
    assert.match(endpoint.lastError ?? '', /HTTP 400/);
    await env.service.remove(wrongChat.id, caller);
  });

  test('a Slack URL outside slackWebhookBase, a non-bot token and a name taken are refused when added', async () => {
    const caller = { client: 'test', requestId: 'r3' };
    await assert.rejects(env.service.add({ name: 'tg2', ratePerMinute: 20, endpoint: { kind: 'telegram', botTokenSecret: 'sec_whkey001', chatId: '1' } }, caller), /telegram_bot/);
    // The CLI names an endpoint after its kind: a second one of a kind is told how to name it.
    await assert.rejects(env.service.add({ name: 'tg', ratePerMinute: 20, endpoint: { kind: 'telegram', botTokenSecret: 'sec_tgtoken1', chatId: '-100778' } }, caller), /exists already; give this one another name with --name NAME/);
    await assert.rejects(env.service.add({ name: 'nokey', ratePerMinute: 20, endpoint: { kind: 'webhook', url: 'https://example.com/x', signingKeySecret: 'sec_missing1' } }, caller), /not found/);
  });

  test("a 429's Retry-After holds the endpoint's whole backlog, which then goes out in order", async () => {
    const caller = { client: 'test', requestId: 'r5' };
    const receiver = await startWebhookReceiver(SIGNING_KEY);
    try {
      await env.service.add({ name: 'busy', ratePerMinute: 20, events: ['secret.expired'], endpoint: { kind: 'webhook', url: receiver.url, signingKeySecret: 'sec_whkey001' } }, caller);
      // Three seconds: room for a busy machine between the refusal and the checks below, which look inside the wait.
      receiver.fail({ status: 429, retryAfter: 3 });
      for (let i = 0; i < 3; i++) await env.service.raise({ kind: 'secret.expired', subject: `sec_${i}`, title: `expired ${i}`, text: 'expired' });
      await until(() => receiver.arrived.length >= 1);
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.equal(receiver.arrived.length, 1, 'the backlog waits for the Retry-After too');
      // Raised during the wait: it queues behind the held ones.
      await env.service.raise({ kind: 'secret.expired', subject: 'sec_3', title: 'expired 3', text: 'expired' });
      await new Promise((resolve) => setTimeout(resolve, 200));
      assert.equal(receiver.arrived.length, 1);
      await receiver.waitForAccepted(4);
      assert.deepEqual(receiver.bodies().map((body) => body.subject), ['sec_0', 'sec_1', 'sec_2', 'sec_3']);
      assert.equal(receiver.arrived.length, 5);
    } finally {
      await receiver.stop();
    }
  });

  test('the rate limit holds messages back instead of dropping them', async () => {
    const caller = { client: 'test', requestId: 'r4' };
    const receiver = await startWebhookReceiver(SIGNING_KEY);
    try {
      await env.service.add({ name: 'slow', ratePerMinute: 2, events: ['secret.due'], endpoint: { kind: 'webhook', url: receiver.url, signingKeySecret: 'sec_whkey001' } }, caller);
      for (let i = 0; i < 3; i++) await env.service.raise({ kind: 'secret.due', subject: `sec_${i}`, title: `due ${i}`, text: 'due' });
      await receiver.waitForAccepted(2);
      await new Promise((resolve) => setTimeout(resolve, 1000));
      assert.equal(receiver.accepted.length, 2, 'the third waits for the minute to pass');
      assert.equal((await env.service.list()).find((endpoint) => endpoint.name === 'slow')?.pending, 1);
    } finally {
      await receiver.stop();
    }
  });

  test('proxy.restarted reaches an endpoint subscribed to service.unhealthy, or to every event as they were before it existed, unedited; no other', async () => {
    const caller = { client: 'test', requestId: 'r6' };
    const receiver = await startWebhookReceiver(SIGNING_KEY);
    const others = await startWebhookReceiver(SIGNING_KEY);
    try {
      const endpoint = { kind: 'webhook' as const, url: receiver.url, signingKeySecret: 'sec_whkey001' };
      const health = await env.service.add({ name: 'health', ratePerMinute: 20, events: ['service.unhealthy'], endpoint }, caller);
      // What "every event" was stored as before proxy.restarted existed.
      await env.service.add({ name: 'everything-then', ratePerMinute: 20, events: NOTIFY_EVENTS.filter((event) => event !== 'proxy.restarted'), endpoint }, caller);
      const runs = await env.service.add({ name: 'runs-only', ratePerMinute: 20, events: ['run.failed', 'service.recovered'], endpoint: { ...endpoint, url: others.url } }, caller);
      await env.service.raise({ kind: 'proxy.restarted', subject: 'alpha', title: 'Proxy restarted on alpha', text: 'The proxy on alpha was stopped; it was started again by a health check.' });
      await receiver.waitForAccepted(2);
      assert.deepEqual(receiver.bodies().map((body) => [body.event, body.subject]), [['proxy.restarted', 'alpha'], ['proxy.restarted', 'alpha']]);
      // Queued when raised, or never: the other endpoint has nothing waiting and got nothing.
      const other = (await env.service.list()).find((item) => item.id === runs.id);
      assert.deepEqual([other?.pending, other?.lastDeliveredAt, others.arrived.length], [0, null, 0]);
      // The endpoint's test message says what its subscription brings along.
      assert.equal((await env.service.test(health.id, caller)).delivered, true);
      assert.match(JSON.stringify(receiver.bodies()[2] ?? {}), /receives: service\.unhealthy \(with proxy\.restarted\)\./);
      assert.equal(describeSubscription(['run.failed', 'proxy.restarted', 'service.unhealthy']), 'run.failed, proxy.restarted, service.unhealthy');
      assert.deepEqual(receivedEvents(['service.unhealthy']), ['service.unhealthy', 'proxy.restarted']);
    } finally {
      await Promise.all([receiver.stop(), others.stop()]);
    }
  });
});

describe('webhook URLs', () => {
  test('a query or fragment is refused, pointing at the signing key, without echoing the token', () => {
    assert.ok(webhookUrl.safeParse('https://hooks.example.com/zavhoz').success);
    for (const url of ['https://hooks.example.com/in?token=tok-Xq81vZ', 'https://hooks.example.com/in#tok-Xq81vZ']) {
      const result = webhookUrl.safeParse(url);
      assert.equal(result.success, false);
      const message = result.error.issues.map((issue) => issue.message).join(' ');
      assert.match(message, /query or fragment.*signing key \(a vault handle, --signing-key-secret\)/);
      assert.ok(!message.includes('tok-Xq81vZ'));
    }
  });
});

describe('notify add (CLI)', () => {
  test('a relative --ca-file is sent as an absolute path: the daemon reads it from its own working folder', async () => {
    const sent: unknown[] = [];
    const client = {
      request: (_definition: unknown, params: unknown) => {
        sent.push(params);
        return Promise.resolve({ id: 'ntf_x', name: 'email' });
      },
      close: () => undefined,
    } as unknown as DaemonClient;
    const context = {
      flags: { host: 'smtp.example.com', from: 'z@example.com', to: ['ops@example.com'], 'ca-file': 'certs/ca.pem' },
      positionals: ['email'],
      json: true,
      connect: () => Promise.resolve(client),
      print: () => undefined,
    } as unknown as CommandContext;
    await notifyCommands.find((command) => command.path.join(' ') === 'notify add')?.run(context);
    const params = sent[0] as { endpoint: { caFile: string } };
    assert.equal(params.endpoint.caFile, path.resolve('certs/ca.pem'));
    assert.ok(path.isAbsolute(params.endpoint.caFile));
  });
});

describe('notification records', () => {
  test('a message whose endpoint was removed is not marked sending, so it is not sent', async () => {
    const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'zavhoz-notify-rec-'));
    const store = await Store.open({ database: path.join(folder, 'z.db'), journal: path.join(folder, 'z.journal'), migrations: MIGRATIONS });
    try {
      const records = new NotifyStore(EmbeddedDatabase.of(store));
      const now = new Date().toISOString();
      await records.addEndpoint({ id: 'ntf_a', name: 'a', kind: 'webhook', events: ['run.failed'], ratePerMinute: 5, settings: { kind: 'webhook', url: 'https://example.com/in', signingKeySecret: 'sec_k' }, createdAt: now });
      await records.enqueue([{ id: 'dlv_1', endpointId: 'ntf_a', event: 'run.failed', subject: 's', title: 't', body: 'b', detail: {}, createdAt: now, nextAt: now }]);
      const [due] = await records.due(now, 10);
      assert.equal(due?.id, 'dlv_1');
      await records.removeEndpoint('ntf_a');
      assert.equal(await records.markSending('dlv_1'), undefined);
    } finally {
      store.close();
      fs.rmSync(folder, { recursive: true, force: true });
    }
  });
});

describe('notification watchers', () => {
  test('runs, servers, secrets and services raise each change once', async () => {
    const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'zavhoz-notify-watch-'));
    const store = await Store.open({ database: path.join(folder, 'z.db'), journal: path.join(folder, 'z.journal'), migrations: MIGRATIONS });
    try {
      const records = new NotifyStore(EmbeddedDatabase.of(store));
      const raised: string[] = [];
      const runs = new Map<string, RunDetail>();
      const servers = new Map<string, { handle: string; name: string; status: string; managed: boolean; missingSince: null; lastCheckError: string | null }>();
      const secrets = new Map<string, SecretMetadata>();
      const watchers = createWatchers(
        records,
        {
          run: async (id) => runs.get(id),
          server: async (handle) => servers.get(handle) as never,
          serverStatuses: async () => [...servers.values()].filter((server) => server.managed),
          secret: async (handle) => secrets.get(handle),
          secrets: async () => [...secrets.values()],
          secretVersions: async () => [...secrets.values()],
        },
        async (event) => void raised.push(`${event.kind}${event.alsoAs ? `|${event.alsoAs}` : ''} ${event.subject}`),
      );
      servers.set('srv_a', { handle: 'srv_a', name: 'a', status: 'ready', managed: true, missingSince: null, lastCheckError: null });
      const secret = { handle: 'sec_a', name: 'API_KEY', project: 'shop', version: 1, rotationDays: 30, updatedAt: '2026-01-01T00:00:00Z', expiresAt: null } as unknown as SecretMetadata;
      secrets.set('sec_a', secret);
      await watchers.seed();

      const run = (id: string, status: RunDetail['status'], health?: string): RunDetail =>
        ({ id, project: 'shop', kind: 'deploy', status, repository: 'o/shop', ref: 'main', error: 'boom', releaseId: null, rollbackTo: null, steps: [{ name: 'health', status: 'failed', detail: health }] }) as unknown as RunDetail;
      runs.set('run_1', run('run_1', 'running'));
      await watchers.runChanged('run_1');
      runs.set('run_1', run('run_1', 'failed', 'failed; rolled back to release 3'));
      await watchers.runChanged('run_1');
      await watchers.runChanged('run_1');
      runs.set('run_2', run('run_2', 'succeeded'));
      await watchers.runChanged('run_2');

      servers.set('srv_b', { handle: 'srv_b', name: 'b', status: 'discovered', managed: true, missingSince: null, lastCheckError: null });
      servers.set('srv_a', { handle: 'srv_a', name: 'a', status: 'unreachable', managed: true, missingSince: null, lastCheckError: 'timed out' });
      await watchers.serversChanged(['srv_a', 'srv_b']);
      await watchers.serversChanged(['srv_a', 'srv_b']);

      secrets.set('sec_a', { ...secret, version: 2, updatedAt: '2026-03-01T00:00:00Z' });
      await watchers.secretsChanged(['sec_a']);
      await watchers.checkSecrets(new Date('2026-06-01T00:00:00Z'));
      await watchers.checkSecrets(new Date('2026-06-02T00:00:00Z'));

      const status = (state: string, health: 'healthy' | 'unhealthy' | 'none'): ProjectStatus[] => [
        { project: 'shop', server: 'srv_a', host: 'h', state: 'deployed', release: null, services: [{ service: 'web', module: null, container: 'shop-web-1', state, health, restarts: 0, image: 'i', digest: null, startedAt: null, finishedAt: null, exitCode: null, url: null }] },
      ];
      await watchers.servicesChecked(status('running', 'healthy'), () => false);
      await watchers.servicesChecked(status('running', 'unhealthy'), () => false);
      await watchers.servicesChecked(status('exited', 'none'), () => false);
      await watchers.servicesChecked(status('running', 'healthy'), () => true);
      await watchers.servicesChecked(status('running', 'healthy'), () => false);

      // What was seen and the event it raised are one transaction: an event that could not be queued is not seen.
      let refuse = true;
      const flaky = createWatchers(records, { run: async (id) => runs.get(id), server: async () => undefined, serverStatuses: async () => [], secret: async () => undefined, secrets: async () => [], secretVersions: async () => [] }, async (event, tx) => {
        if (refuse) throw new Error('the queue is full');
        raised.push(`again ${event.kind} ${event.subject}`);
        assert.ok(tx);
      });
      runs.set('run_3', run('run_3', 'succeeded'));
      await assert.rejects(() => flaky.runChanged('run_3'), /the queue is full/);
      assert.equal(await records.seen('run:run_3'), undefined);
      refuse = false;
      await flaky.runChanged('run_3');
      assert.equal(await records.seen('run:run_3'), 'succeeded');
      runs.delete('run_3');

      assert.deepEqual(raised, [
        'run.rolled_back|run.failed shop',
        'run.succeeded shop',
        'server.unreachable srv_a',
        'server.discovered srv_b',
        'secret.rotated sec_a',
        'secret.due sec_a',
        'service.unhealthy shop/web',
        'service.recovered shop/web',
        'again run.succeeded shop',
      ]);
    } finally {
      await EmbeddedDatabase.of(store).close();
      fs.rmSync(folder, { recursive: true, force: true });
    }
  });
});
