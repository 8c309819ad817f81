import { DEFAULT_MODULE } from '../../daemon/protocol/allocations.js';
import type { RunDetail, RunStatus, RunStep, RunSummary } from '../../daemon/protocol/runs.js';
import { formatElapsed, relativeTime } from './format.js';

/** Codicon and theme colour id of each run status (the Deploy Runs view and the status bar). */
export const RUN_STATUS_LOOK: Readonly<Record<RunStatus, { readonly icon: string; readonly colour?: string; readonly word: string }>> = {
  awaiting_approval: { icon: 'shield', colour: 'list.warningForeground', word: 'awaiting approval' },
  queued: { icon: 'clock', word: 'queued' },
  running: { icon: 'sync~spin', word: 'running' },
  succeeded: { icon: 'pass', colour: 'testing.iconPassed', word: 'succeeded' },
  failed: { icon: 'error', colour: 'testing.iconFailed', word: 'failed' },
  cancelled: { icon: 'circle-slash', word: 'cancelled' },
  interrupted: { icon: 'debug-disconnect', colour: 'list.warningForeground', word: 'interrupted' },
};

/** Human names of the deploy steps. */
export const STEP_TITLES: Readonly<Record<RunStep['name'], string>> = {
  allocate: 'Allocate server and ports',
  plan: 'Plan environment',
  secrets: 'Deliver secrets',
  preflight: 'Pre-flight checks',
  playbook: 'Run playbook',
  health: 'Health check',
};

/** Codicons of step states. */
export const STEP_ICONS: Readonly<Record<RunStep['status'], string>> = {
  pending: 'circle-large-outline',
  running: 'sync~spin',
  succeeded: 'pass',
  failed: 'error',
  skipped: 'debug-step-over',
};

/** True while a run can still change (and be cancelled). */
export function isActive(status: RunStatus): boolean {
  return status === 'queued' || status === 'running';
}

/** How long a run took, or has been running at `now`. */
export function runDuration(run: RunSummary, now: Date): number | undefined {
  if (!run.startedAt) return undefined;
  const end = run.finishedAt ? Date.parse(run.finishedAt) : now.getTime();
  return end - Date.parse(run.startedAt);
}

/** The one-line description of a run in the Deploy Runs view. */
export function describeRun(run: RunSummary, now: Date): string {
  const parts = [RUN_STATUS_LOOK[run.status].word, relativeTime(run.createdAt, now)];
  const duration = runDuration(run, now);
  if (duration !== undefined) parts.push(formatElapsed(duration));
  if (run.allocation) parts.push(run.allocation.server);
  return parts.join(' · ');
}

/** The step running now (or the last one that ran). */
export function currentStep(run: Pick<RunDetail, 'steps'>): RunStep | undefined {
  return run.steps.find((step) => step.status === 'running') ?? [...run.steps].reverse().find((step) => step.status !== 'pending');
}

/**
 * Where the deployed project answers, per module: `https://DOMAIN` for a module with a domain, else `http://host:port`
 * from the run's allocation.
 */
export function runUrls(run: Pick<RunSummary, 'allocation'>): { readonly module: string; readonly url: string }[] {
  const allocation = run.allocation;
  if (!allocation) return [];
  const modules = Object.entries(allocation.modulePorts).sort(([a], [b]) => a.localeCompare(b));
  const url = (module: string, port: number): string => allocation.domainUrls?.[module] ?? `http://${allocation.host}:${port}`;
  if (modules.length === 0) return [{ module: DEFAULT_MODULE, url: url(DEFAULT_MODULE, allocation.port) }];
  return modules.map(([module, port]) => ({ module, url: url(module, port) }));
}

/** What the status bar shows for the workspace project's latest run. */
export interface DeployStatusText {
  readonly text: string;
  readonly tooltip: string;
  readonly error: boolean;
}

/** Status-bar text and tooltip of a run: running shows the step and elapsed time, finished shows the result and when. */
export function deployStatusText(run: RunDetail | RunSummary, now: Date): DeployStatusText {
  const look = RUN_STATUS_LOOK[run.status];
  if (isActive(run.status)) {
    const step = 'steps' in run ? currentStep(run) : undefined;
    const elapsed = runDuration(run, now);
    const stepText = step ? ` ${STEP_TITLES[step.name].toLowerCase()}` : '';
    return {
      text: `$(${look.icon}) ${run.project}: ${look.word}${stepText}${elapsed === undefined ? '' : ` ${formatElapsed(elapsed)}`}`,
      tooltip: `Deploying ${run.repository}@${run.ref} (${run.id})${step?.detail ? `\n${step.detail}` : ''}\nClick to open the live log.`,
      error: false,
    };
  }
  const when = relativeTime(run.finishedAt ?? run.createdAt, now);
  const urls = runUrls(run).map((entry) => entry.url);
  return {
    text: `$(${look.icon}) ${run.project}: ${look.word} ${when}`,
    tooltip: `Last deploy of ${run.project} ${look.word} ${when} (${run.repository}@${run.ref}, ${run.id})${run.error ? `\n${run.error}` : ''}${urls.length > 0 ? `\n${urls.join('\n')}` : ''}\nClick to open its log.`,
    error: run.status === 'failed' || run.status === 'interrupted',
  };
}
