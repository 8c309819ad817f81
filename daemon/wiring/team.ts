import { describeError } from '../core/errors.js';
import type { NotificationDefinition } from '../protocol/define.js';
import { SettingsDidChange } from '../protocol/settings.js';
import type { SettingsService } from '../settings/settings.js';
import { ChangeRelay } from '../team/changes.js';
import { changeNotifications } from '../team/definitions.js';
import { defaultMemberName } from '../team/record.js';
import { TeamService } from '../team/service.js';
import type { Vault } from '../vault/vault.js';
import type { Foundation } from './services.js';

/** What the rest of the wiring gets from team mode. */
export interface TeamWiring {
  /** The foundation whose notifier also tells the team's other daemons (the same one outside a team). */
  readonly foundation: Foundation;
  /** This daemon's member name (the joined team's, else user@host). */
  readonly member: string;
  /** Reloads the settings when another member's daemon changed one; call once the settings service exists. */
  followSettings(settings: SettingsService): void;
}

/**
 * On a team's store, `area/didChange` notifications travel between the members' daemons through PostgreSQL
 * LISTEN/NOTIFY: what this daemon announces is also sent to the others, and what they announce reaches this daemon's
 * clients (after the settings cache reloaded, for a setting). Outside a team, nothing changes.
 */
export async function wireTeamChanges(base: Foundation): Promise<TeamWiring> {
  const team = base.team;
  const member = team?.record.member ?? defaultMemberName();
  if (!team) return { foundation: base, member, followSettings: () => undefined };
  const log = base.logger.child({ component: 'team' });
  const relay = new ChangeRelay(team.store, changeNotifications(), log);
  let settings: SettingsService | undefined;
  const clients = base.server;
  await relay.start({
    clients,
    onRemoteChange: async (definition, params) => {
      if (definition.method === SettingsDidChange.method && settings) {
        await settings.reload((params as { key: Parameters<SettingsService['reload']>[0] }).key);
      }
    },
  });
  base.lifecycle.onShutdown(() => relay.close());
  const server = new Proxy(clients, {
    get(object, key) {
      if (key === 'notify') {
        return <P>(definition: NotificationDefinition<P>, params: P): void => {
          object.notify(definition, params);
          try {
            relay.publish(definition.method, params);
          } catch (error) {
            log.warn('a team change notice was not sent', { method: definition.method, error: describeError(error) });
          }
        };
      }
      const value: unknown = Reflect.get(object, key, object);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(object) : value;
    },
  });
  return {
    foundation: { ...base, server },
    member,
    followSettings: (service) => {
      settings = service;
    },
  };
}

/** The team service behind `team/*`. */
export function wireTeamService(foundation: Foundation, needs: { readonly vault: Vault }): TeamService {
  return new TeamService({
    folder: foundation.paths.folder,
    local: foundation.localStore ?? foundation.store,
    running: foundation.team,
    vault: needs.vault,
    redactor: foundation.redactor,
    log: foundation.logger.child({ component: 'team' }),
  });
}
