import { describeError } from '../core/errors.js';
import type { ScopedLogger } from '../core/logger.js';
import type { TextRedactor } from '../core/redactor.js';
import { type ChannelBases, type CredentialLender, DeliveryError, sendMessage } from './channels.js';
import type { DeliveryRecord, EndpointRecord, NotifyStore } from './records.js';

/** Attempts per message before it is given up (with the backoff below, about 2 hours). */
export const MAX_ATTEMPTS = 15;

/** Longest wait between two attempts. */
const MAX_BACKOFF_MS = 15 * 60_000;

/** Days delivered and given-up messages stay in the store (for `notify list` counts and the record). */
const KEPT_DAYS = 30;

/** The rate window. */
const MINUTE_MS = 60_000;

/** What the delivery loop is built from. */
export interface DeliveryOptions {
  readonly records: NotifyStore;
  readonly redactor: TextRedactor;
  readonly log: ScopedLogger;
  readonly bases: () => ChannelBases;
  readonly lend: (endpoint: EndpointRecord) => CredentialLender;
  /** Wait before attempt `attempt + 1` after a failure; default 2 s doubling, at most 15 minutes. */
  readonly backoffMs?: (attempt: number) => number;
  readonly now?: () => Date;
  /** Told after each attempt, delivered or failed: the endpoint's delivery state changed (`notify/didChange`). */
  readonly attempted?: (endpointId: string) => void;
}

/**
 * Delivers the queue in the background: due messages, oldest first, one at a time per endpoint (so each sees them
 * in order), endpoints side by side, each within its rate. An attempt is marked `sending` durably before it starts
 * and `delivered` as soon as the receiver accepted it, so a message pending when the daemon dies is sent after the
 * restart, once; only a death between the receiver's "accepted" and that write sends it again.
 */
export class DeliveryLoop {
  private timer: NodeJS.Timeout | undefined;
  private readonly busy = new Map<string, Promise<void>>();
  private readonly controller = new AbortController();
  private stopped = false;
  private started = false;

  constructor(private readonly options: DeliveryOptions) {}

  /** Puts attempts a crash cut short back in the queue and starts delivering. */
  async start(): Promise<void> {
    const pruned = await this.options.records.prune(new Date(this.now().getTime() - KEPT_DAYS * 24 * 60 * MINUTE_MS).toISOString());
    if (pruned > 0) this.options.log.info('old notification deliveries forgotten', { count: pruned, keptDays: KEPT_DAYS });
    const requeued = await this.options.records.requeueInterrupted(this.now().toISOString());
    if (requeued > 0) this.options.log.info('notifications cut short by a restart are sent again', { count: requeued });
    this.started = true;
    this.wake();
  }

  /** Looks at the queue now (a message was queued). */
  wake(): void {
    if (this.stopped || !this.started) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.round(), 0);
    this.timer.unref();
  }

  /**
   * Stops delivering; an attempt under way is aborted and its message stays queued, so it is sent again after the
   * restart even if the receiver had taken it already (the delivery id tells the repeat).
   */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.controller.abort();
    await Promise.allSettled([...this.busy.values()]);
  }

  /** Never rejects: a store that fails is logged and looked at again later. */
  private async round(): Promise<void> {
    this.timer = undefined;
    if (this.stopped) return;
    const { records } = this.options;
    let soonest = Number.POSITIVE_INFINITY;
    try {
      const due = await records.due(this.now().toISOString(), 500);
      const byEndpoint = new Map<string, DeliveryRecord[]>();
      for (const delivery of due) byEndpoint.set(delivery.endpointId, [...(byEndpoint.get(delivery.endpointId) ?? []), delivery]);
      for (const [endpointId, deliveries] of byEndpoint) {
        if (this.busy.has(endpointId)) continue;
        const work = this.drain(endpointId, deliveries).finally(() => {
          this.busy.delete(endpointId);
          this.wake();
        });
        this.busy.set(endpointId, work);
      }
      const next = await records.nextDue();
      if (next !== undefined) soonest = Date.parse(next) - this.now().getTime();
    } catch (error) {
      this.options.log.warn('notification queue could not be read', { error: describeError(error) });
      soonest = 5_000;
    }
    if (Number.isFinite(soonest) && this.busy.size === 0) this.arm(Math.max(soonest, 50));
    else if (Number.isFinite(soonest)) this.arm(Math.max(soonest, 1_000));
  }

  private arm(delayMs: number): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.round(), Math.min(delayMs, 2 ** 31 - 1));
    this.timer.unref();
  }

  /** Sends one endpoint's due messages in order, while its rate allows. */
  private async drain(endpointId: string, deliveries: readonly DeliveryRecord[]): Promise<void> {
    const { records } = this.options;
    const endpoint = await records.endpoint(endpointId);
    if (endpoint === undefined) return;
    for (const delivery of deliveries) {
      if (this.stopped) return;
      const wait = await this.rateWait(endpoint);
      if (wait > 0) {
        // Over the rate: the rest waits for the window to move; nothing is dropped.
        const until = new Date(this.now().getTime() + wait).toISOString();
        for (const later of deliveries.slice(deliveries.indexOf(delivery))) await records.postpone(later.id, until);
        return;
      }
      const ok = await this.attempt(endpoint, delivery);
      // A failure leaves the rest of this endpoint's messages for later, in order.
      if (!ok) return;
    }
  }

  /** How long until the endpoint may take another message (0: now). */
  private async rateWait(endpoint: EndpointRecord): Promise<number> {
    const now = this.now().getTime();
    const sent = await this.options.records.sentSince(endpoint.id, new Date(now - MINUTE_MS).toISOString());
    if (sent.length < endpoint.ratePerMinute) return 0;
    const oldest = sent[sent.length - endpoint.ratePerMinute];
    return Math.max(Date.parse(oldest ?? new Date(now).toISOString()) + MINUTE_MS - now, 1);
  }

  private async attempt(endpoint: EndpointRecord, delivery: DeliveryRecord): Promise<boolean> {
    const { records, redactor, log } = this.options;
    const attempts = await records.markSending(delivery.id);
    // Removed with its endpoint meanwhile: nothing to send.
    if (attempts === undefined) return true;
    try {
      // Redacted again: a value the vault took in after the message was queued is masked too.
      const message = { ...delivery, title: redactor.redact(delivery.title), body: redactor.redact(delivery.body) };
      await sendMessage(endpoint.settings, message, this.options.bases(), this.options.lend(endpoint), this.controller.signal);
      await records.markDelivered(delivery.id, this.now().toISOString());
      log.info('notification delivered', { endpoint: endpoint.id, delivery: delivery.id, event: delivery.event, attempts });
      this.options.attempted?.(endpoint.id);
      return true;
    } catch (error) {
      if (this.stopped) {
        await records.putBack(delivery.id);
        return false;
      }
      const text = redactor.redact(describeError(error));
      const failure = error instanceof DeliveryError ? error : undefined;
      const giveUp = failure?.permanent === true || attempts >= MAX_ATTEMPTS;
      const wait = failure?.retryAfterMs ?? this.backoff(attempts);
      await records.markFailed(delivery.id, text, giveUp ? undefined : new Date(this.now().getTime() + wait).toISOString());
      log.warn(giveUp ? 'notification given up' : 'notification failed; retrying', { endpoint: endpoint.id, delivery: delivery.id, attempts, error: text, retryInMs: giveUp ? null : wait });
      this.options.attempted?.(endpoint.id);
      return false;
    }
  }

  private backoff(attempt: number): number {
    return this.options.backoffMs?.(attempt) ?? Math.min(2_000 * 2 ** (attempt - 1), MAX_BACKOFF_MS);
  }

  private now(): Date {
    return this.options.now?.() ?? new Date();
  }
}
