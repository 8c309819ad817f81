import * as z from 'zod';
import { defineRequest, result } from './define.js';

/** A secret the rotation gave a new generated value (or, with `dryRun`, would). Handles and names only. */
export interface RotatedSecret {
  readonly handle: string;
  readonly name: string;
  /** Its project; null for a global secret. */
  readonly project: string | null;
  /** When its rotation fell due (ISO time). */
  readonly dueSince: string;
}

/** A redeploy of a project that uses a rotated secret: the run started, or why none was. */
export interface RotationRedeploy {
  readonly project: string;
  /** The new deploy run; null with `dryRun` or when it could not start (see `error`). */
  readonly runId: string | null;
  /** The successful run whose request was repeated. */
  readonly fromRun: string;
  /** Why no run was started (e.g. the project folder is gone), with what to do. */
  readonly error?: string;
}

/** What a rotation round did. */
export interface RotationResult {
  readonly dryRun: boolean;
  /** Secrets whose rotation was due and that were rotated: generated ones got a new value, CI deploy keys a new key. */
  readonly rotated: readonly RotatedSecret[];
  /**
   * Secrets whose rotation is due but whose value Zavhoz cannot make up (typed in, or a type it does not generate):
   * only reported; `zavhoz secret rotate HANDLE` gives them a new value.
   */
  readonly reported: readonly RotatedSecret[];
  /** Secrets that were due but whose rotation failed, with why. */
  readonly failed: readonly (RotatedSecret & { readonly error: string })[];
  /** One per project whose last successful deploy used a rotated secret. */
  readonly redeploys: readonly RotationRedeploy[];
}

/**
 * Rotates now every generated secret whose `rotationDays` are up (the daemon also does this at start and every
 * `rotationCheckIntervalSeconds`), then redeploys each project whose last successful deploy used one, with that
 * deploy's request (health-gated, rolled back on failure). A project's CI deploy key that is due gets a new key on its
 * server and in every repository that had the old one. Typed-in secrets that are due are reported. With `dryRun`,
 * only says what it would do.
 */
export const RotationRun = defineRequest(
  'rotation/run',
  () => z.strictObject({
    dryRun: z.boolean().default(false),
  }),
  result<RotationResult>(),
);
