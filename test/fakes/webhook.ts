/**
 * A webhook receiver on loopback, as a user's own service would be: it accepts a POST only when its
 * `X-Zavhoz-Signature: sha256=<hex>` is the HMAC-SHA256 of the exact body under the shared key (401 otherwise).
 */
import crypto from 'node:crypto';
import { type HttpReceiver, startHttpReceiver } from './httpReceiver.js';

/** A running receiver; `rejectedSignatures` counts requests refused for their signature. */
export interface WebhookReceiver extends HttpReceiver {
  /** The parsed bodies accepted, in order. */
  bodies(): { id: string; event: string; subject: string; title: string; text: string; detail: Record<string, unknown> }[];
  rejectedSignatures(): number;
}

/** Starts a receiver that checks signatures with `key`. */
export async function startWebhookReceiver(key: string): Promise<WebhookReceiver> {
  let rejected = 0;
  const receiver = await startHttpReceiver(
    (request) => {
      const expected = `sha256=${crypto.createHmac('sha256', key).update(request.body).digest('hex')}`;
      const given = String(request.headers['x-zavhoz-signature'] ?? '');
      if (given.length !== expected.length || !crypto.timingSafeEqual(Buffer.from(given), Buffer.from(expected))) {
        rejected++;
        return { status: 401, body: 'bad signature' };
      }
      return undefined;
    },
    () => '{}',
  );
  return Object.assign(receiver, {
    bodies: () => receiver.accepted.map((request) => JSON.parse(request.body) as ReturnType<WebhookReceiver['bodies']>[number]),
    rejectedSignatures: () => rejected,
  });
}
