import type { NotificationDefinition } from '../protocol/define.js';

/**
 * How domain modules tell every connected client that something changed, without knowing about sockets or
 * JSON-RPC. The daemon's server implements it by broadcasting.
 */
export interface Notifier {
  notify<P>(definition: NotificationDefinition<P>, params: P): void;
}
