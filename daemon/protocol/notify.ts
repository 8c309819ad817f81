import * as z from 'zod';
import { defineNotification, defineRequest, result } from './define.js';
import { lazySchema } from './lazySchema.js';
import { secretHandle } from './secrets.js';
import { isLoopbackHost } from './settings.js';

/**
 * Outbound notifications: endpoints (a signed webhook, a Slack incoming webhook, a Telegram chat, an email address
 * list) each subscribed to some events. Messages are queued in the store and delivered in the background, retried
 * with backoff and rate-limited per endpoint; every credential stays in the vault and is named here by handle.
 */

/** Everything an endpoint can subscribe to. */
export const NOTIFY_EVENTS = [
  'run.succeeded',
  'run.failed',
  'run.rolled_back',
  'service.unhealthy',
  'service.recovered',
  'server.discovered',
  'server.missing',
  'server.unreachable',
  'proxy.restarted',
  'secret.due',
  'secret.expired',
  'secret.rotated',
  'approval.requested',
] as const;
/** One of {@link NOTIFY_EVENTS}. */
export type NotifyEventKind = (typeof NOTIFY_EVENTS)[number];

/**
 * Events an endpoint subscribed to another event of their family also gets (under their own kind): a family grows,
 * and a subscription made before a member existed (an explicit list, or "every event" as it was then, which is stored
 * as a list too) must not miss it until someone edits it. A proxy the health check had to start again took the
 * services behind it down: whoever asked to hear of unhealthy services wants to hear of it.
 */
export const NOTIFY_EVENTS_INCLUDED_WITH: Readonly<Partial<Record<NotifyEventKind, NotifyEventKind>>> = { 'proxy.restarted': 'service.unhealthy' };

/** Every event an endpoint subscribed to `events` receives: those, and those their families bring along, in order. */
export function receivedEvents(events: readonly NotifyEventKind[]): NotifyEventKind[] {
  return NOTIFY_EVENTS.filter((event) => {
    const family = NOTIFY_EVENTS_INCLUDED_WITH[event];
    return events.includes(event) || (family !== undefined && events.includes(family));
  });
}

/** Where messages go. */
export const ENDPOINT_KINDS = ['webhook', 'slack', 'telegram', 'email'] as const;
/** One of {@link ENDPOINT_KINDS}. */
export type EndpointKind = (typeof ENDPOINT_KINDS)[number];

/** What an endpoint subscribed to `events` receives, in words: each event, with those its family brings along. */
export function describeSubscription(events: readonly NotifyEventKind[]): string {
  return events
    .map((event) => {
      const brought = NOTIFY_EVENTS.filter((member) => NOTIFY_EVENTS_INCLUDED_WITH[member] === event && !events.includes(member));
      return brought.length === 0 ? event : `${event} (with ${brought.join(', ')})`;
    })
    .join(', ');
}

/** Endpoint ids: `ntf_` and 10 lowercase base32 characters (like run ids). */
export const endpointId = lazySchema(() => z.string().regex(/^ntf_[a-z2-7]{10}$/, 'an endpoint id like ntf_7f3k9x2mab (see zavhoz notify list)'));

/** Messages per minute an endpoint gets unless it says otherwise; more wait in the queue, none are dropped. */
export const DEFAULT_RATE_PER_MINUTE = 20;

/**
 * A webhook URL: https, or http on loopback only (the body is signed, not encrypted), and no login, query or fragment
 * in it: the URL is stored and listed as it is, so a token in it would be a secret in plain text.
 */
export const webhookUrl = lazySchema(() => z
  .string()
  .max(2048)
  .superRefine((value, context) => {
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      context.addIssue({ code: 'custom', message: 'not a URL; give the full https:// address of the receiver' });
      return;
    }
    if (url.username !== '' || url.password !== '') {
      context.addIssue({ code: 'custom', message: 'the URL must not contain a login (user:pass@); the body is signed with --signing-key-secret instead' });
    } else if (url.search !== '' || url.hash !== '') {
      context.addIssue({
        code: 'custom',
        message: 'the URL must not contain a query or fragment (?… or #…): it is stored and listed in plain text. Drop the token from it; the receiver checks the X-Zavhoz-Signature made with the signing key (a vault handle, --signing-key-secret) instead',
      });
    } else if (url.protocol === 'http:' && !isLoopbackHost(url.hostname)) {
      context.addIssue({ code: 'custom', message: `http is allowed only for a loopback host; use https://${url.host}${url.pathname}` });
    } else if (url.protocol !== 'https:' && url.protocol !== 'http:') {
      context.addIssue({ code: 'custom', message: `${url.protocol} is not a webhook scheme; use an https:// URL` });
    }
  }));

const emailAddress = lazySchema(() => z.string().max(320).regex(/^[^\s@<>",;]+@[^\s@<>",;]+$/, 'an email address like ops@example.com'));

const common = {
  /** A label for lists and pickers, e.g. `ops-telegram`. */
  name: lazySchema(() => z.string().min(1).max(64).regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'a short name: letters, digits, . _ -')),
  /** What the endpoint wants; all events when left out. */
  events: lazySchema(() => z.array(z.enum(NOTIFY_EVENTS)).min(1).max(NOTIFY_EVENTS.length).optional()),
  /** Most messages a minute; more wait in the queue. */
  ratePerMinute: lazySchema(() => z.number().int().min(1).max(600).default(DEFAULT_RATE_PER_MINUTE)),
};

/** What each kind of endpoint needs; credentials by vault handle only. */
export const endpointSettings = lazySchema(() => z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('webhook'),
    url: webhookUrl,
    /** Vault handle of the key the body's HMAC-SHA256 (`X-Zavhoz-Signature: sha256=…`) is made with. */
    signingKeySecret: secretHandle,
  }),
  z.strictObject({
    kind: z.literal('slack'),
    /** Vault handle of the Slack incoming-webhook URL (it is the credential); it must start with the `slackWebhookBase` setting. */
    urlSecret: secretHandle,
  }),
  z.strictObject({
    kind: z.literal('telegram'),
    /** Vault handle of the bot token (category `telegram_bot`). */
    botTokenSecret: secretHandle,
    /** The chat the bot writes to: a numeric id or `@channelname`. */
    chatId: z.string().min(1).max(64).regex(/^(-?\d{1,20}|@[A-Za-z0-9_]{5,32})$/, 'a numeric chat id or @channelname'),
  }),
  z.strictObject({
    kind: z.literal('email'),
    /** The SMTP server; the connection must upgrade with STARTTLS before anything is sent. */
    host: z.string().min(1).max(253).regex(/^[A-Za-z0-9.-]+$|^\[[0-9a-fA-F:.]+\]$/, 'a host name or address'),
    port: z.number().int().min(1).max(65_535).default(587),
    /** SMTP login user; leave out for a server that needs none. */
    user: z.string().min(1).max(320).optional(),
    /** Vault handle of the SMTP password (with `user`). */
    passwordSecret: secretHandle.optional(),
    from: emailAddress,
    to: z.array(emailAddress).min(1).max(50),
    /** A PEM file of the certificate authority to trust for this server (a private CA), besides the system's. */
    caFile: z.string().min(1).max(4096).optional(),
  }),
]));

/** The settings of one endpoint, by kind. */
export type EndpointSettings = z.infer<typeof endpointSettings>;

/** An endpoint as lists show it: settings (handles, never values) and how its deliveries stand. */
export interface NotifyEndpoint {
  readonly id: string;
  readonly name: string;
  readonly kind: EndpointKind;
  readonly events: readonly NotifyEventKind[];
  readonly ratePerMinute: number;
  readonly settings: EndpointSettings;
  readonly createdAt: string;
  /** Messages waiting (queued or being retried). */
  readonly pending: number;
  /** Messages given up on after every retry. */
  readonly failed: number;
  /** When a message last reached it. */
  readonly lastDeliveredAt: string | null;
  /** Why the last attempt failed, when it did (redacted). */
  readonly lastError: string | null;
}

/** Adds an endpoint with the events it wants (all when `events` is left out). Its credentials must be in the vault. */
export const NotifyAdd = defineRequest(
  'notify/add',
  () => z.strictObject({ ...common, endpoint: endpointSettings }),
  result<NotifyEndpoint>(),
);

/** Lists the endpoints with their queue counts. */
export const NotifyList = defineRequest('notify/list', () => z.strictObject({}), result<{ readonly endpoints: readonly NotifyEndpoint[] }>());

/**
 * Sends a test message to one endpoint now, past the queue and its rate limit, and answers how it went: the
 * receiver's refusal or the network error, redacted, when it failed.
 */
export const NotifyTest = defineRequest(
  'notify/test',
  () => z.strictObject({ id: endpointId }),
  result<{ readonly delivered: boolean; readonly error: string | null }>(),
);

/** Removes an endpoint and drops the messages still queued for it. */
export const NotifyRemove = defineRequest('notify/remove', () => z.strictObject({ id: endpointId }), result<{ readonly removed: boolean; readonly dropped: number }>());

/**
 * Sent to every client when an endpoint was added, removed or tested, or a delivery to it was attempted: its queue
 * counts and last delivery state changed.
 */
export const NotifyDidChange = defineNotification('notify/didChange', () => z.strictObject({ id: z.string() }));
