import type { EnvPlan } from '../protocol/env.js';
import type { RunStepName } from '../protocol/runs.js';
import type { DeploySecrets, DeployTarget, DeployTargets } from './ports.js';
import { MAX_ATTEMPTS, type RetryContext } from './retries.js';
import type { RunFolder } from './runFolder.js';
import type { RunLog } from './runLog.js';
import type { RunRecord } from './runStore.js';

/** What a run's execution reports back to the service as it goes. */
export interface ExecutionHooks {
  step(name: RunStepName, status: 'running' | 'succeeded' | 'failed' | 'skipped', detail?: string): void;
  planned(plan: EnvPlan, target: DeployTarget): void;
  started(pid: number, attempt: number): void;
}

/** What an execution needs. */
export interface ExecutionContext {
  readonly run: RunRecord;
  readonly folder: RunFolder;
  readonly log: RunLog;
  readonly secrets: DeploySecrets;
  readonly targets: DeployTargets;
  readonly signal: AbortSignal;
  readonly hooks: ExecutionHooks;
  /** Wait before retry `attempt` (1-based) of an unreachable host. */
  readonly backoffMs: (attempt: number) => number;
}

/** Retries of `step` for an unreachable host, each noted in the run's log and shown on the step. */
export function retriesOf(context: ExecutionContext, step: RunStepName): RetryContext {
  return {
    signal: context.signal,
    backoffMs: context.backoffMs,
    retrying: (error, nextAttempt, waitMs) => {
      context.log.note(`${step}: ${error.message} Retrying in ${Math.round(waitMs / 1000)} s (attempt ${nextAttempt} of ${MAX_ATTEMPTS}).`);
      context.hooks.step(step, 'running', `unreachable, retry ${nextAttempt} of ${MAX_ATTEMPTS}`);
    },
  };
}
