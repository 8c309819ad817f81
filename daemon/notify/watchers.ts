import type { RunDetail } from '../protocol/runs.js';
import type { SecretMetadata } from '../protocol/secretFields.js';
import type { ServerInfo } from '../protocol/servers.js';
import type { ProjectStatus, ServiceStatus } from '../protocol/services.js';
import type { DatabaseTransaction as Transaction } from '../store/database.js';
import type { NotifyStore } from './records.js';
import type { NotifyEvent } from './service.js';

/**
 * Turn what the daemon announces (run, server and secret changes) and what the periodic checks find (containers'
 * health, secrets falling due or expiring) into events. Each remembers what it last saw in the store, so a change is
 * told once, also across restarts (what was seen and the event it raised are written in one transaction, so a crash
 * loses neither alone); a subject seen for the first time is only recorded (no event for what was so
 * before notifications were set up), except a server the provider sync has just discovered.
 */
export interface Watchers {
  /** A run changed status (`runs/didChange`). */
  runChanged(id: string): Promise<void>;
  /** Servers changed (`servers/didChange`). */
  serversChanged(handles: readonly string[]): Promise<void>;
  /** Secrets were updated (`secrets/didChange`): a new version is a rotation. */
  secretsChanged(handles: readonly string[]): Promise<void>;
  /** Looks for secrets that fell due for rotation or expired. */
  checkSecrets(now: Date): Promise<void>;
  /** Compares each deployed project's containers with what was seen last. */
  servicesChecked(projects: readonly ProjectStatus[], busy: (project: string) => boolean): Promise<void>;
  /** Records the present state of servers and secrets without raising anything (the first start). */
  seed(): Promise<void>;
}

/** What the watchers read. */
export interface WatchedSources {
  run(id: string): Promise<RunDetail | undefined>;
  server(handle: string): Promise<ServerInfo | undefined>;
  /**
   * Every managed server's handle and status, all the seed records: a start with 10,000 servers read their whole rows
   * for it (45 MB of short-lived objects, which V8 kept as heap long after: `npm run bench -- inventory`).
   */
  serverStatuses(): Promise<readonly { readonly handle: string; readonly status: string }[]>;
  secret(handle: string): Promise<SecretMetadata | undefined>;
  secrets(): Promise<readonly SecretMetadata[]>;
  /** Every secret's handle and current version, all the seed records (not the metadata and location of each). */
  secretVersions(): Promise<readonly { readonly handle: string; readonly version: number }[]>;
}

const ENDED = new Set(['succeeded', 'failed']);
const DAY_MS = 24 * 60 * 60 * 1000;

/** What a watcher saw of a key before: `first` when never, `changed` when it was another value. */
interface Seen {
  readonly first: boolean;
  readonly changed: boolean;
  readonly before: string | undefined;
}

/**
 * Builds the watchers over the sources, recording in `records` and raising through `raise`, which queues the event
 * within the transaction `tx` that records what was seen (and throws to roll it back, so the change is told later).
 */
export function createWatchers(records: NotifyStore, sources: WatchedSources, raise: (event: NotifyEvent, tx: Transaction) => Promise<void>): Watchers {
  const at = (): string => new Date().toISOString();
  /** Records `value` for `key` and raises what `decide` makes of it, in one transaction. */
  const note = async (key: string, value: string, decide: (seen: Seen) => NotifyEvent | undefined): Promise<void> => {
    await records.atomically(async (tx) => {
      const before = await records.see(key, value, at(), tx);
      const event = decide({ first: before === undefined, changed: before !== undefined && before !== value, before });
      if (event !== undefined) await raise(event, tx);
    });
  };
  return {
    async runChanged(id) {
      const run = await sources.run(id);
      if (run === undefined || !ENDED.has(run.status)) return;
      await note(`run:${id}`, run.status, (seen) => (seen.first ? runEvent(run) : undefined));
    },
    async serversChanged(handles) {
      for (const handle of handles) {
        const server = await sources.server(handle);
        if (server === undefined || !server.managed) continue;
        const name = server.name === server.handle ? server.handle : `${server.handle} (${server.name})`;
        await note(`server:${handle}`, server.status, (seen): NotifyEvent | undefined => {
          if (seen.first && server.status === 'discovered') {
            return { kind: 'server.discovered', subject: handle, title: `Server discovered: ${name}`, text: `The provider sync found server ${name}. Check it with: zavhoz server check ${handle}`, detail: { server: handle } };
          } else if (seen.changed && server.status === 'missing') {
            return { kind: 'server.missing', subject: handle, title: `Server missing: ${name}`, text: `The provider no longer lists server ${name}${server.missingSince ? ` (since ${server.missingSince})` : ''}.`, detail: { server: handle } };
          } else if (seen.changed && server.status === 'unreachable') {
            return { kind: 'server.unreachable', subject: handle, title: `Server unreachable: ${name}`, text: `Server ${name} did not answer its health check${server.lastCheckError ? `: ${server.lastCheckError}` : '.'}`, detail: { server: handle } };
          }
          return undefined;
        });
      }
    },
    async secretsChanged(handles) {
      for (const handle of handles) {
        const secret = await sources.secret(handle);
        if (secret === undefined) continue;
        await note(`secret-version:${handle}`, String(secret.version), (seen) =>
          seen.changed && Number(seen.before) < secret.version
            ? {
                kind: 'secret.rotated',
                subject: handle,
                title: `Secret rotated: ${secret.name}`,
                text: `Secret ${secret.name} (${handle}${secret.project ? `, project ${secret.project}` : ''}) has a new value, version ${secret.version}.`,
                detail: { handle, name: secret.name, project: secret.project, version: secret.version },
              }
            : undefined,
        );
      }
    },
    async checkSecrets(now) {
      for (const secret of await sources.secrets()) {
        const label = `${secret.name} (${secret.handle}${secret.project ? `, project ${secret.project}` : ''})`;
        const changedAt = Date.parse(secret.updatedAt);
        if (secret.rotationDays !== null && secret.rotationDays > 0 && !Number.isNaN(changedAt)) {
          const dueSince = new Date(changedAt + secret.rotationDays * DAY_MS);
          // Once per version: the next rotation makes the secret due again some day.
          if (dueSince <= now) {
            await note(`secret-due:${secret.handle}`, String(secret.version), (seen) =>
              seen.before !== String(secret.version)
                ? {
                    kind: 'secret.due',
                    subject: secret.handle,
                    title: `Secret due for rotation: ${secret.name}`,
                    text: `Secret ${label} is due for rotation since ${dueSince.toISOString()}. Rotate it with: zavhoz secret rotate ${secret.handle}`,
                    detail: { handle: secret.handle, name: secret.name, project: secret.project, dueSince: dueSince.toISOString() },
                  }
                : undefined,
            );
          }
        }
        const expiresAt = secret.expiresAt;
        if (expiresAt !== null && Date.parse(expiresAt) <= now.getTime()) {
          await note(`secret-expired:${secret.handle}`, expiresAt, (seen) =>
            seen.before !== expiresAt
              ? {
                  kind: 'secret.expired',
                  subject: secret.handle,
                  title: `Secret expired: ${secret.name}`,
                  text: `Secret ${label} expired at ${expiresAt}. Give it a new value with: zavhoz secret rotate ${secret.handle}`,
                  detail: { handle: secret.handle, name: secret.name, project: secret.project, expiresAt },
                }
              : undefined,
          );
        }
      }
    },
    async servicesChecked(projects, busy) {
      for (const project of projects) {
        // A deploy or a restart under way restarts containers on purpose; the unreachable server has its own event.
        if (project.state !== 'deployed' || busy(project.project)) continue;
        for (const service of project.services) {
          const health = healthOf(service);
          if (health === undefined) continue;
          await note(`service:${project.project}/${service.container}`, health, (seen): NotifyEvent | undefined => {
            if (health === 'unhealthy' && (seen.first || seen.changed)) {
              return {
                kind: 'service.unhealthy',
                subject: `${project.project}/${service.service}`,
                title: `Service unhealthy: ${project.project}/${service.service}`,
                text: `Container ${service.container} of ${project.project} on ${project.server} is ${service.state}${service.health === 'unhealthy' ? ' and fails its health check' : ''} (restarts: ${service.restarts}). Its logs: zavhoz service logs ${project.project}`,
                detail: { project: project.project, service: service.service, container: service.container, server: project.server, state: service.state, health: service.health },
              };
            } else if (health === 'healthy' && seen.changed) {
              return {
                kind: 'service.recovered',
                subject: `${project.project}/${service.service}`,
                title: `Service recovered: ${project.project}/${service.service}`,
                text: `Container ${service.container} of ${project.project} on ${project.server} runs${service.health === 'healthy' ? ' and passes its health check' : ''} again.`,
                detail: { project: project.project, service: service.service, container: service.container, server: project.server },
              };
            }
            return undefined;
          });
        }
      }
    },
    async seed() {
      const unseen: [key: string, value: string][] = [];
      // Read at once: a query per server held the daemon's thread for every start with 5,000 servers (the loop never
      // waited for I/O), and the Servers view's first list waited behind it (`npm run bench -- servers-tree`).
      const seen = await records.seenKeys();
      for (const server of await sources.serverStatuses()) {
        if (!seen.has(`server:${server.handle}`)) unseen.push([`server:${server.handle}`, server.status]);
      }
      for (const secret of await sources.secretVersions()) {
        if (!seen.has(`secret-version:${secret.handle}`)) unseen.push([`secret-version:${secret.handle}`, String(secret.version)]);
      }
      // One durable transaction for all of them: one each cost the first start after a sync of 5,000 servers 5,000
      // fsyncs, during which the store's queue kept every client's request waiting (`npm run bench -- servers-tree`).
      if (unseen.length > 0) {
        await records.atomically(async (tx) => {
          for (const [key, value] of unseen) await records.see(key, value, at(), tx);
        });
      }
    },
  };
}

/** `unhealthy` for a container that is down or fails its check, `healthy` for one that runs, undefined while it starts. */
function healthOf(service: ServiceStatus): 'healthy' | 'unhealthy' | undefined {
  if (service.health === 'starting') return undefined;
  if (service.state !== 'running' || service.health === 'unhealthy') return 'unhealthy';
  return 'healthy';
}

/** The event of a run that ended: succeeded, failed, or failed and rolled back (a rollback run that succeeded too). */
function runEvent(run: RunDetail): NotifyEvent {
  const what = run.kind === 'rollback' ? 'Rollback' : 'Deploy';
  const detail = { run: run.id, project: run.project, kind: run.kind, repository: run.repository, ref: run.ref, release: run.releaseId };
  const log = `Its log: zavhoz run log ${run.id}`;
  if (run.status === 'succeeded') {
    if (run.kind === 'rollback') {
      return { kind: 'run.rolled_back', alsoAs: 'run.succeeded', subject: run.project, title: `${run.project} rolled back`, text: `Rollback run ${run.id} of ${run.project} succeeded${run.rollbackTo ? `: release ${run.rollbackTo} runs again` : ''}.`, detail };
    }
    return { kind: 'run.succeeded', subject: run.project, title: `${run.project} deployed`, text: `Deploy run ${run.id} of ${run.project} (${run.repository}@${run.ref}) succeeded.`, detail };
  }
  const rolledBack = run.steps.some((step) => step.name === 'health' && (step.detail ?? '').includes('rolled back to release'));
  const error = run.error ?? 'no reason was recorded';
  if (rolledBack) {
    return { kind: 'run.rolled_back', alsoAs: 'run.failed', subject: run.project, title: `${run.project}: deploy failed and was rolled back`, text: `${what} run ${run.id} of ${run.project} failed: ${error} ${log}`, detail };
  }
  return { kind: 'run.failed', subject: run.project, title: `${run.project}: ${what.toLowerCase()} failed`, text: `${what} run ${run.id} of ${run.project} failed: ${error} ${log}`, detail };
}
