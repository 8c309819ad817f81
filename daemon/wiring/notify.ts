import type { AuditLog } from '../audit/auditLog.js';
import { describeError } from '../core/errors.js';
import type { ProjectLocks } from '../core/projectLocks.js';
import type { DeployService } from '../deploy/service.js';
import { PeriodicTask } from '../inventory/periodic.js';
import type { InventoryService } from '../inventory/service.js';
import { NotifyStore } from '../notify/records.js';
import { NotifyService } from '../notify/service.js';
import { createWatchers, type Watchers } from '../notify/watchers.js';
import type { OperationsService } from '../operations/service.js';
import type { NotificationDefinition } from '../protocol/define.js';
import { NotifyDidChange } from '../protocol/notify.js';
import { RunsDidChange } from '../protocol/runs.js';
import { SecretsDidChange } from '../protocol/secrets.js';
import { ServersDidChange } from '../protocol/servers.js';
import type { SettingsService } from '../settings/settings.js';
import type { Vault } from '../vault/vault.js';
import type { Foundation } from './services.js';

/** Something that hears every change notification the capabilities send to clients. */
export type NotificationObserver = (definition: NotificationDefinition<unknown>, params: unknown) => void;

/**
 * The foundation's server, with every `notify` also handed to observers: notifications learn of run ends, server
 * and secret changes from the announcements the capabilities already make, without a hook in each. An observer runs
 * after the clients were told, and cannot make the announcing code fail.
 */
export function tapNotifier(foundation: Foundation): { foundation: Foundation; observe(observer: NotificationObserver): void } {
  const observers: NotificationObserver[] = [];
  const target = foundation.server;
  const server = new Proxy(target, {
    get(object, key) {
      if (key === 'notify') {
        return <P>(definition: NotificationDefinition<P>, params: P): void => {
          object.notify(definition, params);
          for (const observer of observers) {
            try {
              observer(definition, params);
            } catch (error) {
              foundation.log.warn('a notification observer failed', { method: definition.method, error: describeError(error) });
            }
          }
        };
      }
      const value: unknown = Reflect.get(object, key, object);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(object) : value;
    },
  });
  return { foundation: { ...foundation, server }, observe: (observer) => observers.push(observer) };
}

/** What notifications are built from, besides the foundation. */
export interface NotifyNeeds {
  readonly settings: SettingsService;
  readonly audit: AuditLog;
  readonly vault: Vault;
  readonly deploy: DeployService;
  readonly inventory: InventoryService;
  readonly operations: OperationsService;
  readonly locks: ProjectLocks;
  /** Where the capabilities' change notifications are heard ({@link tapNotifier}). */
  readonly observe: (observer: NotificationObserver) => void;
}

/** Who the health round reads services as. */
const WATCH_CALLER = { client: 'daemon', requestId: 'notify-health', connectionId: 0 } as const;

/**
 * Builds the notification service, starts its delivery loop (messages a crash left queued go out now) and the
 * watchers: run ends, server and secret changes as announced, containers' health every
 * `healthCheckIntervalSeconds`, secrets due or expired every `rotationCheckIntervalSeconds` and at start. At shutdown
 * an attempt under way is aborted and its message stays queued for the next start.
 */
export async function wireNotify(foundation: Foundation, needs: NotifyNeeds): Promise<NotifyService> {
  const { store, redactor, logger, lifecycle } = foundation;
  const log = logger.child({ component: 'notify' });
  const records = new NotifyStore(store);
  const notify = new NotifyService({
    records,
    secrets: needs.vault,
    redactor,
    audit: needs.audit,
    log,
    bases: () => ({ telegramApiBase: needs.settings.get('telegramApiBase'), slackWebhookBase: needs.settings.get('slackWebhookBase') }),
    attempted: (id) => foundation.server.notify(NotifyDidChange, { id }),
  });
  const quietly = async <T>(read: () => Promise<T>): Promise<T | undefined> => {
    try {
      return await read();
    } catch {
      return undefined;
    }
  };
  const watchers = createWatchers(
    records,
    {
      run: (id) => quietly(() => needs.deploy.get(id)),
      server: (handle) => quietly(() => needs.inventory.inventory.show(handle)),
      serverStatuses: () => needs.inventory.inventory.statuses(),
      secret: (handle) => quietly(() => needs.vault.get(handle)),
      secrets: () => needs.vault.list(),
      secretVersions: () => needs.vault.allCurrentVersions(),
    },
    (event, tx) => notify.raise(event, tx),
  );
  // Later than the announcement: whatever announced the change goes on at once.
  // Settles once the work has run (a failure is logged, never rejected).
  const later = (work: (watch: Watchers) => Promise<void>): Promise<void> =>
    new Promise<void>((resolve) => {
      setImmediate(() => {
        work(watchers)
          .catch((error: unknown) => log.warn('a notification watcher failed', { error: describeError(error, redactor) }))
          .finally(resolve);
      });
    });
  needs.observe((definition, params) => {
    if (definition.method === RunsDidChange.method) void later((watch) => watch.runChanged((params as { id: string }).id));
    else if (definition.method === ServersDidChange.method) void later((watch) => watch.serversChanged((params as { handles: string[] }).handles));
    else if (definition.method === SecretsDidChange.method) void later((watch) => watch.secretsChanged((params as { handles: string[] }).handles));
  });
  lifecycle.startedInBackground?.(
    later(async (watch) => {
      await watch.seed();
      await watch.checkSecrets(new Date());
    }),
  );
  const health = new PeriodicTask(
    'service health watch',
    () => needs.settings.get('healthCheckIntervalSeconds'),
    async () => {
      const projects = await needs.operations.status(undefined, WATCH_CALLER);
      await watchers.servicesChecked(projects, (project) => needs.locks.holderOf(project) !== undefined);
    },
    log,
  );
  const secrets = new PeriodicTask('secret expiry watch', () => needs.settings.get('rotationCheckIntervalSeconds'), () => watchers.checkSecrets(new Date()), log);
  const unsubscribe = needs.settings.onDidChange((key) => {
    if (key === 'healthCheckIntervalSeconds') health.schedule();
    if (key === 'rotationCheckIntervalSeconds') secrets.schedule();
  });
  await notify.start();
  health.schedule();
  secrets.schedule();
  lifecycle.onShutdown(async () => {
    unsubscribe();
    await Promise.all([health.stop(), secrets.stop(), notify.stop()]);
  });
  return notify;
}
