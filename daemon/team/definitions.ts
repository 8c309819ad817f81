import type { NotificationDefinition } from '../protocol/define.js';
import * as protocol from '../protocol/index.js';

/**
 * Every change notification (`area/didChange`) the protocol declares: what the daemons of a team relay to each other.
 * Read from the declarations, so a new area's notification travels without a list to keep.
 */
export function changeNotifications(): NotificationDefinition<unknown>[] {
  const found: NotificationDefinition<unknown>[] = [];
  for (const value of Object.values(protocol) as unknown[]) {
    if (typeof value !== 'object' || value === null) continue;
    const candidate = value as Partial<NotificationDefinition<unknown>>;
    if (typeof candidate.method === 'string' && candidate.method.endsWith('/didChange') && typeof candidate.params?.safeParse === 'function') {
      found.push(candidate as NotificationDefinition<unknown>);
    }
  }
  return found;
}
