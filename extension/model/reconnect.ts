/** Limits of {@link ReconnectPolicy}. */
export interface ReconnectLimits {
  /** After this many failures in a row the extension stops and asks the user. */
  readonly maxFailures: number;
  /** A connection that stayed up this long proves the daemon healthy again and clears the failure count. */
  readonly stableMs: number;
  /** First retry delay; each further failure doubles it up to {@link maxDelayMs}. */
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
}

/** Five failures in a row, with 0.5 s → 8 s backoff; a minute of uptime forgives earlier failures. */
export const DEFAULT_RECONNECT_LIMITS: ReconnectLimits = { maxFailures: 5, stableMs: 60_000, baseDelayMs: 500, maxDelayMs: 8_000 };

/**
 * Decides, each time a daemon connection cannot be made or goes away, whether to try again and how soon.
 *
 * A daemon that accepts the handshake and then crashes must count as failing: resetting the count on every
 * successful connect would restart such a daemon every half second forever. Only a connection that stayed up
 * for {@link ReconnectLimits.stableMs} clears the count.
 */
export class ReconnectPolicy {
  private failures = 0;
  private connectedAt: number | undefined;

  constructor(private readonly limits: ReconnectLimits = DEFAULT_RECONNECT_LIMITS) {}

  /** A connection was made at `now` (milliseconds). */
  connected(now: number): void {
    this.connectedAt = now;
  }

  /**
   * A connect attempt failed, or a connection closed, at `now`. Returns the delay before the next attempt in
   * milliseconds, or `undefined` when the extension should stop retrying and ask the user.
   */
  failed(now: number): number | undefined {
    if (this.connectedAt !== undefined && now - this.connectedAt >= this.limits.stableMs) this.failures = 0;
    this.connectedAt = undefined;
    this.failures++;
    if (this.failures >= this.limits.maxFailures) return undefined;
    return Math.min(this.limits.baseDelayMs * 2 ** (this.failures - 1), this.limits.maxDelayMs);
  }

  /** Forgets every failure (the user asked for a restart). */
  reset(): void {
    this.failures = 0;
    this.connectedAt = undefined;
  }
}
