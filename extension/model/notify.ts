import type { EndpointSettings, NotifyEndpoint } from '../../daemon/protocol/notify.js';
import { NOTIFY_EVENTS } from '../../daemon/protocol/notify.js';
import { relativeTime } from './format.js';

/** Where an endpoint's deliveries stand, for its icon and description. */
export type DeliveryState = 'failing' | 'pending' | 'delivered' | 'idle';

/** The endpoint's delivery state: failing (given up or last attempt failed), pending, last delivered, or never used. */
export function deliveryState(endpoint: NotifyEndpoint): DeliveryState {
  if (endpoint.failed > 0 || endpoint.lastError !== null) return 'failing';
  if (endpoint.pending > 0) return 'pending';
  return endpoint.lastDeliveredAt === null ? 'idle' : 'delivered';
}

/** One line for the tree row: kind, events and the last delivery ("slack · 3 events · delivered 5 min ago"). */
export function describeEndpoint(endpoint: NotifyEndpoint, now: Date): string {
  const events = endpoint.events.length === NOTIFY_EVENTS.length ? 'all events' : `${endpoint.events.length} event${endpoint.events.length === 1 ? '' : 's'}`;
  const state = deliveryState(endpoint);
  const last =
    state === 'failing'
      ? `${endpoint.failed > 0 ? `${endpoint.failed} failed` : 'failing'}${endpoint.pending > 0 ? `, ${endpoint.pending} pending` : ''}`
      : state === 'pending'
        ? `${endpoint.pending} pending`
        : endpoint.lastDeliveredAt
          ? `delivered ${relativeTime(endpoint.lastDeliveredAt, now)}`
          : 'nothing sent yet';
  return `${endpoint.kind} · ${events} · ${last}`;
}

/** Where an endpoint sends, by name and handle (never a value): the URL, chat, addresses and the credentials' handles. */
export function endpointTarget(settings: EndpointSettings): string {
  switch (settings.kind) {
    case 'webhook':
      return `${settings.url} (signed with ${settings.signingKeySecret})`;
    case 'slack':
      return `Slack webhook ${settings.urlSecret}`;
    case 'telegram':
      return `chat ${settings.chatId} with bot ${settings.botTokenSecret}`;
    case 'email':
      return `${settings.to.join(', ')} via ${settings.host}:${settings.port}${settings.user ? ` as ${settings.user}${settings.passwordSecret ? ` (${settings.passwordSecret})` : ''}` : ''}`;
  }
}
