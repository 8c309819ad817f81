import pg from 'pg';

/** What a {@link ChangeListener} tells its owner. */
export interface ChangeListenerEvents {
  /** A notification on one of the channels; a returned promise's rejection goes to `onCallbackError` too. */
  onMessage(channel: string, payload: string): unknown;
  /**
   * The listening connection is back after it was lost: notifications sent meanwhile were missed, so the owner reads
   * afresh what it shows.
   */
  onReconnected?(): void;
  /** The listening connection was lost (it is being re-established). */
  onLost?(reason: string): void;
  /**
   * One of the callbacks above threw: the listener caught it (a throw inside the driver's event would otherwise be
   * an uncaught exception that ends the daemon) and goes on listening.
   */
  onCallbackError?(error: unknown, callback: 'onMessage' | 'onReconnected' | 'onLost'): void;
}

/** Channel names are interpolated into LISTEN (it takes no parameters): plain lower-case names only. */
const CHANNEL = /^[a-z_][a-z0-9_]{0,62}$/;

/** Delays between attempts to get the listening connection back: quick at first, then every few seconds. */
const RETRY_DELAYS_MS = [100, 250, 500, 1_000, 2_000, 5_000];

/**
 * One dedicated connection that LISTENs on the given channels (a pooled connection cannot: it is handed to other
 * work between statements). When the server goes away it reconnects by itself, with growing delays, listens again
 * and says so, since what was sent in between is lost.
 */
export class ChangeListener {
  private client: pg.Client | undefined;
  private closed = false;
  private attempt = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly config: pg.ClientConfig,
    private readonly channels: readonly string[],
    private readonly events: ChangeListenerEvents,
  ) {
    for (const channel of channels) {
      if (!CHANNEL.test(channel)) throw new Error(`store: ${JSON.stringify(channel)} is not a channel name (lower-case letters, digits, _)`);
    }
  }

  /** Connects and listens; rejects if the first connection fails (later losses are retried in the background). */
  async start(): Promise<void> {
    await this.connect();
  }

  /** Stops listening and reconnecting. Safe to call twice. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }

  private async connect(): Promise<void> {
    const client = new pg.Client(this.config);
    let lost = false;
    const onLost = (reason: string): void => {
      if (lost) return;
      lost = true;
      if (this.client === client) this.client = undefined;
      client.end().catch(() => undefined);
      if (this.closed) return;
      this.call('onLost', () => this.events.onLost?.(reason));
      this.scheduleReconnect();
    };
    client.on('error', (error) => onLost(error.message));
    client.on('end', () => onLost('the connection ended'));
    client.on('notification', (message) => {
      const payload = message.payload;
      if (payload !== undefined) this.call('onMessage', () => this.events.onMessage(message.channel, payload));
    });
    try {
      await client.connect();
      for (const channel of this.channels) await client.query(`LISTEN ${channel}`);
    } catch (error) {
      lost = true;
      await client.end().catch(() => undefined);
      throw error;
    }
    if (this.closed) {
      await client.end().catch(() => undefined);
      return;
    }
    this.client = client;
    this.attempt = 0;
  }

  /** Runs one of the owner's callbacks; what it throws goes to `onCallbackError`, never into the driver's events. */
  private call(name: 'onMessage' | 'onReconnected' | 'onLost', callback: () => unknown): void {
    const report = (error: unknown): void => {
      try {
        this.events.onCallbackError?.(error, name);
      } catch {
        // The owner's own error report failed too: nothing more can be told, and listening goes on.
      }
    };
    try {
      // An async callback's rejection is caught as well as a plain throw.
      const result = callback();
      if (result instanceof Promise) result.catch(report);
    } catch (error) {
      report(error);
    }
  }

  private scheduleReconnect(): void {
    const delay = RETRY_DELAYS_MS[Math.min(this.attempt, RETRY_DELAYS_MS.length - 1)] ?? 5_000;
    this.attempt++;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.closed) return;
      this.connect().then(
        () => {
          if (!this.closed) this.call('onReconnected', () => this.events.onReconnected?.());
        },
        () => {
          // A store closed while this attempt was under way schedules nothing more: no timer outlives close().
          if (!this.closed) this.scheduleReconnect();
        },
      );
    }, delay);
    // Reconnecting must not keep a daemon that is otherwise done alive.
    this.timer.unref();
  }
}
