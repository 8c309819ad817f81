import pg from 'pg';

/** What a {@link ChangeListener} tells its owner. */
export interface ChangeListenerEvents {
  /** A notification on one of the channels. */
  onMessage(channel: string, payload: string): void;
  /**
   * The listening connection is back after it was lost: notifications sent meanwhile were missed, so the owner reads
   * afresh what it shows.
   */
  onReconnected?(): void;
  /** The listening connection was lost (it is being re-established). */
  onLost?(reason: string): void;
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
      this.events.onLost?.(reason);
      this.scheduleReconnect();
    };
    client.on('error', (error) => onLost(error.message));
    client.on('end', () => onLost('the connection ended'));
    client.on('notification', (message) => {
      if (message.payload !== undefined) this.events.onMessage(message.channel, message.payload);
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

  private scheduleReconnect(): void {
    const delay = RETRY_DELAYS_MS[Math.min(this.attempt, RETRY_DELAYS_MS.length - 1)] ?? 5_000;
    this.attempt++;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.closed) return;
      this.connect().then(
        () => {
          if (!this.closed) this.events.onReconnected?.();
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
