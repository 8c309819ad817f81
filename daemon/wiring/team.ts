import { describeError } from '../core/errors.js';
import type { NotificationDefinition } from '../protocol/define.js';
import { SecretsDidChange } from '../protocol/secrets.js';
import { ServersDidChange } from '../protocol/servers.js';
import { SettingsDidChange, SettingSchemas } from '../protocol/settings.js';
import type { Notifier } from '../core/notifier.js';
import type { ScopedLogger } from '../core/logger.js';
import type { SettingsService } from '../settings/settings.js';
import { ChangeRelay } from '../team/changes.js';
import { changeNotifications, refreshNotices } from '../team/definitions.js';
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
  /** Hears the handles of secrets another member's daemon changed (team secrets), once there is a listener. */
  followSecrets(listener: (handles: readonly string[]) => void): void;
  /** Hears the handles of servers another member's daemon changed; an empty list when notices may have been missed. */
  followServers(listener: (handles: readonly string[]) => void): void;
}

/**
 * On a team's store, `area/didChange` notifications travel between the members' daemons through PostgreSQL
 * LISTEN/NOTIFY: what this daemon announces is also sent to the others, and what they announce reaches this daemon's
 * clients (after the settings cache reloaded, for a setting). Outside a team, nothing changes.
 */
export async function wireTeamChanges(base: Foundation): Promise<TeamWiring> {
  const team = base.team;
  const member = team?.record.member ?? defaultMemberName();
  if (!team) return { foundation: base, member, followSettings: () => undefined, followSecrets: () => undefined, followServers: () => undefined };
  const log = base.logger.child({ component: 'team' });
  let settings: SettingsService | undefined;
  let secrets: ((handles: readonly string[]) => void) | undefined;
  let servers: ((handles: readonly string[]) => void) | undefined;
  const clients = base.server;
  const definitions = changeNotifications();
  const relay = new ChangeRelay(team.store, definitions, log);
  await relay.start({
    clients,
    onRemoteChange: async (definition, params) => {
      if (definition.method === SettingsDidChange.method && settings) {
        await settings.reload((params as { key: Parameters<SettingsService['reload']>[0] }).key);
      }
      if (definition.method === SecretsDidChange.method) secrets?.((params as { handles: readonly string[] }).handles);
      if (definition.method === ServersDidChange.method) servers?.((params as { handles: readonly string[] }).handles);
    },
    // Notices sent while the listener was away are lost: every area is told to read afresh, settings first reloaded.
    onMissed: () => {
      servers?.([]);
      void refreshEverything(clients, definitions, settings, log);
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
    followSecrets: (listener) => {
      secrets = listener;
    },
    followServers: (listener) => {
      servers = listener;
    },
  };
}

/** The team service behind `team/*`; `secrets` hears the handles of changed secrets (here and other members'). */
export function wireTeamService(foundation: Foundation, needs: { readonly vault: Vault; readonly secrets: (listener: (handles: readonly string[]) => void) => void }): TeamService {
  const service = new TeamService({
    folder: foundation.paths.folder,
    local: foundation.localStore ?? foundation.store,
    running: foundation.team,
    vault: needs.vault,
    redactor: foundation.redactor,
    log: foundation.logger.child({ component: 'team' }),
  });
  // A rotated database password reaches the keychain copy the next start (and every new connection) reads.
  needs.secrets((handles) => {
    service.secretsChanged(handles).catch((error: unknown) =>
      foundation.logger.child({ component: 'team' }).warn("the keychain copy of the team database's password could not follow its vault secret; run zavhoz team join again", { error: describeError(error) }),
    );
  });
  return service;
}

/**
 * After the team's change notices were interrupted: reloads every setting (telling clients of each) and sends one
 * "read afresh" notice per area, so trees and views catch up with what other members changed meanwhile.
 */
async function refreshEverything(clients: Notifier, definitions: readonly NotificationDefinition<unknown>[], settings: SettingsService | undefined, log: ScopedLogger): Promise<void> {
  try {
    if (settings) {
      for (const key of Object.keys(SettingSchemas) as (keyof typeof SettingSchemas)[]) {
        await settings.reload(key);
        clients.notify(SettingsDidChange, { key });
      }
    }
    const { notices, unfit } = refreshNotices(definitions);
    for (const notice of notices) clients.notify(notice.definition, notice.params);
    if (unfit.length > 0) log.warn('some areas could not be told to read afresh', { methods: unfit.join(', ') });
    log.info('clients told to read afresh after the team change notices were interrupted', { areas: notices.length });
  } catch (error) {
    log.warn('clients could not be told to read afresh', { error: describeError(error) });
  }
}
