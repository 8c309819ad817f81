import * as z from 'zod';
import { confirmedByPerson } from './approvals.js';
import { defineNotification, defineRequest, result } from './define.js';
import { deployProject } from './env.js';

/** The steps of an undeploy, in order: on the server first, then in the daemon. */
export const UNDEPLOY_STEPS = ['wait', 'connect', 'containers', 'images', 'folder', 'firewall', 'github', 'release', 'after'] as const;
/** One of {@link UNDEPLOY_STEPS}. */
export type UndeployStepName = (typeof UNDEPLOY_STEPS)[number];

/** Where an undeploy stands. */
export type UndeployStatus = 'running' | 'succeeded' | 'failed' | 'cancelled';

/** One step of an undeploy and how it went. */
export interface UndeployStep {
  readonly name: UndeployStepName;
  readonly status: 'pending' | 'running' | 'succeeded' | 'failed' | 'skipped';
  /** What it did or why it failed, e.g. `2 containers, 1 network, 1 volume removed`. */
  readonly detail?: string;
}

/** What an undeploy removed (names and numbers only). */
export interface UndeployRemoved {
  readonly containers: number;
  readonly networks: number;
  /** Named and anonymous volumes removed; none with `keepData`. */
  readonly volumes: readonly string[];
  /** Volumes left on the server because `keepData` asked for it. */
  readonly keptVolumes: readonly string[];
  readonly images: readonly string[];
  /** True if /opt/services/<project> was there and is gone. */
  readonly folder: boolean;
  /** Ports whose UFW rule was deleted. */
  readonly firewallPorts: readonly number[];
  /** `OWNER/NAME:SECRET` (or `OWNER/NAME@ENV:SECRET`) deleted from GitHub. */
  readonly githubSecrets: readonly string[];
  /** Modules whose allocation was released. */
  readonly modules: readonly string[];
}

/** An undeploy as the request answers it. */
export interface UndeployResult {
  readonly project: string;
  readonly server: string;
  readonly keepData: boolean;
  readonly status: UndeployStatus;
  readonly steps: readonly UndeployStep[];
  readonly removed: UndeployRemoved;
  /** Things that did not stop the undeploy but need the user (e.g. CI secrets GitHub would not delete). */
  readonly warnings: readonly string[];
  /** What went wrong and what to do, when `failed` or `cancelled`. */
  readonly error: string | null;
  readonly startedAt: string;
  readonly finishedAt: string | null;
}

/**
 * Takes a project off its server: compose down (named volumes too unless `keepData`), every container, network and
 * image of it that nothing else uses, /opt/services/<project>, its UFW rules; then its allocations are released and
 * the CI secrets Zavhoz pushed for it deleted from GitHub. Waits for a deploy of the project that is running. With
 * `wait`, answers when done (cancelling the request cancels it); otherwise at once, with progress as
 * `undeploy/progress`. A project already gone from its server still has its allocations released.
 */
export const UndeployStart = defineRequest(
  'undeploy/start',
  () => z.strictObject({ project: deployProject, keepData: z.boolean().default(false), wait: z.boolean().default(false), confirmed: confirmedByPerson }),
  result<UndeployResult>(),
);

/** Cancels the running undeploy of a project; steps already done stay done, and its allocations stay. */
export const UndeployCancel = defineRequest('undeploy/cancel', () => z.strictObject({ project: deployProject }), result<UndeployResult>());

/** Sent to every client when an undeploy step starts or ends, and when the undeploy ends (`status` not `running`). */
export const UndeployProgress = defineNotification(
  'undeploy/progress',
  () => z.strictObject({
    project: z.string(),
    status: z.enum(['running', 'succeeded', 'failed', 'cancelled']),
    step: z.enum(UNDEPLOY_STEPS),
    stepStatus: z.enum(['pending', 'running', 'succeeded', 'failed', 'skipped']),
    detail: z.string().optional(),
  }),
);
