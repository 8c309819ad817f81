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

/**
 * The params of a "read afresh" notice for each area, sent to this daemon's clients after the team's change notices
 * were interrupted (some may have been missed): empty lists and ids name no particular item, and a status that is not
 * `running`/`awaiting_approval` makes no client follow a run or prompt for an approval. Settings are told key by key.
 */
const REFRESH_PARAMS: Readonly<Record<string, unknown>> = {
  'allocations/didChange': { projects: [] },
  'approvals/didChange': { id: '', project: '', status: 'expired' },
  'domains/didChange': { projects: [] },
  'github/didChange': { repo: '', environment: null, names: [] },
  'notify/didChange': { id: '' },
  'releases/didChange': { project: '' },
  'runs/didChange': { id: '', project: '', status: 'succeeded' },
  'secrets/didChange': { handles: [], change: 'updated' },
  'servers/didChange': { handles: [] },
  'services/didChange': { project: '', action: 'restart', services: [] },
};

/**
 * A "read afresh" notice for every area whose notification is in `definitions` (except settings, told per key):
 * the table's params, or `{}` for an area added later, each checked against its schema (one that does not fit is
 * left out and named in `unfit`, so a new area's test notices).
 */
export function refreshNotices(definitions: readonly NotificationDefinition<unknown>[]): { notices: { definition: NotificationDefinition<unknown>; params: unknown }[]; unfit: string[] } {
  const notices: { definition: NotificationDefinition<unknown>; params: unknown }[] = [];
  const unfit: string[] = [];
  for (const definition of definitions) {
    if (definition.method === 'settings/didChange') continue;
    const parsed = definition.params.safeParse(REFRESH_PARAMS[definition.method] ?? {});
    if (parsed.success) notices.push({ definition, params: parsed.data });
    else unfit.push(definition.method);
  }
  return { notices, unfit };
}
