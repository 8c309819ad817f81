/**
 * A logged-in session with Vault: the token in use, renewed before it expires, or (AppRole) obtained again by a
 * new login when it cannot be renewed or Vault stops accepting it. Every token is registered with the redactor
 * the moment it is known.
 */
import { ZavhozError } from '../../core/errors.js';
import { ErrorCodes } from '../../protocol/errors.js';
import type { HashicorpAuth } from './connection.js';
import { errorsOf, type VaultAnswer, type VaultRequest, type VaultTransport } from './http.js';

/** Masks credentials; the daemon's Redactor. */
export interface CredentialMask {
  register(value: string): void;
}

/** A token and when it stops working (undefined: never, like a root or periodic-less non-expiring token). */
interface HeldToken {
  readonly token: string;
  readonly expiresAt: number | undefined;
  readonly renewable: boolean;
  readonly ttlMs: number;
}

/** Renew when less than this share of the token's life is left (and at least this many ms before it ends). */
const RENEW_SHARE = 0.2;
const RENEW_MARGIN_MS = 5_000;

/** Sends authenticated requests for one connection. */
export class VaultSession {
  private held: HeldToken | undefined;
  private obtaining: Promise<HeldToken> | undefined;

  constructor(
    private readonly transport: VaultTransport,
    private readonly auth: HashicorpAuth,
    private readonly mask: CredentialMask,
    private readonly now: () => number = Date.now,
  ) {
    if (auth.kind === 'token') mask.register(auth.token);
    else {
      mask.register(auth.roleId);
      mask.register(auth.secretId);
    }
  }

  /** The auth kind, for status. */
  get authKind(): HashicorpAuth['kind'] {
    return this.auth.kind;
  }

  /**
   * Sends a request with a valid token. A 403 with AppRole logs in again once and repeats the request (the token
   * may have been revoked or expired early); a 403 that remains is answered as a refusal naming the path.
   */
  async send(request: Omit<VaultRequest, 'token'>): Promise<VaultAnswer> {
    const token = await this.token();
    const answer = await this.transport.send({ ...request, token: token.token });
    if (answer.status !== 403) return answer;
    if (this.auth.kind === 'approle') {
      this.held = undefined;
      const fresh = await this.token();
      const again = await this.transport.send({ ...request, token: fresh.token });
      if (again.status !== 403) return again;
    }
    throw this.refusedToken(request.subject ?? request.path);
  }

  /** Checks the credentials now: a login (AppRole) or a token lookup, so `vault connect` fails at once when they are wrong. */
  async check(): Promise<{ ttlSeconds: number | null; renewable: boolean }> {
    this.held = undefined;
    const held = await this.token();
    return { ttlSeconds: held.expiresAt === undefined ? null : Math.round(held.ttlMs / 1000), renewable: held.renewable };
  }

  /** Seconds the held token has left (null: it does not expire, or none is held yet). */
  secondsLeft(): number | null {
    const expiresAt = this.held?.expiresAt;
    return expiresAt === undefined ? null : Math.max(0, Math.round((expiresAt - this.now()) / 1000));
  }

  /** The token to use: the held one, renewed or replaced when its time is nearly up. */
  private async token(): Promise<HeldToken> {
    const held = this.held;
    if (held && !this.needsRenewal(held)) return held;
    this.obtaining ??= this.obtain(held).finally(() => {
      this.obtaining = undefined;
    });
    this.held = await this.obtaining;
    return this.held;
  }

  private needsRenewal(held: HeldToken): boolean {
    if (held.expiresAt === undefined) return false;
    const left = held.expiresAt - this.now();
    return left < Math.max(held.ttlMs * RENEW_SHARE, RENEW_MARGIN_MS);
  }

  private async obtain(previous: HeldToken | undefined): Promise<HeldToken> {
    if (previous?.renewable && previous.expiresAt !== undefined && previous.expiresAt > this.now()) {
      const renewed = await this.transport.send({ method: 'POST', path: 'auth/token/renew-self', token: previous.token, body: {}, subject: 'token renewal' });
      if (renewed.status < 300) return this.fromAuth(renewed, previous.token);
      // A refused renewal (max TTL reached, token revoked) is not the end for AppRole: it logs in again below.
    }
    if (this.auth.kind === 'approle') return this.login(this.auth.roleId, this.auth.secretId, this.auth.mountPath ?? 'approle');
    if (previous) {
      // A token that cannot be renewed is used until its last second; then the user must give a new one.
      if (previous.expiresAt === undefined || previous.expiresAt > this.now()) return { ...previous, renewable: false };
      throw this.expiredToken();
    }
    return this.lookup(this.auth.token);
  }

  private async login(roleId: string, secretId: string, mountPath: string): Promise<HeldToken> {
    const answer = await this.transport.send({ method: 'POST', path: `auth/${mountPath}/login`, body: { role_id: roleId, secret_id: secretId }, subject: 'AppRole login', accept: [400] });
    if (answer.status >= 300) {
      throw new ZavhozError(
        ErrorCodes.AuthenticationFailed,
        `Vault at ${this.transport.address} refused the AppRole login (HTTP ${answer.status}${errorsOf(answer) ? `: ${errorsOf(answer)}` : ''}): the role id or secret id is wrong or the secret id expired. Get a new secret id (vault write -f auth/${mountPath}/role/ROLE/secret-id) and run: zavhoz vault connect hashicorp --approle ROLE_ID --secret-id-stdin …`,
      );
    }
    return this.fromAuth(answer, undefined);
  }

  private async lookup(token: string): Promise<HeldToken> {
    const answer = await this.transport.send({ method: 'GET', path: 'auth/token/lookup-self', token, subject: 'token lookup' });
    if (answer.status === 403) throw this.expiredToken();
    if (answer.status >= 300) throw new ZavhozError(ErrorCodes.AuthenticationFailed, `Vault at ${this.transport.address} could not look up the token (HTTP ${answer.status}).`);
    const data = (answer.body?.data ?? {}) as { ttl?: unknown; renewable?: unknown };
    const ttlSeconds = typeof data.ttl === 'number' ? data.ttl : 0;
    return {
      token,
      ttlMs: ttlSeconds * 1000,
      expiresAt: ttlSeconds > 0 ? this.now() + ttlSeconds * 1000 : undefined,
      renewable: data.renewable === true,
    };
  }

  private fromAuth(answer: VaultAnswer, fallbackToken: string | undefined): HeldToken {
    const auth = (answer.body?.auth ?? {}) as { client_token?: unknown; lease_duration?: unknown; renewable?: unknown };
    const token = typeof auth.client_token === 'string' ? auth.client_token : fallbackToken;
    if (token === undefined) throw new ZavhozError(ErrorCodes.ProviderError, `Vault at ${this.transport.address} answered a login without a token.`);
    this.mask.register(token);
    const ttlSeconds = typeof auth.lease_duration === 'number' ? auth.lease_duration : 0;
    return { token, ttlMs: ttlSeconds * 1000, expiresAt: ttlSeconds > 0 ? this.now() + ttlSeconds * 1000 : undefined, renewable: auth.renewable === true };
  }

  private expiredToken(): ZavhozError {
    return new ZavhozError(
      ErrorCodes.AuthenticationFailed,
      `Vault at ${this.transport.address} no longer accepts the token (expired or revoked): get a new one from your Vault admin and run: zavhoz vault connect hashicorp --token-stdin …`,
    );
  }

  private refusedToken(subject: string): ZavhozError {
    return new ZavhozError(
      ErrorCodes.AuthenticationFailed,
      `Vault refused the token for ${subject}: check the token's policy (it needs create, read, update, delete and list on the mount's data/ and metadata/ paths under the prefix), or reconnect with a token that has it: zavhoz vault connect hashicorp …`,
    );
  }
}
