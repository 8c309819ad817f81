/**
 * One HTTP exchange with Vault's API: the namespace header, retries with backoff on 5xx, 429 and network errors
 * (Retry-After wins), and every failure turned into a ZavhozError that says what to do. A message names paths and
 * addresses, never a token or value of ours, and quotes Vault's own errors ({@link errorsOf}).
 */
import { ZavhozError } from '../../core/errors.js';
import { ErrorCodes } from '../../protocol/errors.js';

/** How hard to try. */
export interface RetryPolicy {
  /** Attempts in all (default 4). */
  readonly attempts: number;
  /** First wait; doubles each time (default 250 ms). */
  readonly baseDelayMs: number;
  /** Longest wait a Retry-After may ask for before the call gives up (default 30 s). */
  readonly maxDelayMs: number;
}

/** The default: 4 attempts over about 2 s. */
export const DEFAULT_RETRY: RetryPolicy = { attempts: 4, baseDelayMs: 250, maxDelayMs: 30_000 };

/** One request to Vault. */
export interface VaultRequest {
  readonly method: 'GET' | 'POST' | 'PUT' | 'DELETE' | 'LIST';
  /** The API path after `/v1/`. */
  readonly path: string;
  readonly token?: string | undefined;
  readonly body?: unknown;
  /** The secret path the user knows (for messages); the API path when absent. */
  readonly subject?: string;
  /** Statuses besides 2xx, 403 and 404 the caller handles itself (a login's 400). */
  readonly accept?: readonly number[];
}

/** Vault's answer: status and parsed JSON body (undefined for 204). */
export interface VaultAnswer {
  readonly status: number;
  readonly body: Record<string, unknown> | undefined;
}

/** Where and how requests go. */
export interface TransportOptions {
  readonly address: string;
  readonly namespace?: string | undefined;
  readonly retry?: Partial<RetryPolicy>;
  /** Per attempt (default 15 s). */
  readonly timeoutMs?: number;
}

/** Sends requests to one Vault, retrying what may pass; 403 and 404 are left to the caller. */
export class VaultTransport {
  private readonly retry: RetryPolicy;
  readonly address: string;

  constructor(private readonly options: TransportOptions) {
    this.retry = { ...DEFAULT_RETRY, ...options.retry };
    this.address = options.address.replace(/\/+$/, '');
  }

  /**
   * Sends a request, retrying what may pass (5xx other than sealed, 429, network errors). Answers 2xx, 403 and 404
   * to the caller; anything else becomes a ZavhozError.
   */
  async send(request: VaultRequest): Promise<VaultAnswer> {
    const subject = request.subject ?? request.path;
    for (let attempt = 1; ; attempt++) {
      let answer: VaultAnswer;
      let retryAfterMs: number | undefined;
      try {
        const response = await this.fetchOnce(request);
        retryAfterMs = retryAfter(response.headers.get('retry-after'));
        answer = { status: response.status, body: await jsonBody(response) };
      } catch (error) {
        if (attempt >= this.retry.attempts) throw this.unreachable(error);
        await sleep(this.backoff(attempt));
        continue;
      }
      const { status } = answer;
      if (status < 300 || status === 403 || status === 404 || request.accept?.includes(status)) return answer;
      if (status === 503 && isSealed(answer)) throw this.sealed();
      const passing = status === 429 || status >= 500;
      if (!passing || attempt >= this.retry.attempts) throw this.refused(answer, subject);
      const wait = retryAfterMs ?? this.backoff(attempt);
      if (wait > this.retry.maxDelayMs) throw this.refused(answer, subject);
      await sleep(wait);
    }
  }

  /** The error for a Vault that is sealed. */
  sealed(): ZavhozError {
    return new ZavhozError(
      ErrorCodes.Unreachable,
      `Vault at ${this.address} is sealed: unseal it (vault operator unseal, or ask whoever holds the unseal keys), then try again. Personal secrets keep working meanwhile.`,
    );
  }

  private async fetchOnce(request: VaultRequest): Promise<Response> {
    const headers: Record<string, string> = {};
    if (request.token !== undefined) headers['X-Vault-Token'] = request.token;
    if (this.options.namespace) headers['X-Vault-Namespace'] = this.options.namespace;
    if (request.body !== undefined) headers['Content-Type'] = 'application/json';
    // LIST is sent as GET with list=true, as Vault's own CLI does: some HTTP stacks refuse unknown methods.
    const list = request.method === 'LIST';
    const url = `${this.address}/v1/${request.path}${list ? `${request.path.includes('?') ? '&' : '?'}list=true` : ''}`;
    return fetch(url, {
      method: list ? 'GET' : request.method,
      headers,
      ...(request.body === undefined ? {} : { body: JSON.stringify(request.body) }),
      signal: AbortSignal.timeout(this.options.timeoutMs ?? 15_000),
    });
  }

  private backoff(attempt: number): number {
    return this.retry.baseDelayMs * 2 ** (attempt - 1);
  }

  private unreachable(error: unknown): ZavhozError {
    const cause = networkCause(error);
    return new ZavhozError(
      ErrorCodes.Unreachable,
      `Cannot reach Vault at ${this.address} (${cause}): check that Vault runs and this machine reaches it (VPN, firewall), or correct the address with: zavhoz vault connect hashicorp --address URL … Personal secrets keep working meanwhile.`,
    );
  }

  private refused(answer: VaultAnswer, subject: string): ZavhozError {
    const reason = errorsOf(answer);
    if (answer.status === 429) {
      return new ZavhozError(ErrorCodes.RateLimited, `Vault at ${this.address} kept answering 429 (too many requests) for ${subject}: try again in a minute.`);
    }
    if (answer.status >= 500) {
      return new ZavhozError(
        ErrorCodes.Unreachable,
        `Vault at ${this.address} failed on ${subject} (HTTP ${answer.status}${reason ? `: ${reason}` : ''}) after ${this.retry.attempts} attempts: check Vault's health (vault status), then try again.`,
      );
    }
    return new ZavhozError(ErrorCodes.ProviderError, `Vault at ${this.address} refused ${subject} (HTTP ${answer.status}${reason ? `: ${reason}` : ''}).`);
  }
}

/** How much of Vault's errors a message quotes. */
const ERRORS_SHOWN = 300;

/**
 * Vault's `errors` array, joined, at most {@link ERRORS_SHOWN} characters. Vault's own wording quotes no token or
 * value, but a policy check's report (Sentinel, EGP) or a proxy in front of it may quote the request's data: a longer
 * text is cut where a word ends, since a value cut in two leaves a start the redactor does not know.
 */
export function errorsOf(answer: VaultAnswer): string {
  const errors = answer.body?.errors;
  if (!Array.isArray(errors)) return '';
  const text = errors.filter((item): item is string => typeof item === 'string').join('; ');
  if (text.length <= ERRORS_SHOWN) return text;
  // One character more than shown: when it is a space, the last word shown is whole and stays.
  return `${text.slice(0, ERRORS_SHOWN + 1).replace(/\S*$/, '').trimEnd()} …`;
}

function isSealed(answer: VaultAnswer): boolean {
  return /sealed/i.test(errorsOf(answer));
}

async function jsonBody(response: Response): Promise<Record<string, unknown> | undefined> {
  const text = await response.text();
  if (text.trim() === '') return undefined;
  try {
    const parsed: unknown = JSON.parse(text);
    return typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function retryAfter(header: string | null): number | undefined {
  if (header === null) return undefined;
  const seconds = Number(header);
  return Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : undefined;
}

function networkCause(error: unknown): string {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current instanceof Error; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    if (current.name === 'TimeoutError') return 'no answer within the time limit';
    current = current.cause;
  }
  return error instanceof Error ? error.message.slice(0, 120) : 'network error';
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
