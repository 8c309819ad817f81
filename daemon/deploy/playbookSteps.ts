import type { RunStepName } from '../protocol/runs.js';
import { explainTaskFailure } from './outcome.js';

/**
 * The steps of a run that the playbook's tasks carry out, in order. Each task declares its step with a tag
 * `step_<name>`; the run's callback plugin (playbooks/callback_plugins/zavhoz_steps.py) reports it.
 */
export const PLAYBOOK_STEPS = ['preflight', 'playbook', 'health'] as const satisfies readonly RunStepName[];
/** One of {@link PLAYBOOK_STEPS}. */
export type PlaybookStep = (typeof PLAYBOOK_STEPS)[number];

/** The tag prefix by which a task declares its step (`step_playbook`). */
export const STEP_TAG_PREFIX = 'step_';

/** What the callback plugin puts before each of its JSON lines. */
export const PLAYBOOK_EVENT_PREFIX = 'ZAVHOZ_EVENT ';

/** What a step's detail says once the playbook moved on to the next one. */
const FINISHED_DETAIL: Readonly<Partial<Record<PlaybookStep, string>>> = { preflight: 'SSH login and compose checked', playbook: 'repository, .env and images ready' };

/** A task starting or a task's result, as the callback plugin reports it. */
export interface PlaybookEvent {
  /** `report`: the facts of the release a `zavhoz_report` task printed (see {@link PlaybookProgress.report}). */
  readonly event: 'start' | 'ok' | 'failed' | 'skipped' | 'unreachable' | 'report';
  /** The task's name as Ansible shows it (templated). */
  readonly task: string;
  /** The step the task declares; undefined when it declares none the daemon knows. */
  readonly step: PlaybookStep | undefined;
  /** A failure the task ignores (`ignore_errors`), which does not fail the run. */
  readonly ignored: boolean;
  /** The task changes what runs on the server (tag `zavhoz_rollback`): its failure is rolled back from. */
  readonly rollback: boolean;
  /** A `report` event's data. */
  readonly data?: unknown;
}

const EVENTS: readonly string[] = ['start', 'ok', 'failed', 'skipped', 'unreachable', 'report'] satisfies PlaybookEvent['event'][];

/** The step named by a `step_<name>` tag, if the daemon knows it. */
export function stepOfTag(tag: string): PlaybookStep | undefined {
  if (!tag.startsWith(STEP_TAG_PREFIX)) return undefined;
  const name = tag.slice(STEP_TAG_PREFIX.length);
  return PLAYBOOK_STEPS.find((step) => step === name);
}

/** The event on an output line of the callback plugin; undefined for every other line. */
export function parsePlaybookEvent(line: string): PlaybookEvent | undefined {
  if (!line.startsWith(PLAYBOOK_EVENT_PREFIX)) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(line.slice(PLAYBOOK_EVENT_PREFIX.length));
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const { event, task, step, ignored, rollback, data } = value as Record<string, unknown>;
  if (typeof event !== 'string' || !EVENTS.includes(event) || typeof task !== 'string') return undefined;
  return {
    event: event as PlaybookEvent['event'],
    task,
    step: typeof step === 'string' ? PLAYBOOK_STEPS.find((known) => known === step) : undefined,
    ignored: ignored === true,
    rollback: rollback === true,
    ...(data === undefined ? {} : { data }),
  };
}

/** The first task that failed in a playbook run. */
export interface PlaybookFailure {
  readonly task: string;
  /** Its cause in the user's terms, when its `fatal:` line shows one we know. */
  readonly reason: string | undefined;
  /** It changed what runs on the server (tag `zavhoz_rollback`): the previous release should be restored. */
  readonly rollback: boolean;
}

/** How a step is reported: the same signature as the run's step hook. */
export type StepReport = (name: PlaybookStep, status: 'running' | 'succeeded', detail?: string) => void;

/**
 * Follows one ansible-playbook attempt's output: reports the step each task declares as the tasks start, and
 * remembers the first task that failed (with its cause, when its `fatal:` line shows one we know).
 */
export class PlaybookProgress {
  private step: PlaybookStep | undefined;
  private lastFailureLine = '';
  private failure: PlaybookFailure | undefined;
  private reportedData: unknown;

  constructor(private readonly report: StepReport) {}

  /** Takes one output line; false when it is the callback plugin's line for the daemon rather than for the log. */
  take(line: string): boolean {
    const event = parsePlaybookEvent(line);
    if (event === undefined) {
      if (/^(fatal|failed): \[/.test(line)) this.lastFailureLine = line;
      return true;
    }
    // After the first failure the run has failed in its step: clean-up tasks that still run (a block's `always:`,
    // tagged with a later step) do not move it on.
    if (event.event === 'start' && event.step !== undefined && this.failure === undefined) this.started(event.step, event.task);
    if (event.event === 'report') this.reportedData = event.data;
    const failed = (event.event === 'failed' && !event.ignored) || event.event === 'unreachable';
    if (failed && this.failure === undefined) {
      this.failure = { task: event.task, reason: explainTaskFailure(this.lastFailureLine), rollback: event.rollback && event.event === 'failed' };
    }
    return false;
  }

  /** The first task that failed in this attempt, if any. */
  get failedTask(): PlaybookFailure | undefined {
    return this.failure;
  }

  /** What the playbook's `zavhoz_report` task reported (the release's commit and images), if it ran. */
  get reported(): unknown {
    return this.reportedData;
  }

  private started(step: PlaybookStep, task: string): void {
    if (this.step !== undefined && this.step !== step) this.report(this.step, 'succeeded', FINISHED_DETAIL[this.step]);
    this.step = step;
    this.report(step, 'running', task);
  }
}

/** A task banner of Ansible's default output: `TASK [name] ***`, `RUNNING HANDLER [name] ***`. */
const TASK_BANNER = /^(TASK|RUNNING HANDLER) \[/;

/**
 * Writes a playbook's output to the run log so that the line of a step that starts stands before the banner of the task
 * that starts it. Ansible calls its stdout callback before the step plugin (TaskQueueManager.send_callback), so the
 * banner (`\nTASK [name] ***`) comes out before the start event whose step line the run writes: written as it came,
 * every step heading landed two lines late. A banner (and the blank line before it) is held until the next line says
 * whether a start event follows; then the event's step line is written first.
 */
export class StepOrderedOutput {
  private held: string[] = [];

  constructor(
    private readonly progress: PlaybookProgress,
    private readonly write: (line: string) => void,
  ) {}

  /** Takes one output line of the playbook. */
  take(line: string): void {
    if (!this.progress.take(line)) {
      // An event: the step line it caused is written already; the banner it belongs to follows it.
      this.flush();
      return;
    }
    if (line.trim() === '') {
      this.flush();
      this.held.push(line);
      return;
    }
    if (TASK_BANNER.test(line)) {
      if (this.held.some((held) => held.trim() !== '')) this.flush();
      this.held.push(line);
      return;
    }
    this.flush();
    this.write(line);
  }

  /** Writes what is held (the playbook ended). */
  end(): void {
    this.flush();
  }

  private flush(): void {
    const held = this.held;
    this.held = [];
    for (const line of held) this.write(line);
  }
}
