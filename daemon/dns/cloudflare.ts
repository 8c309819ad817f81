/**
 * DNS records through Cloudflare's API (v4): the zone found by name, then the domain's A or AAAA record created,
 * updated or deleted. The API token is lent by the vault for the length of one operation and sent only as a bearer
 * header; nothing Cloudflare answers is taken as trusted text beyond its error messages, which never hold the token.
 */
import { isIP } from 'node:net';
import { ZavhozError } from '../core/errors.js';
import { ErrorCodes } from '../protocol/errors.js';

/** The record type for an address: A for IPv4, AAAA for IPv6, none for a host name. */
export function recordTypeOf(address: string): 'A' | 'AAAA' | undefined {
  const version = isIP(address.replace(/^\[|\]$/g, ''));
  return version === 4 ? 'A' : version === 6 ? 'AAAA' : undefined;
}

/** What {@link CloudflareDns.upsert} did. */
export type DnsAction = 'created' | 'updated' | 'unchanged';

/** What the client is built from. */
export interface CloudflareOptions {
  /** `https://api.cloudflare.com/client/v4`, or a loopback stand-in in tests. */
  readonly apiBase: string;
  /** The API token, lent for one call. */
  readonly token: string;
  /** Longest wait a 429 may ask for before the call gives up (default 30 s). */
  readonly maxRetryWaitMs?: number;
  readonly signal?: AbortSignal | undefined;
}

interface CloudflareAnswer<T> {
  readonly success: boolean;
  readonly errors?: readonly { readonly code?: number; readonly message?: string }[];
  readonly result: T;
}

interface Zone {
  readonly id: string;
  readonly name: string;
}

interface DnsRecord {
  readonly id: string;
  readonly type: string;
  readonly name: string;
  readonly content: string;
}

const ATTEMPTS = 4;

/** One Cloudflare session: a token and an API base. */
export class CloudflareDns {
  constructor(private readonly options: CloudflareOptions) {}

  /** Points `name` at `content` with a record of `type`, creating or updating the one record of that name and type. */
  async upsert(name: string, type: 'A' | 'AAAA', content: string): Promise<DnsAction> {
    const zone = await this.zoneOf(name);
    const records = await this.call<DnsRecord[]>('GET', `/zones/${zone.id}/dns_records?type=${type}&name=${encodeURIComponent(name)}`);
    const existing = records[0];
    const body = { type, name, content, ttl: 1, proxied: false };
    if (!existing) {
      await this.call('POST', `/zones/${zone.id}/dns_records`, body);
      return 'created';
    }
    if (existing.content === content) return 'unchanged';
    await this.call('PUT', `/zones/${zone.id}/dns_records/${existing.id}`, body);
    return 'updated';
  }

  /** Deletes the records of `name` of that type; true if one was there. */
  async remove(name: string, type: 'A' | 'AAAA'): Promise<boolean> {
    const zone = await this.zoneOf(name);
    const records = await this.call<DnsRecord[]>('GET', `/zones/${zone.id}/dns_records?type=${type}&name=${encodeURIComponent(name)}`);
    for (const record of records) await this.call('DELETE', `/zones/${zone.id}/dns_records/${record.id}`);
    return records.length > 0;
  }

  /** The most specific zone the token sees that holds `name` (`shop.eu.example.com` → `eu.example.com` or `example.com`). */
  private async zoneOf(name: string): Promise<Zone> {
    const labels = name.replace(/^\*\./, '').split('.');
    for (let start = 0; start <= labels.length - 2; start += 1) {
      const candidate = labels.slice(start).join('.');
      const zones = await this.call<Zone[]>('GET', `/zones?name=${encodeURIComponent(candidate)}`);
      const zone = zones.find((entry) => entry.name === candidate);
      if (zone) return zone;
    }
    throw new ZavhozError(
      ErrorCodes.NotFound,
      `Cloudflare has no zone for ${name} that the DNS token can see. Add the zone to the Cloudflare account, or give the token Zone:Read and DNS:Edit on it.`,
    );
  }

  private async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const url = `${this.options.apiBase.replace(/\/+$/, '')}${path}`;
    for (let attempt = 1; ; attempt += 1) {
      let response: Response;
      try {
        response = await fetch(url, {
          method,
          headers: { authorization: `Bearer ${this.options.token}`, 'content-type': 'application/json', accept: 'application/json' },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
          ...(this.options.signal ? { signal: this.options.signal } : {}),
        });
      } catch (error) {
        if (this.options.signal?.aborted) throw new ZavhozError(ErrorCodes.RequestCancelled, 'The DNS change was cancelled.');
        throw new ZavhozError(ErrorCodes.Unreachable, `Cloudflare's API (${new URL(url).host}) could not be reached: ${error instanceof Error ? error.message : String(error)}.`);
      }
      if (response.status === 429) {
        const wait = retryAfterMs(response.headers.get('retry-after'));
        await response.body?.cancel();
        if (attempt >= ATTEMPTS || wait > (this.options.maxRetryWaitMs ?? 30_000)) {
          throw new ZavhozError(ErrorCodes.RateLimited, `Cloudflare is rate-limiting this token (asked to wait ${Math.ceil(wait / 1000)} s). Try again later.`);
        }
        await new Promise((resolve) => setTimeout(resolve, wait));
        continue;
      }
      const answer = (await response.json().catch(() => undefined)) as CloudflareAnswer<T> | undefined;
      if (response.status === 401 || response.status === 403) {
        throw new ZavhozError(
          ErrorCodes.AuthenticationFailed,
          `Cloudflare refused the DNS token (${response.status}${firstError(answer)}). Store a token with Zone:Read and DNS:Edit with \`zavhoz secret set\` (category domain) and set it with \`zavhoz config set dnsTokenSecret HANDLE\`.`,
        );
      }
      if (!response.ok || !answer?.success) {
        throw new ZavhozError(ErrorCodes.ProviderError, `Cloudflare answered ${method} ${path.split('?')[0] ?? ''} with ${response.status}${firstError(answer)}.`);
      }
      return answer.result;
    }
  }
}

function firstError(answer: CloudflareAnswer<unknown> | undefined): string {
  const error = answer?.errors?.[0];
  return error ? `: ${(error.message ?? '').slice(0, 200)}${error.code === undefined ? '' : ` (code ${error.code})`}` : '';
}

/** `Retry-After` in seconds (or an HTTP date) as milliseconds; 1 s when absent or unreadable. */
function retryAfterMs(header: string | null): number {
  if (header === null) return 1000;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(header);
  return Number.isNaN(date) ? 1000 : Math.max(0, date - Date.now());
}
