/**
 * TEST DOUBLE: a loopback stand-in for a Slack incoming webhook (https://hooks.slack.com/services/T…/B…/…), used
 * because Slack cannot be reached from tests. Like the real one: `POST` of `{"text": …}` to the webhook's path answers
 * `ok`; an unknown path 404 `no_service`; a body without text 400 `no_text`; rate limiting 429 with Retry-After
 * (queued with `fail`, as are 5xx answers).
 */
import { type HttpReceiver, startHttpReceiver } from './httpReceiver.js';

/** A running fake Slack: `webhookUrl` is the secret a Slack endpoint stores; `url` goes in `slackWebhookBase`. */
export interface FakeSlack extends HttpReceiver {
  readonly webhookUrl: string;
  /** Texts posted, in order. */
  texts(): string[];
}

/** Starts the fake with one incoming webhook. */
export async function startFakeSlack(): Promise<FakeSlack> {
  const path = '/services/T0ZAVHOZ/B0NOTIFY/x1y2z3secretpart0123456';
  const receiver = await startHttpReceiver(
    (request) => {
      if (request.path !== path) return { status: 404, body: 'no_service' };
      const body = JSON.parse(request.body) as { text?: unknown };
      return typeof body.text === 'string' && body.text !== '' ? undefined : { status: 400, body: 'no_text' };
    },
    () => 'ok',
  );
  return Object.assign(receiver, {
    webhookUrl: `${receiver.url}${path}`,
    texts: () => receiver.accepted.map((request) => (JSON.parse(request.body) as { text: string }).text),
  });
}
