import type { AuditLog } from '../audit/auditLog.js';
import { describeError, invalidInput, notFound } from '../core/errors.js';
import type { ScopedLogger } from '../core/logger.js';
import type { TextRedactor } from '../core/redactor.js';
import { describeSubscription, NOTIFY_EVENTS, receivedEvents, type EndpointSettings, type NotifyEndpoint, type NotifyEventKind } from '../protocol/notify.js';
import type { SecretMetadata } from '../protocol/secretFields.js';
import type { ChannelBases, CredentialLender, OutgoingMessage } from './channels.js';
import { checkSlackUrl, DeliveryError, sendMessage } from './channels.js';
import { DeliveryLoop } from './delivery.js';
import { messageLink, withLink } from './links.js';
import type { DatabaseTransaction as Transaction } from '../store/database.js';
import { type EndpointRecord, newNotifyId, type NotifyStore } from './records.js';

/** Something worth telling: an event of one kind about one subject (a project, a server, a secret handle). */
export interface NotifyEvent {
  readonly kind: NotifyEventKind;
  /**
   * A broader kind an endpoint may want instead: a deploy that failed and was rolled back is `run.rolled_back`, and
   * endpoints that want `run.failed` but not that get it as a failure. Each endpoint gets one message.
   */
  readonly alsoAs?: NotifyEventKind;
  readonly subject: string;
  readonly title: string;
  readonly text: string;
  readonly detail?: Readonly<Record<string, string | number | boolean | null>>;
}

/** The kind under which an endpoint subscribed to `events` gets `event` (one message at most), or undefined. */
export function deliveredAs(events: readonly NotifyEventKind[], event: Pick<NotifyEvent, 'kind' | 'alsoAs'>): NotifyEventKind | undefined {
  if (receivedEvents(events).includes(event.kind)) return event.kind;
  return event.alsoAs !== undefined && events.includes(event.alsoAs) ? event.alsoAs : undefined;
}

/** The vault as notifications see it: credentials by handle, lent for one send. */
export interface NotifySecrets {
  has(handle: string): Promise<boolean>;
  get(handle: string): Promise<Pick<SecretMetadata, 'category'>>;
  withValue<T>(handle: string, use: { client: string; requestId: string; action: string; detail?: Record<string, string> }, work: (value: string) => Promise<T> | T): Promise<T>;
}

/** Who asked, for the audit log. */
export interface NotifyCaller {
  readonly client: string;
  readonly requestId: string;
}

/** What the notification service is built from. */
export interface NotifyOptions {
  readonly records: NotifyStore;
  readonly secrets: NotifySecrets;
  readonly redactor: TextRedactor;
  readonly audit: AuditLog;
  readonly log: ScopedLogger;
  readonly bases: () => ChannelBases;
  readonly backoffMs?: (attempt: number) => number;
  /** Told when an endpoint's delivery state changed (an attempt was made). */
  readonly attempted?: (endpointId: string) => void;
}

/** Who the deliveries borrow credentials as. */
const DELIVERY_USE = { client: 'daemon', requestId: 'notify' } as const;

/**
 * Outbound notifications: endpoints and the events they want, a queue in the store delivered in the background
 * (retried, rate-limited, surviving restarts), and `raise` for the watchers. Raising never waits for a delivery and
 * never throws at the code that raised.
 */
export class NotifyService {
  private readonly loop: DeliveryLoop;

  constructor(private readonly options: NotifyOptions) {
    this.loop = new DeliveryLoop({
      records: options.records,
      redactor: options.redactor,
      log: options.log,
      bases: options.bases,
      lend: (endpoint) => this.lender(endpoint),
      ...(options.backoffMs ? { backoffMs: options.backoffMs } : {}),
      ...(options.attempted ? { attempted: options.attempted } : {}),
    });
  }

  /** Starts delivering (call once the daemon is wired). */
  start(): Promise<void> {
    return this.loop.start();
  }

  /** Stops delivering; queued messages stay for the next start. */
  stop(): Promise<void> {
    return this.loop.stop();
  }

  /** Adds an endpoint after checking its credentials are in the vault (and, for Slack, under the allowed base). */
  async add(request: { name: string; events?: readonly NotifyEventKind[] | undefined; ratePerMinute: number; endpoint: EndpointSettings }, caller: NotifyCaller): Promise<NotifyEndpoint> {
    const { records, secrets, audit } = this.options;
    if (await records.hasName(request.name)) {
      // The CLI names an endpoint after its kind unless told otherwise, so a second one of a kind lands here.
      throw invalidInput(`An endpoint named ${request.name} exists already; give this one another name with --name NAME, or remove the old one first (zavhoz notify list, then zavhoz notify remove ID).`);
    }
    for (const handle of handlesOf(request.endpoint)) {
      if (!(await secrets.has(handle))) throw notFound(`Secret ${handle}`, 'Store the credential first with `zavhoz secret set NAME`, then give its handle.');
    }
    const settings = request.endpoint;
    if (settings.kind === 'telegram' && (await secrets.get(settings.botTokenSecret)).category !== 'telegram_bot') {
      throw invalidInput(`Secret ${settings.botTokenSecret} is not a Telegram bot token (category telegram_bot). Store the token with \`zavhoz secret set NAME --category telegram_bot\` and give that handle.`);
    }
    if (settings.kind === 'email' && (settings.user === undefined) !== (settings.passwordSecret === undefined)) {
      throw invalidInput('An SMTP login needs both --user and --password-secret (or neither, for a server that takes mail without one).');
    }
    if (settings.kind === 'slack') {
      const base = this.options.bases().slackWebhookBase;
      await secrets.withValue(settings.urlSecret, { ...caller, action: 'notify-check', detail: { endpoint: request.name } }, (url) => {
        try {
          checkSlackUrl(url, base);
        } catch (error) {
          throw invalidInput(`Secret ${settings.urlSecret}: ${describeError(error)}.`);
        }
      });
    }
    const record: EndpointRecord = {
      id: newNotifyId('ntf'),
      name: request.name,
      kind: settings.kind,
      events: request.events ? NOTIFY_EVENTS.filter((event) => request.events?.includes(event)) : [...NOTIFY_EVENTS],
      ratePerMinute: request.ratePerMinute,
      settings,
      createdAt: new Date().toISOString(),
    };
    await records.addEndpoint(record);
    await audit.record({ ...caller, action: 'notify-add', subject: record.id, detail: { name: record.name, kind: record.kind, events: record.events } });
    return this.describe(record);
  }

  /** Every endpoint with its queue counts. */
  async list(): Promise<NotifyEndpoint[]> {
    const endpoints: NotifyEndpoint[] = [];
    for (const record of await this.options.records.endpoints()) endpoints.push(await this.describe(record));
    return endpoints;
  }

  /** Removes an endpoint and what is still queued for it. */
  async remove(id: string, caller: NotifyCaller): Promise<{ removed: boolean; dropped: number }> {
    const result = await this.options.records.removeEndpoint(id);
    if (!result.removed) throw notFound(`Endpoint ${id}`, 'See the endpoints with `zavhoz notify list`.');
    await this.options.audit.record({ ...caller, action: 'notify-remove', subject: id, detail: { dropped: result.dropped } });
    return result;
  }

  /** Sends a test message now, past the queue, and answers how it went. */
  async test(id: string, caller: NotifyCaller): Promise<{ delivered: boolean; error: string | null }> {
    const endpoint = await this.options.records.endpoint(id);
    if (endpoint === undefined) throw notFound(`Endpoint ${id}`, 'See the endpoints with `zavhoz notify list`.');
    const message: OutgoingMessage = {
      id: newNotifyId('dlv'),
      event: 'test',
      subject: endpoint.name,
      title: 'Zavhoz test notification',
      body: `This endpoint (${endpoint.name}) receives: ${describeSubscription(endpoint.events)}.`,
      detail: {},
      createdAt: new Date().toISOString(),
    };
    await this.options.audit.record({ ...caller, action: 'notify-test', subject: id, detail: { name: endpoint.name } });
    try {
      await sendMessage(endpoint.settings, message, this.options.bases(), this.lender(endpoint, caller));
      return { delivered: true, error: null };
    } catch (error) {
      const text = this.options.redactor.redact(error instanceof DeliveryError ? error.message : describeError(error));
      return { delivered: false, error: text };
    }
  }

  /**
   * Queues a message for every endpoint that wants the event, redacted, and wakes the delivery loop. Never waits on
   * a send. Alone it never rejects: a failure to queue is logged. Within `tx` (a watcher's, which records what it saw
   * in the same transaction) a failure rejects, so the transaction is rolled back and the change is told later.
   */
  async raise(event: NotifyEvent, tx?: Transaction): Promise<void> {
    const { records, redactor, log } = this.options;
    try {
      const now = new Date().toISOString();
      const title = redactor.redact(event.title);
      const subject = redactor.redact(event.subject);
      const redacted = JSON.parse(redactor.redact(JSON.stringify(event.detail ?? {}))) as Record<string, string | number | boolean | null>;
      // A link to what the message is about, for people who read it next to VS Code (ids and handles only).
      const link = messageLink(redacted);
      const body = redactor.redact(withLink(event.text, link));
      const detail = link === undefined ? redacted : { ...redacted, link };
      const deliveries = (await records.endpoints(tx)).flatMap((endpoint) => {
        const kind = deliveredAs(endpoint.events, event);
        return kind === undefined ? [] : [{ id: newNotifyId('dlv'), endpointId: endpoint.id, event: kind, subject, title, body, detail, createdAt: now, nextAt: now }];
      });
      await records.enqueue(deliveries, tx);
      if (deliveries.length > 0) {
        log.info('notification queued', { event: event.kind, subject, endpoints: deliveries.length });
        // The loop looks on a later tick, after `tx` committed.
        this.loop.wake();
      }
    } catch (error) {
      if (tx) throw error;
      log.warn('notification could not be queued', { event: event.kind, error: describeError(error, redactor) });
    }
  }

  private async describe(record: EndpointRecord): Promise<NotifyEndpoint> {
    return { ...record, ...(await this.options.records.stats(record.id)) };
  }

  private lender(endpoint: EndpointRecord, caller: NotifyCaller = DELIVERY_USE): CredentialLender {
    return (handle, work) => this.options.secrets.withValue(handle, { ...caller, action: 'notify', detail: { endpoint: endpoint.id } }, work);
  }
}

/** The vault handles an endpoint's settings name. */
export function handlesOf(settings: EndpointSettings): string[] {
  switch (settings.kind) {
    case 'webhook':
      return [settings.signingKeySecret];
    case 'slack':
      return [settings.urlSecret];
    case 'telegram':
      return [settings.botTokenSecret];
    case 'email':
      return settings.passwordSecret === undefined ? [] : [settings.passwordSecret];
  }
}
