import type { RunStatus } from '../protocol/runs.js';
import type { AbortReason } from './outcome.js';
import type { RunStore } from './runStore.js';

/** What the queue needs: the stored runs, how a run is carried out, and whom to tell. */
export interface ProjectQueueOptions {
  readonly runs: RunStore;
  /** Carries out a run to its end (outcome recorded); aborting `controller` stops it. Never rejects. */
  readonly execute: (runId: string, controller: AbortController) => Promise<void>;
  /** A run's status changed (a queued run started). */
  readonly changed: (runId: string, project: string, status: RunStatus) => void;
  /** A run that was carried out has ended and left the queue. */
  readonly ended: (runId: string) => void;
  /** Starting the next queued run of a project failed (the store answered with an error). */
  readonly failed: (project: string, error: unknown) => void;
}

interface ActiveRun {
  readonly controller: AbortController;
  readonly done: Promise<void>;
}

/**
 * One deploy per project at a time: a run starts at once when its project is idle, else it stays `queued` in the
 * store and starts when the project's running one ends, oldest first. Also what stops runs (cancel, shutdown).
 */
export class ProjectQueue {
  private readonly active = new Map<string, ActiveRun>();
  private readonly busyProjects = new Set<string>();
  private stopping = false;

  constructor(private readonly options: ProjectQueueOptions) {}

  /** True once {@link stopAll} was called: no run starts any more. */
  get stopped(): boolean {
    return this.stopping;
  }

  /** True while a run of the project is being carried out: a new one must wait `queued`. */
  isBusy(project: string): boolean {
    return this.busyProjects.has(project);
  }

  /** True while the run is being carried out (as opposed to queued or ended). */
  isActive(runId: string): boolean {
    return this.active.has(runId);
  }

  /**
   * Marks an idle project busy and returns true (the caller then launches its run, or lets go with {@link release});
   * false if a run of the project is being carried out or about to be. Synchronous, so that two requests that ask at
   * once cannot both find the project idle.
   */
  claim(project: string): boolean {
    if (this.busyProjects.has(project)) return false;
    this.busyProjects.add(project);
    return true;
  }

  /** Lets go of a claim whose run was never launched (its record could not be written). */
  release(project: string): void {
    this.busyProjects.delete(project);
    this.kick(project);
  }

  /**
   * Starts the project's oldest queued run if the project is idle: a run that was queued while the one before it was
   * ending (and found no queued run yet) is started here rather than left waiting.
   */
  kick(project: string): void {
    if (this.stopping || !this.claim(project)) return;
    void this.startNext(project);
  }

  /** Starts carrying out a run of a project this caller claimed (or that was idle). */
  launch(runId: string, project: string): void {
    this.busyProjects.add(project);
    const controller = new AbortController();
    const done = this.options.execute(runId, controller).finally(() => {
      this.active.delete(runId);
      this.options.ended(runId);
    });
    this.active.set(runId, { controller, done });
    // The project stays busy until its next queued run is launched or none is found.
    void done.then(() => this.startNext(project));
  }

  /** Aborts a run being carried out and resolves once it has ended; false if it is not being carried out. */
  async abort(runId: string, reason: AbortReason): Promise<boolean> {
    const active = this.active.get(runId);
    if (!active) return false;
    active.controller.abort(reason);
    await active.done;
    return true;
  }

  /** Starts no more runs, aborts every active one with `reason` and resolves once all have ended. */
  async stopAll(reason: AbortReason): Promise<void> {
    this.stopping = true;
    for (const active of this.active.values()) active.controller.abort(reason);
    await Promise.all([...this.active.values()].map((active) => active.done));
  }

  /** Launches the oldest queued run of a project held busy; lets the project go when there is none (or no more starts). */
  private async startNext(project: string): Promise<void> {
    try {
      const next = this.stopping ? undefined : (await this.options.runs.withStatus(['queued'])).find((run) => run.project === project);
      if (next && !this.stopping) {
        await this.options.runs.update(next.id, { status: 'running' });
        this.options.changed(next.id, project, 'running');
        this.launch(next.id, project);
        return;
      }
    } catch (error) {
      // The store failed (or closed for shutdown): the queued run stays queued; a restart marks it interrupted.
      this.options.failed(project, error);
    }
    this.busyProjects.delete(project);
  }
}
