import * as z from 'zod';
import { confirmedByPerson } from './approvals.js';
import { defineNotification, defineRequest, result } from './define.js';
import { lazySchema } from './lazySchema.js';
import { deployProject, type EnvPlan } from './env.js';
import { type PageInfo, pageFields } from './fields.js';
import type { RunAllocation, RunDetail, RunKind } from './runs.js';

/** Release ids: `rel_` and 10 lowercase base32 characters (like run ids). */
export const releaseId = lazySchema(() => z.string().regex(/^rel_[a-z2-7]{10}$/, 'a release id like rel_7f3k9x2mab'));

/** One compose service's image as it ran: what the compose files named and what it resolved to. */
export interface ReleaseImage {
  readonly service: string;
  /** The image as the compose files named it, e.g. `ghcr.io/acme/shop:latest`. */
  readonly image: string;
  /**
   * `repository@sha256:…` from the image's registry digest, or the image id (`sha256:…`) when the image has no
   * digest in a registry (built on the server): a rollback then needs that image still on the server.
   */
  readonly digest: string;
}

/** A secret the release delivered, pinned to the version it delivered. Handles and fingerprints, never values. */
export interface ReleaseSecret {
  readonly handle: string;
  readonly version: number;
  /** The vault's keyed fingerprint of that version's value. */
  readonly fingerprint: string;
}

/** A release as lists show it: what a successful deploy or rollback left running. */
export interface ReleaseSummary {
  readonly id: string;
  /** 1, 2, 3… per project. */
  readonly number: number;
  readonly project: string;
  readonly server: string;
  /** The kind of the run that made it. */
  readonly kind: RunKind;
  /** `OWNER/NAME`. */
  readonly repository: string;
  /** The branch, tag or commit the deploy asked for. */
  readonly ref: string;
  /** The commit that ref resolved to on the server. */
  readonly commit: string;
  readonly runId: string;
  readonly createdAt: string;
  /** A rollback's release: the release it redeployed. */
  readonly rolledBackTo: string | null;
  /** When an undeploy archived it: kept for the record, no longer the current release nor a rollback target. */
  readonly archivedAt: string | null;
}

/** A release with everything a rollback redeploys: ports, images by digest, the env plan and secret versions. */
export interface ReleaseDetail extends ReleaseSummary {
  /** The server, host and every module's port. */
  readonly allocation: RunAllocation;
  readonly images: readonly ReleaseImage[];
  /** The env plan (names, kinds, handles). */
  readonly plan: EnvPlan;
  readonly secrets: readonly ReleaseSecret[];
  /** The HTTP path each module with a port was health-checked at. */
  readonly healthPaths: Readonly<Record<string, string>>;
}

/**
 * Lists a project's releases, newest first, a page at a time (`limit` rows, then `cursor` for older ones). Releases
 * an undeploy archived are left out unless `archived`.
 */
export const ReleasesList = defineRequest(
  'releases/list',
  () => z.strictObject({
    project: deployProject,
    archived: z.boolean().default(false),
    limit: pageFields.limit,
    cursor: pageFields.cursor,
  }),
  result<{ readonly releases: readonly ReleaseSummary[] } & PageInfo>(),
);

/** One release with its images, ports, env plan and secret versions. */
export const ReleasesGet = defineRequest('releases/get', () => z.strictObject({ id: releaseId }), result<ReleaseDetail>());

/**
 * Starts a run of kind `rollback` that redeploys a release exactly: its commit, its images by digest, its secret
 * versions and its modules on their ports (a module released since, taken out of the compose files by a later
 * deploy, is allocated again, maybe on another port). Without `to`, the release before the current (newest) one.
 * Answers at once with the run (queued behind a running deploy of the project), or with its final state when `wait`.
 */
export const DeployRollback = defineRequest(
  'deploy/rollback',
  () => z.strictObject({
    project: deployProject,
    /** The release to redeploy; default: the one before the current release. */
    to: releaseId.optional(),
    /** Keep the request open until the run ends and answer with its final state (cancelling it cancels the run). */
    wait: z.boolean().default(false),
    /** A person confirmed this rollback now; without it, a protected project's rollback waits for approval. */
    confirmed: confirmedByPerson,
  }),
  result<RunDetail>(),
);

/** Sent to every client after a release was recorded or pruned. */
export const ReleasesDidChange = defineNotification('releases/didChange', () => z.strictObject({ project: z.string() }));
