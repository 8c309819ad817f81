/** Turns the status script's output (remote.ts `statusScript`) into the rows of `services/status`. */
import type { ProjectStatus, ServiceHealth, ServiceStatus } from '../protocol/services.js';
import type { Placement } from './ports.js';
import { FIELD, MARK, projectFolder } from './remote.js';

/** A container line of the status script, before it is tied to a project's modules. */
export interface ContainerRow {
  readonly project: string;
  readonly service: string;
  readonly container: string;
  readonly id: string;
  readonly state: string;
  readonly health: ServiceHealth;
  readonly restarts: number;
  readonly image: string;
  readonly imageId: string;
  readonly startedAt: string | null;
  readonly finishedAt: string | null;
  readonly exitCode: number | null;
  readonly hostPorts: readonly number[];
}

/** What one server reported. */
export interface ServerReport {
  readonly noDocker: boolean;
  /** Projects whose folder exists there. */
  readonly folders: ReadonlySet<string>;
  readonly containers: readonly ContainerRow[];
  /** Image id → its registry digests. */
  readonly digests: ReadonlyMap<string, readonly string[]>;
}

const HEALTH = new Set<string>(['healthy', 'unhealthy', 'starting']);

/** The engine writes this for "never": not a time a user should see. */
function engineTime(text: string | undefined): string | null {
  return !text || text.startsWith('0001-01-01') ? null : text;
}

/** What docker's template prints for a label or key the container does not have. */
const NO_VALUE = '<no value>';

/** Parses the status script's output. */
export function parseServerReport(stdout: string): ServerReport {
  const folders = new Set<string>();
  const containers: ContainerRow[] = [];
  const digests = new Map<string, string[]>();
  let noDocker = false;
  for (const line of stdout.split('\n')) {
    if (line.trim() === MARK.noDocker) noDocker = true;
    const fields = line.split(FIELD).map((field) => (field === NO_VALUE ? '' : field));
    const kind = fields[0];
    if (kind === 'D' && fields[1]) folders.add(fields[1]);
    if (kind === 'I' && fields[1]) digests.set(fields[1], (fields[2] ?? '').split(' ').filter(Boolean));
    if (kind !== 'C' || fields.length < 14) continue;
    const [, project = '', service = '', name = '', state = '', health = '', restarts, image = '', imageId = '', started, finished, exit, ports = '', id = ''] = fields;
    containers.push({
      project,
      service,
      container: name.replace(/^\//, ''),
      id,
      state,
      health: HEALTH.has(health) ? (health as ServiceHealth) : 'none',
      restarts: Number(restarts) || 0,
      image,
      imageId,
      startedAt: engineTime(started),
      finishedAt: engineTime(finished),
      exitCode: exit === undefined || exit === '' || Number.isNaN(Number(exit)) ? null : Number(exit),
      hostPorts: ports.split(' ').filter(Boolean).map(Number).filter((port) => Number.isInteger(port) && port > 0),
    });
  }
  return { noDocker, folders, containers, digests };
}

/** `http://host:port`, with brackets around an IPv6 address. */
export function urlOf(host: string, port: number): string {
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/** The digest of an image among its registry digests: the one of the repository the container names, else the first. */
function digestOf(image: string, digests: readonly string[] | undefined): string | null {
  if (!digests || digests.length === 0) return null;
  const repository = image.replace(/@.*$/, '').replace(/:[^:/]+$/, '');
  return digests.find((digest) => digest.startsWith(`${repository}@`)) ?? digests[0] ?? null;
}

/** A project's containers as `services/status` shows them, in service then container order. */
export function servicesOf(placement: Placement, report: ServerReport): ServiceStatus[] {
  return report.containers
    .filter((container) => container.project === placement.project)
    .map((container): ServiceStatus => {
      const module = placement.modules.find((candidate) => container.hostPorts.includes(candidate.port));
      return {
        service: container.service,
        module: module?.module ?? null,
        container: container.container,
        state: container.state,
        health: container.health,
        restarts: container.restarts,
        image: container.image,
        digest: digestOf(container.image, report.digests.get(container.imageId)),
        startedAt: container.startedAt,
        finishedAt: container.finishedAt,
        exitCode: container.exitCode,
        url: module ? urlOf(placement.host, module.port) : null,
      };
    })
    .sort((a, b) => a.service.localeCompare(b.service) || a.container.localeCompare(b.container));
}

/** One project's row from its server's report. */
export function projectStatusOf(placement: Placement, report: ServerReport): ProjectStatus {
  const base = { project: placement.project, server: placement.server, host: placement.host };
  if (report.noDocker) {
    return { ...base, state: 'no-docker', error: `Docker is not installed on ${placement.server} (no \`docker\` on the SSH user's PATH). Install Docker there, then deploy again.`, services: [] };
  }
  const services = servicesOf(placement, report);
  if (services.length === 0) {
    const why = report.folders.has(placement.project)
      ? `${projectFolder(placement.project)} exists on ${placement.server} but no container of compose project ${placement.project} does (taken down by hand?). Deploy it again: zavhoz deploy FOLDER --project ${placement.project} …`
      : `${placement.project} is allocated on ${placement.server} but was never deployed there (no ${projectFolder(placement.project)}). Deploy it: zavhoz deploy FOLDER --project ${placement.project} …`;
    return { ...base, state: 'not-deployed', error: why, services };
  }
  return { ...base, state: 'deployed', services };
}

/** Every project of a server that could not be asked, each saying why. */
export function unreachableStatus(placement: Placement, reason: string): ProjectStatus {
  return { project: placement.project, server: placement.server, host: placement.host, state: 'unreachable', error: reason, services: [] };
}
