import * as z from 'zod';
import { ZavhozError } from '../core/errors.js';
import { ErrorCodes } from '../protocol/errors.js';
import { lazySchema } from '../protocol/lazySchema.js';
import type { SecretReader } from '../vault/api.js';
import type { Provider, ProviderCallOptions, ProviderServerDetail, ProviderServerSummary, ProviderSession } from './provider.js';

/** How to reach Time4VPS and how patiently to wait when it throttles. */
export interface Time4vpsOptions {
  readonly apiBase: string;
  /** Vault handles of the API login and password (never the values). */
  readonly loginSecret: string;
  readonly passwordSecret: string;
  readonly secrets: SecretReader;
  /** The longest throttle wait honoured; a longer one fails with RateLimited. Default 60 s. */
  readonly maxWaitSeconds?: number;
  /** How many throttled answers one request may get before giving up. Default 4. */
  readonly maxThrottledAttempts?: number;
  /** Per-request timeout. Default 30 s. */
  readonly timeoutMs?: number;
  /** Waits (injectable so tests can count waits instead of sleeping). */
  readonly sleep?: (milliseconds: number, signal?: AbortSignal) => Promise<void>;
}

// The schemas are built the first time a sync reads an answer (lazySchema): building them at load cost every daemon
// start CPU before its first answer, and most daemons never talk to Time4VPS.
function text() {
  return z.union([z.string(), z.number()]).nullish().transform((value) => (value === null || value === undefined ? '' : String(value)));
}
function count() {
  return z.union([z.number(), z.string().regex(/^\d+(\.\d+)?$/)]).nullish().transform((value) => (value === null || value === undefined ? null : Number(value)));
}

function summarySchema() {
  return z.object({
    id: z.union([z.number().int(), z.string().regex(/^\w{1,64}$/)]).transform(String),
    name: text(),
    domain: text(),
    ip: text(),
    status: text(),
    product_name: text(),
  });
}
const detailSchema = lazySchema(() => summarySchema().extend({ ram_mb: count(), disk_gb: count(), cpu_cores: count(), os: text() }));
const listSchema = lazySchema(() => z.array(summarySchema()).max(100_000));
const errorBodySchema = lazySchema(() => z.object({ error: z.array(z.unknown()) }));

/** Waits `milliseconds`, or rejects when `signal` aborts. */
export function abortableSleep(milliseconds: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) { reject(cancelled()); return; }
    const timer = setTimeout(done, milliseconds);
    function done(): void {
      signal?.removeEventListener('abort', abort);
      resolve();
    }
    function abort(): void {
      clearTimeout(timer);
      reject(cancelled());
    }
    signal?.addEventListener('abort', abort, { once: true });
  });
}

function cancelled(): ZavhozError {
  return new ZavhozError(ErrorCodes.RequestCancelled, 'The provider sync was stopped (daemon shutting down or request cancelled).');
}

/** What a 401 from Time4VPS means: a throttle with its wait, an IP not on the allow-list, or bad credentials. */
export type Unauthorized = { readonly kind: 'throttled'; readonly waitSeconds: number } | { readonly kind: 'ip-not-allowed' } | { readonly kind: 'credentials' };

/** Reads a 401 body: `{"error":[["wait_x_between_action",24],"unauthorized"]}`, `{"error":["ipnotallowed",…]}` or anything else. */
export function classifyUnauthorized(body: unknown): Unauthorized {
  const parsed = errorBodySchema.safeParse(body);
  if (!parsed.success) return { kind: 'credentials' };
  for (const entry of parsed.data.error) {
    if (Array.isArray(entry) && entry[0] === 'wait_x_between_action') {
      const seconds = Number(entry[1]);
      if (Number.isFinite(seconds) && seconds >= 0) return { kind: 'throttled', waitSeconds: seconds };
    }
    if (entry === 'ipnotallowed') return { kind: 'ip-not-allowed' };
  }
  return { kind: 'credentials' };
}

/**
 * The Time4VPS API client: HTTP Basic auth from two vault handles, `GET /server` and `GET /server/{id}`, and the
 * provider's habit of answering 401 to say "slow down" handled as a wait, not as a login failure.
 */
export class Time4vpsProvider implements Provider {
  readonly name = 'time4vps';
  private readonly base: string;

  constructor(private readonly options: Time4vpsOptions) {
    this.base = options.apiBase.replace(/\/+$/, '');
  }

  async withSession<T>(call: ProviderCallOptions, work: (session: ProviderSession) => Promise<T>): Promise<T> {
    const use = (field: string) => ({
      client: call.client,
      requestId: call.requestId,
      action: 'provider-sync',
      detail: { provider: this.name, field },
    });
    return this.options.secrets.withValue(this.options.loginSecret, use('login'), (login) =>
      this.options.secrets.withValue(this.options.passwordSecret, use('password'), async (password) => {
        const authorization = `Basic ${Buffer.from(`${login}:${password}`).toString('base64')}`;
        let notBefore = 0;
        const request = async (path: string): Promise<unknown> => {
          const maxAttempts = this.options.maxThrottledAttempts ?? 4;
          for (let attempt = 1; ; attempt++) {
            const wait = notBefore - Date.now();
            if (wait > 0) await (this.options.sleep ?? abortableSleep)(wait, call.signal);
            const answer = await this.fetchJson(path, authorization, call);
            if (answer.status !== 401) return this.accept(path, answer);
            const reason = classifyUnauthorized(answer.body);
            if (reason.kind === 'ip-not-allowed') {
              throw new ZavhozError(
                ErrorCodes.ProviderError,
                'Time4VPS refused the request: your IP is not on the Time4VPS API allow-list; add it in the billing panel (API settings), then sync again.',
              );
            }
            if (reason.kind === 'credentials') {
              throw new ZavhozError(
                ErrorCodes.AuthenticationFailed,
                `Time4VPS did not accept the API login (handles ${this.options.loginSecret} / ${this.options.passwordSecret}). Check them with \`zavhoz secret set\` and that API access is enabled in the billing panel.`,
              );
            }
            const cap = this.options.maxWaitSeconds ?? 60;
            if (reason.waitSeconds > cap) {
              throw new ZavhozError(
                ErrorCodes.RateLimited,
                `Time4VPS is rate limiting this account and asked to wait ${reason.waitSeconds} s, longer than Zavhoz waits (${cap} s). Run \`zavhoz server sync\` again after that.`,
                { waitSeconds: reason.waitSeconds, attempts: attempt },
              );
            }
            if (attempt >= maxAttempts) {
              throw new ZavhozError(
                ErrorCodes.RateLimited,
                `Time4VPS kept rate limiting this account: GET ${path} was refused ${attempt} times in a row (last asked to wait ${reason.waitSeconds} s), so Zavhoz gave up. Wait a minute and run \`zavhoz server sync\` again; if it keeps happening, something else may be using the same API login.`,
                { waitSeconds: reason.waitSeconds, attempts: attempt },
              );
            }
            // Every request of the session waits: the limit is per account, not per request.
            notBefore = Math.max(notBefore, Date.now() + reason.waitSeconds * 1000);
          }
        };
        return work({
          listServers: async () => {
            const parsed = listSchema.safeParse(await request('/server'));
            if (!parsed.success) throw this.malformed('/server', parsed.error);
            return parsed.data.map(toSummary);
          },
          getServer: async (id) => {
            const path = `/server/${encodeURIComponent(id)}`;
            const parsed = detailSchema.safeParse(await request(path));
            if (!parsed.success) throw this.malformed(path, parsed.error);
            const data = parsed.data;
            return {
              ...toSummary(data),
              ramMb: data.ram_mb,
              diskMb: data.disk_gb === null ? null : Math.round(data.disk_gb * 1024),
              cpuCores: data.cpu_cores,
              os: data.os === '' ? null : data.os,
            } satisfies ProviderServerDetail;
          },
        });
      }),
    );
  }

  private async fetchJson(path: string, authorization: string, call: ProviderCallOptions): Promise<{ status: number; body: unknown }> {
    const timeout = AbortSignal.timeout(this.options.timeoutMs ?? 30_000);
    const signal = call.signal ? AbortSignal.any([call.signal, timeout]) : timeout;
    let response: Response;
    try {
      response = await fetch(`${this.base}${path}`, {
        headers: { authorization, accept: 'application/json', 'x-request-id': call.requestId },
        // A redirect would carry the Basic auth header to wherever it points: refuse it instead of following.
        redirect: 'error',
        signal,
      });
    } catch (error) {
      if (call.signal?.aborted) throw cancelled();
      if (isRedirectRefusal(error)) {
        throw new ZavhozError(
          ErrorCodes.ProviderError,
          `Time4VPS at ${this.base} answered GET ${path} with a redirect. Zavhoz does not follow it, so the API login is never sent to another address; set time4vpsApiBase to the address the API answers on directly (by default https://billing.time4vps.com/api).`,
        );
      }
      const reason = timeout.aborted ? 'no answer in time' : (error as Error).message;
      throw new ZavhozError(
        ErrorCodes.ProviderError,
        `Could not reach Time4VPS at ${this.base}${path} (${reason}). Check the network, or the time4vpsApiBase setting.`,
      );
    }
    const raw = await response.text();
    let body: unknown;
    try {
      body = raw.length === 0 ? null : JSON.parse(raw);
    } catch {
      body = undefined;
    }
    return { status: response.status, body };
  }

  private accept(path: string, answer: { status: number; body: unknown }): unknown {
    if (answer.status >= 200 && answer.status < 300 && answer.body !== undefined) return answer.body;
    throw new ZavhozError(
      ErrorCodes.ProviderError,
      `Time4VPS answered ${answer.status} to GET ${path}${answer.body === undefined ? ' with a body that is not JSON' : ''}. Try again later; if it persists, check the Time4VPS status page.`,
      { status: answer.status },
    );
  }

  private malformed(path: string, error: z.ZodError): ZavhozError {
    const issue = error.issues[0];
    return new ZavhozError(
      ErrorCodes.ProviderError,
      `Time4VPS answered GET ${path} with data Zavhoz does not understand (${issue ? `${issue.path.join('.')}: ${issue.message}` : 'malformed'}). Check the time4vpsApiBase setting.`,
    );
  }
}

/** True for the error fetch throws when `redirect: 'error'` meets a 3xx answer (undici: "fetch failed", cause "unexpected redirect"). */
function isRedirectRefusal(error: unknown): boolean {
  const cause = error instanceof Error ? error.cause : undefined;
  return cause instanceof Error && /redirect/i.test(cause.message);
}

function toSummary(data: z.infer<ReturnType<typeof summarySchema>>): ProviderServerSummary {
  return { id: data.id, name: data.name, domain: data.domain, ip: data.ip, status: data.status, productName: data.product_name };
}
