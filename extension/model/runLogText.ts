import { type RunDetail, type RunStep, runLogStep } from '../../daemon/protocol/runs.js';
import { formatElapsed } from './format.js';
import { isActive, RUN_STATUS_LOOK, runDuration, STEP_TITLES } from './runs.js';

/** The marks a step line starts with (plain text: the document is read-only text, not a webview). */
const STEP_MARKS: Readonly<Record<RunStep['status'], string>> = {
  pending: '·',
  running: '▶',
  succeeded: '✓',
  failed: '✗',
  skipped: '–',
};

/** The text of a run's log document, and where in it the lines a reader must see are. */
export interface RunLogText {
  readonly text: string;
  /** 0-based lines to highlight as failures: the failed step, and log lines that report an error. */
  readonly failureLines: readonly number[];
  /**
   * 0-based line of the first step heading inside the log (or of the "Steps" section of a run whose log has no step
   * lines, from before they were written), or undefined while the run is not known yet.
   */
  readonly stepsLine: number | undefined;
}

/** A log line that reports a failure: Ansible's `fatal:` and `FAILED!`, and the daemon's own failure notes. */
export function isFailureLine(line: string): boolean {
  return /^fatal: |\bFAILED!|^\[zavhoz\] run (failed|interrupted)|^ERROR!|^\[ERROR\]/.test(line);
}

/** How long a step took (or has been running at `now`), as `m:ss`; empty before it started. */
export function stepDuration(step: RunStep, now: Date): string {
  if (!step.startedAt) return '';
  const end = step.finishedAt ? Date.parse(step.finishedAt) : now.getTime();
  return formatElapsed(end - Date.parse(step.startedAt));
}

/**
 * A run's log as a person reads it: a heading (project, source, server, result and duration), what went wrong and
 * at which step, the steps with their durations (the failed one marked), then the log itself (already redacted by
 * the daemon). Until the daemon has answered about the run, only the id and the log.
 */
export function runLogText(id: string, run: RunDetail | undefined, lines: readonly string[], now: Date): RunLogText {
  const out: string[] = [];
  const failureLines: number[] = [];
  let stepsLine: number | undefined;
  if (!run) {
    out.push(`Deploy ${id}`, '');
  } else {
    const look = RUN_STATUS_LOOK[run.status];
    const place = run.allocation ? ` on ${run.allocation.server} (${run.allocation.host})` : '';
    const duration = runDuration(run, now);
    const took = duration === undefined ? '' : isActive(run.status) ? `, ${formatElapsed(duration)} so far` : ` after ${formatElapsed(duration)}`;
    out.push(`${run.kind === 'rollback' ? 'Rollback' : 'Deploy'} of ${run.project} from ${run.repository}@${run.ref}${place}`);
    out.push(`${look.word[0]?.toUpperCase() ?? ''}${look.word.slice(1)}${took} · ${run.id} · started by ${run.client}`);
    const failed = run.steps.find((step) => step.status === 'failed');
    if (run.error || failed) {
      failureLines.push(out.length);
      out.push(`✗ ${failed ? `Failed at "${STEP_TITLES[failed.name]}"` : look.word}${run.error ? `: ${run.error}` : ''}`);
    }
    out.push('');
    if (!lines.some((line) => runLogStep(line) !== undefined)) {
      // A log from before the daemon wrote step lines: the steps as a section of their own.
      stepsLine = out.length;
      out.push('Steps');
      const width = Math.max(...run.steps.map((step) => STEP_TITLES[step.name].length));
      for (const step of run.steps) {
        if (step.status === 'failed') failureLines.push(out.length);
        out.push(`  ${stepLine(step, now, width)}`);
      }
      out.push('');
    }
  }
  out.push('Log');
  if (lines.length === 0) out.push(run && !isActive(run.status) ? '(no output)' : '(waiting for output…)');
  for (const line of lines) {
    const name = run ? runLogStep(line) : undefined;
    const step = name === undefined ? undefined : run?.steps.find((candidate) => candidate.name === name);
    if (step) {
      // The step's heading where it starts in the log: its mark, how long it took, and its detail.
      out.push('');
      stepsLine ??= out.length;
      if (step.status === 'failed') failureLines.push(out.length);
      out.push(stepLine(step, now, 0));
      continue;
    }
    if (isFailureLine(line)) failureLines.push(out.length);
    out.push(line);
  }
  return { text: `${out.join('\n')}\n`, failureLines, stepsLine };
}

/** `✓ Run playbook  1:03  detail`: a step's mark, title (padded to `width`), duration (or state) and detail. */
function stepLine(step: RunStep, now: Date, width: number): string {
  const duration = stepDuration(step, now);
  const detail = step.detail ? `  ${step.detail}` : '';
  const title = STEP_TITLES[step.name];
  const took = width > 0 ? (duration || step.status).padStart(7) : duration || step.status;
  return `${STEP_MARKS[step.status]} ${title.padEnd(width)}  ${took}${detail}`.trimEnd();
}
