import type { ProjectStatus, ServiceLogLine, ServiceStatus } from '../../daemon/protocol/services.js';
import type { UndeployResult } from '../../daemon/protocol/undeploy.js';
import { relativeTime } from './format.js';

/**
 * What the Services view, the status bar and the Logs terminal show of `services/status` and `services/logs`
 * answers. No VS Code import: unit-tested directly.
 */

/** How a container (or a project whose server does not answer) looks in the view. */
export type ServiceCondition = 'healthy' | 'running' | 'starting' | 'unhealthy' | 'restarting' | 'stopped' | 'unreachable';

/** Conditions that count as trouble: the status bar counts them. */
const TROUBLE: ReadonlySet<ServiceCondition> = new Set(['unhealthy', 'restarting', 'stopped', 'unreachable']);

/** A container's condition from its engine state and health. */
export function serviceCondition(service: ServiceStatus): ServiceCondition {
  if (service.state === 'restarting') return 'restarting';
  if (service.state !== 'running') return 'stopped';
  if (service.health === 'unhealthy') return 'unhealthy';
  if (service.health === 'starting') return 'starting';
  return service.health === 'healthy' ? 'healthy' : 'running';
}

/** A codicon and a theme colour id for a condition. */
export function conditionIcon(condition: ServiceCondition): { readonly icon: string; readonly color: string } {
  switch (condition) {
    case 'healthy':
    case 'running':
      return { icon: 'pass-filled', color: 'testing.iconPassed' };
    case 'starting':
      return { icon: 'loading~spin', color: 'charts.yellow' };
    case 'unhealthy':
    case 'restarting':
      return { icon: 'error', color: 'testing.iconFailed' };
    case 'stopped':
      return { icon: 'circle-slash', color: 'disabledForeground' };
    case 'unreachable':
      return { icon: 'debug-disconnect', color: 'problemsWarningIcon.foreground' };
  }
}

/** The condition a project shows: its worst container's, or where it stands on its server. */
export function projectCondition(project: ProjectStatus): ServiceCondition | 'not-deployed' {
  if (project.state === 'unreachable' || project.state === 'no-docker') return 'unreachable';
  if (project.state === 'not-deployed') return 'not-deployed';
  const order: readonly ServiceCondition[] = ['unhealthy', 'restarting', 'stopped', 'starting', 'running', 'healthy'];
  const conditions = new Set(project.services.map(serviceCondition));
  return order.find((condition) => conditions.has(condition)) ?? 'stopped';
}

/** `running · healthy · up 3 h · 2 restarts`: a container's line in the view. */
export function describeService(service: ServiceStatus, now: Date): string {
  const parts: string[] = [service.state];
  if (service.health !== 'none') parts.push(service.health);
  if (service.state === 'running' && service.startedAt) parts.push(`up ${relativeTime(service.startedAt, now).replace(/ ago$/, '')}`);
  if (service.state === 'exited' && service.exitCode !== null) parts.push(`exit ${service.exitCode}`);
  if (service.restarts > 0) parts.push(`${service.restarts} ${service.restarts === 1 ? 'restart' : 'restarts'}`);
  return parts.join(' · ');
}

/** Hover text of a container: every field, one a line. */
export function serviceTooltip(project: ProjectStatus, service: ServiceStatus): string {
  return [
    `${project.project}/${service.service}${service.module && service.module !== service.service ? ` (module ${service.module})` : ''}`,
    `container ${service.container} on ${project.server}`,
    `state ${service.state}, health ${service.health}, ${service.restarts} restarts`,
    `image ${service.image}`,
    ...(service.digest ? [`digest ${service.digest}`] : []),
    ...(service.startedAt ? [`started ${service.startedAt}`] : []),
    ...(service.state !== 'running' && service.finishedAt ? [`stopped ${service.finishedAt}${service.exitCode === null ? '' : ` (exit ${service.exitCode})`}`] : []),
    ...(service.url ? [service.url] : []),
  ].join('\n');
}

/** A project's line in the view: its server, and why it shows no containers when it does not. */
export function describeProject(project: ProjectStatus): string {
  switch (project.state) {
    case 'deployed': {
      const running = project.services.filter((service) => service.state === 'running').length;
      return `${project.server} · ${running}/${project.services.length} running`;
    }
    case 'not-deployed':
      return `${project.server} · not deployed`;
    case 'unreachable':
      return `${project.server} · unreachable`;
    case 'no-docker':
      return `${project.server} · no container engine`;
  }
}

/** Something the status bar warns about: a container (or a whole project) that is not running well. */
export interface ServiceProblem {
  /** `shop/backend`, or `shop` for a project whose server does not answer. */
  readonly name: string;
  readonly condition: ServiceCondition;
}

/** Every container in trouble, and every project whose server or engine does not answer, sorted by name. */
export function serviceProblems(projects: readonly ProjectStatus[]): ServiceProblem[] {
  const problems: ServiceProblem[] = [];
  for (const project of projects) {
    if (project.state === 'unreachable' || project.state === 'no-docker') {
      problems.push({ name: project.project, condition: 'unreachable' });
      continue;
    }
    for (const service of project.services) {
      const condition = serviceCondition(service);
      if (TROUBLE.has(condition)) problems.push({ name: `${project.project}/${service.service}`, condition });
    }
  }
  return problems.sort((a, b) => a.name.localeCompare(b.name));
}

/** The status-bar text and tooltip for the problems, or undefined when all runs well (the item is hidden). */
export function problemsStatusText(problems: readonly ServiceProblem[]): { readonly text: string; readonly tooltip: string } | undefined {
  if (problems.length === 0) return undefined;
  const shown = problems.slice(0, 10).map((problem) => `${problem.name}: ${problem.condition}`);
  const more = problems.length > shown.length ? [`…and ${problems.length - shown.length} more`] : [];
  return {
    text: `$(warning) ${problems.length} unhealthy`,
    tooltip: [`${problems.length} ${problems.length === 1 ? 'service needs' : 'services need'} attention:`, ...shown, ...more, 'Click to open the Services view.'].join('\n'),
  };
}

/** Tabs, printable text and colour codes (ESC `[…m`) pass; other control characters (cursor moves, title changes) do not. */
function printable(character: string, following: string): boolean {
  const code = character.charCodeAt(0);
  if (code === 0x1b) return /^\[[0-9;]*m/.test(following);
  return code === 0x09 || (code >= 0x20 && code !== 0x7f);
}

/**
 * Log lines as terminal text: CRLF line ends, the service name as a dim prefix when several services are shown,
 * and control characters other than tabs and colour codes neutralised so an app's output cannot drive the terminal.
 */
export function terminalLogText(lines: readonly ServiceLogLine[], prefixed: boolean): string {
  return lines
    .map((line) => {
      // eslint-disable-next-line @typescript-eslint/no-misused-spread -- code points on purpose: control characters are single code points
      const text = [...line.text].filter((character, index, all) => printable(character, all.slice(index + 1, index + 16).join(''))).join('');
      return `${prefixed ? `\x1b[2m${line.service} |\x1b[0m ` : ''}${text}\r\n`;
    })
    .join('');
}

/** An undeploy's outcome in one sentence (names and numbers only), and what needs the user. */
export function describeUndeploy(result: UndeployResult): { readonly message: string; readonly warnings: readonly string[] } {
  if (result.status !== 'succeeded') {
    return { message: `undeploy of ${result.project} ${result.status}: ${result.error ?? 'no reason given'}`, warnings: result.warnings };
  }
  const removed = result.removed;
  const parts = [
    `${removed.containers} ${removed.containers === 1 ? 'container' : 'containers'}`,
    ...(removed.volumes.length > 0 ? [`${removed.volumes.length} ${removed.volumes.length === 1 ? 'volume' : 'volumes'}`] : []),
    ...(removed.images.length > 0 ? [`${removed.images.length} ${removed.images.length === 1 ? 'image' : 'images'}`] : []),
    ...(removed.folder ? [`/opt/services/${result.project}`] : []),
    ...(removed.firewallPorts.length > 0 ? [`firewall rule for port ${removed.firewallPorts.join(', ')}`] : []),
    ...(removed.githubSecrets.length > 0 ? [`${removed.githubSecrets.length} CI secrets`] : []),
  ];
  const kept = removed.keptVolumes.length > 0 ? ` Kept ${removed.keptVolumes.length} data ${removed.keptVolumes.length === 1 ? 'volume' : 'volumes'}.` : '';
  return { message: `${result.project} is off ${result.server}: removed ${parts.join(', ')}; allocation released.${kept}`, warnings: result.warnings };
}
