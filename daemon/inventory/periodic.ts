import { describeError } from '../core/errors.js';
import type { ScopedLogger } from '../core/logger.js';

/**
 * Background work that repeats every N seconds, N read from a setting each time (0 = off). Runs never overlap;
 * `stop()` cancels the timer, aborts the running round through its signal and waits for it to finish, so daemon
 * shutdown leaves nothing behind.
 */
export class PeriodicTask {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private controller = new AbortController();
  private stopped = false;

  constructor(
    private readonly name: string,
    private readonly intervalSeconds: () => number,
    private readonly work: (signal: AbortSignal) => Promise<void>,
    private readonly log: ScopedLogger,
  ) {}

  /** (Re)arms the timer from the current interval; call again after the setting changed. */
  schedule(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.stopped) return;
    const seconds = this.intervalSeconds();
    if (seconds <= 0) return;
    this.timer = setTimeout(() => void this.round(), seconds * 1000);
    // The daemon stays up for its socket; a pending round must not keep anything else alive.
    this.timer.unref();
  }

  /** Stops for good: no new rounds, the running one is aborted and awaited. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.controller.abort();
    await this.running;
  }

  private async round(): Promise<void> {
    this.timer = undefined;
    if (this.stopped || this.running) return;
    this.controller = new AbortController();
    this.running = this.work(this.controller.signal)
      .catch((error: unknown) => this.log.warn(`${this.name} failed`, { error: describeError(error) }))
      .finally(() => {
        this.running = undefined;
      });
    await this.running;
    this.schedule();
  }
}
