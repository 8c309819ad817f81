import type { RunStatus, RunSummary } from '../../daemon/protocol/runs.js';
import { RUN_STATUS_LOOK } from './runs.js';

/** What the Deploy Runs view is narrowed to: a project, a state, or both. */
export interface RunFilter {
  readonly project?: string;
  readonly status?: RunStatus;
}

/** The runs a filter keeps. */
export function filterRuns(runs: readonly RunSummary[], filter: RunFilter): RunSummary[] {
  return runs.filter((run) => (filter.project === undefined || run.project === filter.project) && (filter.status === undefined || run.status === filter.status));
}

/** The filter as the view's title shows it: "shop · failed". */
export function describeRunFilter(filter: RunFilter): string {
  return [filter.project, filter.status ? RUN_STATUS_LOOK[filter.status].word : undefined].filter((part) => part !== undefined).join(' · ');
}
