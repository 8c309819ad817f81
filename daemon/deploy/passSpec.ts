import type { RetiredModule } from '../protocol/deploy.js';
import type { EnvPlan } from '../protocol/env.js';
import type { ReleaseImage } from '../protocol/releases.js';
import type { SecretVersionRef } from './ports.js';
import type { ReleaseOptions, ReleaseRecord } from './releaseStore.js';

/**
 * What one playbook pass puts on the server: a deploy's ref and current secret versions, or a release's commit,
 * images by digest and secret versions (a rollback). Handles, names and digests only.
 */
export interface PassSpec {
  /** The git ref (a deploy) or commit (a release) checked out. */
  readonly ref: string;
  readonly plan: EnvPlan;
  /** Compose service → image, for computed variables (which service runs postgres). */
  readonly services: ReadonlyMap<string, string>;
  /** The main module's port. */
  readonly port: number;
  readonly modulePorts: Readonly<Record<string, number>>;
  readonly healthPaths: Readonly<Record<string, string>>;
  /** The secret versions whose values the .env gets. */
  readonly versions: readonly SecretVersionRef[];
  /** Each service's image pinned by digest; empty for a deploy (the compose files' images are pulled). */
  readonly pins: readonly ReleaseImage[];
  readonly options: ReleaseOptions;
  /**
   * A deploy's allocated modules that its compose files no longer publish: the pass closes their firewall ports after
   * the health checks, and the run releases them once it succeeded. Never set for a rollback.
   */
  readonly retired?: readonly RetiredModule[];
}

/** The pass that redeploys a release exactly. */
export function releasePass(release: ReleaseRecord): PassSpec {
  return {
    ref: release.commit,
    plan: release.plan,
    services: new Map(release.images.map((image) => [image.service, image.image])),
    port: release.allocation.port,
    modulePorts: release.allocation.modulePorts,
    healthPaths: release.healthPaths,
    versions: release.secrets,
    pins: release.images,
    options: release.options,
  };
}

/** The options a release keeps of a run's (the clone and registry settings, handles only). */
export function releaseOptionsOf(options: ReleaseOptions & { readonly projectFolder?: string }): ReleaseOptions {
  return {
    repoUrl: options.repoUrl,
    registry: options.registry,
    registryUser: options.registryUser,
    ...(options.gitToken ? { gitToken: options.gitToken } : {}),
    ...(options.registryToken ? { registryToken: options.registryToken } : {}),
  };
}
