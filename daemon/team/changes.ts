import crypto from 'node:crypto';
import type { ScopedLogger } from '../core/logger.js';
import type { Notifier } from '../core/notifier.js';
import { describeError } from '../core/errors.js';
import type { NotificationDefinition } from '../protocol/define.js';
import type { PostgresDatabase } from '../store/postgres/database.js';
import type { ChangeListener } from '../store/postgres/listener.js';

/** The channel every member's daemon announces its `area/didChange` notifications on. */
export const CHANGES_CHANNEL = 'zavhoz_changes';

/** PostgreSQL's limit on a NOTIFY payload is 8000 bytes; a notice that would pass it is split. */
const PAYLOAD_LIMIT = 7_800;

/** One change notice as sent between daemons: who sent it, the notification and its params (names, ids: no values). */
interface ChangeNotice {
  readonly origin: string;
  readonly method: string;
  readonly params: unknown;
}

/** What a relayed notification reaches on the receiving daemon. */
export interface ChangeRelayTargets {
  /** The daemon's clients (the RPC server): they get the other member's change as if it were made here. */
  readonly clients: Notifier;
  /** Called first for each notification another member's daemon sent (a settings reload, say). */
  readonly onRemoteChange?: (definition: NotificationDefinition<unknown>, params: unknown) => Promise<void> | void;
  /** Called when the listener was away and notices may have been missed: views should read afresh. */
  readonly onMissed?: () => void;
}

/**
 * Carries `area/didChange` notifications between the daemons of a team through PostgreSQL's LISTEN/NOTIFY: a change made
 * by member A's daemon reaches B's clients (trees refresh without polling). Only the notifications in `definitions`
 * travel, each checked against its schema on arrival; a daemon ignores its own notices.
 */
export class ChangeRelay {
  /** This daemon run's id, so it does not relay its own notices back to its clients. */
  private readonly origin = crypto.randomBytes(8).toString('hex');
  private readonly byMethod: Map<string, NotificationDefinition<unknown>>;
  private listener: ChangeListener | undefined;

  constructor(
    private readonly store: PostgresDatabase,
    definitions: readonly NotificationDefinition<unknown>[],
    private readonly log: ScopedLogger,
  ) {
    this.byMethod = new Map(definitions.map((definition) => [definition.method, definition]));
  }

  /** Starts listening; `targets` get what other members' daemons announce. */
  async start(targets: ChangeRelayTargets): Promise<void> {
    this.listener = await this.store.listen([CHANGES_CHANNEL], {
      onMessage: (_channel, payload) => this.receive(payload, targets),
      onLost: (reason) => this.log.warn('team change notices interrupted; reconnecting', { reason }),
      onReconnected: () => {
        this.log.info('team change notices back; some may have been missed');
        targets.onMissed?.();
      },
      onCallbackError: (error) => this.log.warn('a team change notice could not be handled', { error: describeError(error) }),
    });
  }

  /** True for the notifications this relay carries. */
  carries(method: string): boolean {
    return this.byMethod.has(method);
  }

  /** Announces a change made here to the other members' daemons. Never throws: a lost notice is logged. */
  publish(method: string, params: unknown): void {
    if (!this.byMethod.has(method)) return;
    const payloads = payloadsOf({ origin: this.origin, method, params });
    if (payloads.length === 0) this.log.warn('a team change notice is too long to send', { method });
    for (const payload of payloads) {
      this.store.notify(CHANGES_CHANNEL, payload).catch((error: unknown) => this.log.warn('a team change notice was not sent', { method, error: describeError(error) }));
    }
  }

  /** Stops listening. */
  async close(): Promise<void> {
    await this.listener?.close();
  }

  private async receive(payload: string, targets: ChangeRelayTargets): Promise<void> {
    const notice = JSON.parse(payload) as Partial<ChangeNotice>;
    if (notice.origin === this.origin || typeof notice.method !== 'string') return;
    const definition = this.byMethod.get(notice.method);
    if (!definition) return;
    const parsed = definition.params.safeParse(notice.params);
    if (!parsed.success) {
      this.log.warn('a team change notice did not match its schema', { method: notice.method });
      return;
    }
    await targets.onRemoteChange?.(definition, parsed.data);
    targets.clients.notify(definition, parsed.data);
  }
}

/** The notice as one payload, or split on its longest list when it would pass PostgreSQL's limit. */
function payloadsOf(notice: ChangeNotice): string[] {
  const text = JSON.stringify(notice);
  if (Buffer.byteLength(text) <= PAYLOAD_LIMIT) return [text];
  const params = notice.params as Record<string, unknown> | null;
  const listKey = params && typeof params === 'object' ? Object.keys(params).find((key) => Array.isArray(params[key]) && (params[key] as unknown[]).length > 1) : undefined;
  if (!params || listKey === undefined) return [];
  const list = params[listKey] as unknown[];
  const half = Math.ceil(list.length / 2);
  return [
    ...payloadsOf({ ...notice, params: { ...params, [listKey]: list.slice(0, half) } }),
    ...payloadsOf({ ...notice, params: { ...params, [listKey]: list.slice(half) } }),
  ];
}
