import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import nodemailer from 'nodemailer';
import type { EndpointSettings, NotifyEventKind } from '../protocol/notify.js';

/** What one message says; already redacted. */
export interface OutgoingMessage {
  /** The delivery id: the same on every attempt, so a receiver can tell a repeat. */
  readonly id: string;
  readonly event: NotifyEventKind | 'test';
  readonly subject: string;
  readonly title: string;
  readonly body: string;
  readonly detail: Readonly<Record<string, string | number | boolean | null>>;
  readonly createdAt: string;
}

/** Where the Telegram and Slack APIs are (settings; tests point them at loopback stand-ins). */
export interface ChannelBases {
  readonly telegramApiBase: string;
  readonly slackWebhookBase: string;
}

/** Lends the one credential an endpoint needs for the length of a send. */
export type CredentialLender = <T>(handle: string, work: (value: string) => Promise<T>) => Promise<T>;

/**
 * Why a send failed. `retryAfterMs`: the receiver asked to wait (a 429); `permanent`: trying the same message
 * again cannot help (a refused request, a wrong chat, a bad setting).
 */
export class DeliveryError extends Error {
  constructor(
    message: string,
    readonly permanent: boolean,
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'DeliveryError';
  }
}

/** Longest one send may take. */
const SEND_TIMEOUT_MS = 15_000;

/** Sends one message to one endpoint; resolves when the receiver accepted it, rejects with a {@link DeliveryError}. */
export async function sendMessage(settings: EndpointSettings, message: OutgoingMessage, bases: ChannelBases, lend: CredentialLender, signal?: AbortSignal): Promise<void> {
  switch (settings.kind) {
    case 'webhook': {
      const body = JSON.stringify({ id: message.id, event: message.event, subject: message.subject, title: message.title, text: message.body, detail: message.detail, at: message.createdAt });
      const signature = await lend(settings.signingKeySecret, (key) => Promise.resolve(crypto.createHmac('sha256', key).update(body).digest('hex')));
      await post(settings.url, body, { 'x-zavhoz-signature': `sha256=${signature}`, 'x-zavhoz-event': message.event, 'x-zavhoz-delivery': message.id }, 'the webhook', signal);
      return;
    }
    case 'slack': {
      const body = JSON.stringify({ text: `*${message.title}*\n${message.body}` });
      await lend(settings.urlSecret, async (url) => {
        checkSlackUrl(url, bases.slackWebhookBase);
        await post(url, body, {}, 'Slack', signal);
      });
      return;
    }
    case 'telegram': {
      const body = JSON.stringify({ chat_id: settings.chatId, text: `${message.title}\n${message.body}`, disable_web_page_preview: true });
      const base = bases.telegramApiBase.replace(/\/+$/, '');
      await lend(settings.botTokenSecret, (token) => post(`${base}/bot${token}/sendMessage`, body, {}, 'Telegram', signal));
      return;
    }
    case 'email':
      await sendEmail(settings, message, lend);
      return;
  }
}

/** Refuses a Slack URL outside `slackWebhookBase` (the URL is a vault value: the message never shows it). */
export function checkSlackUrl(url: string, base: string): void {
  let parsed: URL;
  let allowed: URL;
  try {
    parsed = new URL(url);
    allowed = new URL(base);
  } catch {
    throw new DeliveryError('the Slack URL in the vault is not a URL; store the incoming-webhook URL Slack gave you', true);
  }
  const prefix = allowed.pathname.replace(/\/+$/, '');
  if (parsed.origin !== allowed.origin || !(parsed.pathname === prefix || parsed.pathname.startsWith(`${prefix}/`))) {
    throw new DeliveryError(`the Slack URL in the vault is not under the slackWebhookBase setting (${base}); store a Slack incoming-webhook URL, or change the setting`, true);
  }
}

async function post(url: string, body: string, headers: Record<string, string>, receiver: string, signal: AbortSignal | undefined): Promise<void> {
  const timeout = AbortSignal.timeout(SEND_TIMEOUT_MS);
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'zavhoz', ...headers },
      body,
      redirect: 'error',
      signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
    });
  } catch (error) {
    // Never the URL: for Telegram and Slack it holds the credential.
    const cause = error instanceof Error && error.cause instanceof Error ? error.cause.message : error instanceof Error ? error.message : String(error);
    throw new DeliveryError(`${receiver} could not be reached (${timeout.aborted ? 'no answer in 15 s' : cause})`, false);
  }
  const text = (await response.text().catch(() => '')).slice(0, 300);
  if (response.ok) return;
  const retryAfterMs = retryAfterOf(response, text);
  const said = text.trim() === '' ? '' : `: ${text.trim()}`;
  if (response.status === 429) throw new DeliveryError(`${receiver} limits the rate (HTTP 429)${said}`, false, retryAfterMs ?? 60_000);
  const permanent = response.status >= 400 && response.status < 500 && response.status !== 408;
  throw new DeliveryError(`${receiver} refused the message (HTTP ${response.status})${said}`, permanent, retryAfterMs);
}

/** `Retry-After` in seconds, or Telegram's `parameters.retry_after`. */
function retryAfterOf(response: Response, text: string): number | undefined {
  const header = Number(response.headers.get('retry-after'));
  if (Number.isFinite(header) && header > 0) return Math.min(header, 3600) * 1000;
  try {
    const parsed = JSON.parse(text) as { parameters?: { retry_after?: unknown } };
    const seconds = Number(parsed.parameters?.retry_after);
    if (Number.isFinite(seconds) && seconds > 0) return Math.min(seconds, 3600) * 1000;
  } catch {
    // Not JSON: no hint.
  }
  return undefined;
}

type EmailSettings = Extract<EndpointSettings, { kind: 'email' }>;

/** SMTP with STARTTLS required (or TLS from the start on port 465); nothing is sent over a plain connection. */
async function sendEmail(settings: EmailSettings, message: OutgoingMessage, lend: CredentialLender): Promise<void> {
  let ca: string[] | undefined;
  if (settings.caFile !== undefined) {
    try {
      ca = [...tls.rootCertificates, fs.readFileSync(settings.caFile, 'utf8')];
    } catch (error) {
      throw new DeliveryError(`the CA file of this endpoint cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'}); fix the path with zavhoz notify remove and add`, true);
    }
  }
  const host = settings.host.replace(/^\[|\]$/g, '');
  const send = async (password: string | undefined): Promise<void> => {
    const transport = nodemailer.createTransport({
      host,
      port: settings.port,
      secure: settings.port === 465,
      requireTLS: true,
      auth: settings.user !== undefined && password !== undefined ? { user: settings.user, pass: password } : undefined,
      // SNI takes a name, never an address (RFC 6066); the certificate is still checked against the address.
      tls: { ...(net.isIP(host) === 0 ? { servername: host } : {}), ...(ca ? { ca } : {}) },
      connectionTimeout: SEND_TIMEOUT_MS,
      greetingTimeout: SEND_TIMEOUT_MS,
      socketTimeout: SEND_TIMEOUT_MS,
      disableFileAccess: true,
      disableUrlAccess: true,
    });
    try {
      await transport.sendMail({
        from: settings.from,
        to: settings.to,
        subject: `[Zavhoz] ${message.title}`,
        text: `${message.body}\n\n${message.event} · ${message.subject} · ${message.createdAt}`,
        messageId: `<${message.id}@zavhoz>`,
        headers: { 'X-Zavhoz-Event': message.event, 'X-Zavhoz-Delivery': message.id },
      });
    } catch (error) {
      throw smtpError(error);
    } finally {
      transport.close();
    }
  };
  if (settings.passwordSecret !== undefined) await lend(settings.passwordSecret, (password) => send(password));
  else await send(undefined);
}

function smtpError(error: unknown): DeliveryError {
  const failure = error as { message?: string; responseCode?: number; code?: string };
  const code = failure.responseCode;
  const what = failure.message ?? String(error);
  // 5xx refusals of the message itself (a bad address, a login refused) will not change by retrying.
  const permanent = code !== undefined && code >= 500 && code < 600 && failure.code !== 'ECONNECTION';
  return new DeliveryError(`the SMTP server did not take the message (${what})`, permanent);
}
