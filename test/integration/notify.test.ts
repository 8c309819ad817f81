/**
 * Notifications end to end: a real daemon with the real vault on a private keychain, endpoints added with the CLI,
 * delivered to loopback stand-ins of the Telegram Bot API and a Slack webhook (test doubles), a webhook receiver that
 * checks the signature, and a real SMTP server (aiosmtpd, STARTTLS with a throwaway certificate, login required). A
 * deploy that fails for real (a branch that does not exist) is the event; its project name is a vault value, so the
 * canary is in the run's error and in every message, and must reach no receiver unmasked. Then a delivery pending
 * when the daemon is killed (SIGKILL by its PID) is delivered after the restart, exactly once. Last, approvals: a
 * protected project's deploy from the CLI without --yes waits, is announced, and runs only once a person approves it.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { type Approval, ApprovalsList, RunsApprove } from '../../daemon/protocol/approvals.js';
import type { NotifyEndpoint } from '../../daemon/protocol/notify.js';
import { AWAITING_APPROVAL_EXIT_CODE } from '../../daemon/cli/awaitApproval.js';
import { DeployStart, type RunDetail, type RunSummary } from '../../daemon/protocol/runs.js';
import { startFakeSlack, type FakeSlack } from '../fakes/slack.js';
import { startFakeTelegram, type FakeTelegram } from '../fakes/telegram.js';
import { startWebhookReceiver, type WebhookReceiver } from '../fakes/webhook.js';
import { waitUntil } from '../harness/processes.js';
import { startSmtpReceiver, type SmtpReceiver } from '../harness/smtp.js';
import { cliJson, deployArguments, type DeployWorld, setUpDeployWorld } from './deploy-support.js';

const BOT_TOKEN = `4815162342:AA${crypto.randomBytes(16).toString('hex').slice(0, 33)}`;
const SIGNING_KEY = `whsec-${crypto.randomBytes(16).toString('hex')}`;
const SMTP_PASSWORD = `smtp-${crypto.randomBytes(12).toString('hex')}`;
const CHAT = '-1001234567890';

describe('notifications', { timeout: 600_000 }, () => {
  let world: DeployWorld;
  let telegram: FakeTelegram;
  let slack: FakeSlack;
  let webhook: WebhookReceiver;
  let smtp: SmtpReceiver;
  const endpoints = new Map<string, NotifyEndpoint>();

  before(async () => {
    [telegram, slack, webhook, smtp] = await Promise.all([startFakeTelegram(BOT_TOKEN, [CHAT]), startFakeSlack(), startWebhookReceiver(SIGNING_KEY), startSmtpReceiver('zavhoz', SMTP_PASSWORD)]);
    world = await setUpDeployWorld();
    const { daemon } = world;
    await cliJson(daemon, ['config', 'set', 'telegramApiBase', JSON.stringify(telegram.url)]);
    await cliJson(daemon, ['config', 'set', 'slackWebhookBase', JSON.stringify(slack.url)]);
    const token = await cliJson<{ handle: string }>(daemon, ['secret', 'set', 'OPS_BOT_TOKEN', '--type', 'token', '--category', 'telegram_bot'], BOT_TOKEN);
    const slackUrl = await world.storeSecret('OPS_SLACK_URL', 'token', slack.webhookUrl);
    const signingKey = await world.storeSecret('OPS_WEBHOOK_KEY', 'token', SIGNING_KEY);
    const smtpPassword = await world.storeSecret('OPS_SMTP_PASSWORD', 'password', SMTP_PASSWORD);
    const add = async (name: string, args: string[]): Promise<void> => {
      endpoints.set(name, await cliJson<NotifyEndpoint>(daemon, ['notify', 'add', ...args, '--name', name]));
    };
    await add('tg', ['telegram', '--bot-token-secret', token.handle, `--chat-id=${CHAT}`, '--events', 'run.failed']);
    await add('slack', ['slack', '--url-secret', slackUrl, '--events', 'run.failed,run.succeeded']);
    await add('hook', ['webhook', '--url', `${webhook.url}/zavhoz`, '--signing-key-secret', signingKey, '--events', 'run.failed,secret.rotated']);
    await add('mail', ['email', '--host', '127.0.0.1', '--port', String(smtp.port), '--user', 'zavhoz', '--password-secret', smtpPassword, '--from', 'zavhoz@example.test', '--to', 'ops@example.test', '--ca-file', smtp.certificate, '--events', 'run.failed']);
  });

  after(async () => {
    /* eslint-disable @typescript-eslint/no-unnecessary-condition -- before() may have failed before it assigned these */
    await world?.dispose();
    await Promise.all([telegram?.stop(), slack?.stop(), webhook?.stop(), smtp?.stop()]);
    /* eslint-enable @typescript-eslint/no-unnecessary-condition */
  });

  test('the CLI lists the endpoints by handle, and a test message reaches each of them', async () => {
    const listed = await cliJson<NotifyEndpoint[]>(world.daemon, ['notify', 'list']);
    assert.deepEqual(listed.map((endpoint) => `${endpoint.name}:${endpoint.kind}`), ['hook:webhook', 'mail:email', 'slack:slack', 'tg:telegram']);
    const text = JSON.stringify(listed);
    for (const value of [BOT_TOKEN, SIGNING_KEY, SMTP_PASSWORD, slack.webhookUrl]) assert.ok(!text.includes(value), 'a credential is listed');
    for (const endpoint of listed) {
      const result = await cliJson<{ delivered: boolean; error: string | null }>(world.daemon, ['notify', 'test', endpoint.id]);
      assert.deepEqual(result, { delivered: true, error: null }, endpoint.name);
    }
    assert.equal(telegram.messages().length, 1);
    assert.equal(slack.texts().length, 1);
    assert.equal(webhook.bodies()[0]?.event, 'test');
    const [mail] = smtp.messages();
    assert.ok(mail, 'the SMTP server took the test message');
    assert.equal(mail.tls, true, 'the message came over STARTTLS');
    assert.match(mail.content, /Subject: \[Zavhoz\] Zavhoz test notification/);
  });

  test('a failing run is told to every endpoint that wants it, through a 429 and a 503, with the canary masked', async () => {
    const project = world.newProject('canary');
    // The project name is in the run's error and in every message: make it a vault value.
    await world.storeSecret('API_TOKEN', 'token', project, project);
    await world.storeSecret('WEBHOOK_SECRET', 'text', `hook-${crypto.randomBytes(8).toString('hex')}`, project);
    telegram.fail({ status: 429, retryAfter: 1 });
    slack.fail({ status: 503 });
    const result = await world.daemon.cli([...deployArguments(world, project, ['--ref', 'no-such-branch']), '--wait', '--json']);
    assert.equal(result.code, 1, result.stderr);
    const run = JSON.parse(result.stdout) as RunDetail;
    assert.equal(run.status, 'failed');

    await telegram.waitForAccepted(2);
    await slack.waitForAccepted(2);
    await webhook.waitForAccepted(2);
    await waitUntil('the failure mail', () => (smtp.messages().length >= 2 ? true : undefined));
    const received = [
      ...telegram.arrived.map((request) => request.body),
      ...slack.arrived.map((request) => request.body),
      ...webhook.arrived.map((request) => request.body),
      ...smtp.messages().map((mail) => mail.content),
    ].join('\n');
    assert.ok(!received.includes(project), 'the canary reached a receiver unmasked');
    assert.match(telegram.messages()[1]?.text ?? '', /\[REDACTED\]: deploy failed/);
    assert.match(slack.texts()[1] ?? '', /failed: The task "Clone or update the repository" failed/);
    const failure = webhook.bodies()[1];
    assert.equal(failure?.event, 'run.failed');
    assert.equal(failure.detail.run, run.id);
    assert.equal(failure.detail.link, `vscode://zavhoz.zavhoz/run/${run.id}`, 'the message links to the run');
    assert.ok(slack.texts()[1]?.endsWith(`Open in VS Code: vscode://zavhoz.zavhoz/run/${run.id}`), slack.texts()[1]);
    assert.equal(webhook.rejectedSignatures(), 0, 'every webhook body carried a valid signature');
    assert.equal(telegram.arrived.length, 3, 'one test, one 429, one delivery');
  });

  test('a delivery pending when the daemon is killed is delivered after the restart, exactly once', async () => {
    const secret = await cliJson<{ handle: string }>(world.daemon, ['secret', 'set', 'ROTATING_KEY', '--type', 'token', '--generate']);
    const before = webhook.accepted.length;
    // The receiver is down for now: every attempt fails and the message waits in the queue.
    webhook.fail(...Array.from({ length: 1000 }, () => ({ status: 503 })));
    const arrivedBefore = webhook.arrived.length;
    await cliJson(world.daemon, ['secret', 'rotate', secret.handle, '--generate']);
    await waitUntil('a first failed attempt', () => (webhook.arrived.length > arrivedBefore ? true : undefined));
    const hook = endpoints.get('hook');
    assert.ok(hook);
    await waitUntil('the message to be pending', async () => {
      const listed = await cliJson<NotifyEndpoint[]>(world.daemon, ['notify', 'list']);
      return listed.find((endpoint) => endpoint.id === hook.id)?.pending === 1 ? true : undefined;
    });
    await world.daemon.kill9();
    webhook.recover();
    await world.daemon.start();

    const delivered = (await webhook.waitForAccepted(before + 1))[before];
    assert.equal(delivered ? (JSON.parse(delivered.body) as { event: string }).event : undefined, 'secret.rotated');
    const deliveryId = delivered?.headers['x-zavhoz-delivery'];
    assert.ok(typeof deliveryId === 'string' && deliveryId.startsWith('dlv_'));
    assert.ok(webhook.arrived.slice(arrivedBefore).every((request) => request.headers['x-zavhoz-delivery'] === deliveryId), 'every attempt was the same delivery');
    // Once the queue holds nothing for the endpoint, nothing can arrive again.
    await waitUntil('the queue to be empty', async () => {
      const listed = await cliJson<NotifyEndpoint[]>(world.daemon, ['notify', 'list']);
      const entry = listed.find((endpoint) => endpoint.id === hook.id);
      return entry?.pending === 0 && entry.lastDeliveredAt !== null ? true : undefined;
    });
    assert.equal(webhook.accepted.filter((request) => request.headers['x-zavhoz-delivery'] === deliveryId).length, 1, 'delivered exactly once');
  });
  test("a protected project's deploy without --yes waits, is announced, and runs only once approved", async () => {
    const { daemon } = world;
    await cliJson(daemon, ['config', 'set', 'protectedProjects', JSON.stringify(['guarded-*'])]);
    const receiver = await startWebhookReceiver(SIGNING_KEY);
    try {
      const key = await world.storeSecret('APPROVALS_WEBHOOK_KEY', 'token', SIGNING_KEY);
      await cliJson(daemon, ['notify', 'add', 'webhook', '--name', 'approvals', '--url', receiver.url, '--signing-key-secret', key, '--events', 'approval.requested']);
      const project = world.newProject('guarded');
      await world.storeSecret('API_TOKEN', 'token', `api-${crypto.randomBytes(8).toString('hex')}`, project);
      await world.storeSecret('WEBHOOK_SECRET', 'text', `hook-${crypto.randomBytes(8).toString('hex')}`, project);
      const ask = async (): Promise<string> => {
        // Without --wait, the CLI says the run waits (as a run of its own) and exits with its documented code.
        const refused = await daemon.cli([...deployArguments(world, project, ['--ref', 'no-such-branch']), '--json']);
        assert.equal(refused.code, AWAITING_APPROVAL_EXIT_CODE, refused.stderr);
        const waiting = JSON.parse(refused.stdout) as RunDetail;
        assert.equal(waiting.status, 'awaiting_approval');
        assert.match(waiting.id, /^apr_[a-z2-7]{10}$/);
        return waiting.id;
      };
      const runsOf = (): Promise<RunSummary[]> => cliJson<RunSummary[]>(daemon, ['run', 'list', '--project', project]);

      const human = await daemon.cli(deployArguments(world, project, ['--ref', 'no-such-branch']));
      assert.equal(human.code, AWAITING_APPROVAL_EXIT_CODE, human.stderr);
      const humanId = /waiting for approval (apr_[a-z2-7]{10}) — approve in VS Code or with `zavhoz run approve \1`/.exec(human.stdout)?.[1];
      assert.ok(humanId, human.stdout);
      const listed = await runsOf();
      assert.deepEqual(listed.map((run) => [run.id, run.status, run.kind, run.client]), [[humanId, 'awaiting_approval', 'deploy', 'cli']]);
      const shown = await daemon.cli(['run', 'show', humanId]);
      assert.match(shown.stdout, /status {7}awaiting_approval/);
      assert.match(shown.stdout, /requested by cli at /);
      await cliJson(daemon, ['run', 'reject', humanId]);
      const rejectedRun = await cliJson<RunDetail>(daemon, ['run', 'show', humanId]);
      assert.equal(rejectedRun.status, 'cancelled');
      assert.match(rejectedRun.error ?? '', /Rejected by cli/);
      await receiver.waitForAccepted(1);

      const rejected = await ask();
      const announced = (await receiver.waitForAccepted(2))[1];
      const body = JSON.parse(announced?.body ?? '{}') as { event: string; detail: { approval: string }; text: string };
      assert.equal(body.event, 'approval.requested');
      assert.equal(body.detail.approval, rejected);
      assert.match(body.text, new RegExp(`zavhoz run approve ${rejected}`));
      // A link that opens the waiting run in VS Code: its id only.
      assert.match(body.text, new RegExp(`\nOpen in VS Code: vscode://zavhoz\\.zavhoz/run/${rejected}$`));
      const waiting = await cliJson<Approval[]>(daemon, ['run', 'approvals']);
      assert.deepEqual(waiting.map((approval) => [approval.id, approval.kind, approval.requestedBy]), [[rejected, 'deploy', 'cli']]);
      await cliJson(daemon, ['run', 'reject', rejected]);
      assert.deepEqual(await runsOf(), [], 'a rejected deploy never started');

      // An agent cannot confirm for a person, nor approve.
      const agent = await daemon.connect('agent');
      try {
        await assert.rejects(
          agent.request(DeployStart, { folder: world.fixture, project, repository: 'Acme/Demo', repoUrl: world.repository.url, ref: 'no-such-branch', confirmed: true }),
          /waits for a person's approval as apr_/,
        );
        const [waiting] = (await agent.request(ApprovalsList, {})).approvals;
        assert.equal(waiting?.requestedBy, 'agent');
        await assert.rejects(agent.request(RunsApprove, { id: waiting.id }), /An agent cannot approve/);
        await cliJson(daemon, ['run', 'reject', waiting.id]);
      } finally {
        agent.close();
      }
      assert.deepEqual(await runsOf(), [], 'no agent deploy started');

      const approved = await ask();
      const result = await cliJson<{ runId: string }>(daemon, ['run', 'approve', approved]);
      const run = await cliJson<RunDetail>(daemon, ['run', 'show', result.runId]);
      assert.equal(run.project, project);
      assert.equal(run.ref, 'no-such-branch', 'it runs as it was asked');
      assert.equal((await cliJson<RunDetail>(daemon, ['run', 'show', approved])).id, result.runId, 'the approval id answers the run it became');
      const confirmed = await daemon.cli([...deployArguments(world, project, ['--ref', 'no-such-branch']), '--yes', '--json']);
      assert.ok(!confirmed.stderr.includes('approval'), 'a deploy confirmed with --yes starts at once');
      assert.equal((await runsOf()).length, 2);

      // With --wait, the CLI waits for the decision, then follows the run it became and exits with its result.
      const waiter = daemon.cli([...deployArguments(world, project, ['--ref', 'no-such-branch']), '--wait']);
      const waitingId = await waitUntil('the waiting run', async () => (await runsOf()).find((entry) => entry.status === 'awaiting_approval')?.id);
      const started = await cliJson<{ runId: string }>(daemon, ['run', 'approve', waitingId]);
      const followed = await waiter;
      assert.equal(followed.code, 1, followed.stderr);
      assert.match(followed.stderr, new RegExp(`waiting for approval ${waitingId}`));
      assert.match(followed.stderr, new RegExp(`approved by cli; run ${started.runId} started`));
      assert.match(followed.stdout, new RegExp(`${started.runId} failed`));
    } finally {
      await cliJson(daemon, ['config', 'set', 'protectedProjects', '[]']);
      await receiver.stop();
    }
  });
});
