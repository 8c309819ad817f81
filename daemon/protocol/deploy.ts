import * as z from 'zod';
import { defineRequest, result } from './define.js';
import { deployProject } from './env.js';

/** One module a deploy would run: a compose service that publishes a port on a variable, and its allocation. */
export interface PlannedModule {
  /** `app` for `${PORT}`, else the variable's name without `_PORT`, lower case, `_` → `-` (`${ADMIN_PORT}` → `admin`). */
  readonly name: string;
  /** The compose service that publishes it; empty for the default `app` of a project that publishes no port. */
  readonly service: string;
  /** The port the service listens on in its container (0 for the default `app`). */
  readonly containerPort: number;
  /** The variable its host port comes from (`PORT`, `ADMIN_PORT`). */
  readonly portVariable: string;
  /** Where the port is published: the compose file (relative to the project folder) and its line; empty for the default `app`. */
  readonly file: string;
  readonly line: number;
  /** Its allocation when it has one; absent: the deploy allocates it. */
  readonly allocation?: { readonly server: string; readonly port: number };
}

/** A module the project has allocated that its compose files no longer publish: a successful deploy releases it. */
export interface RetiredModule {
  readonly module: string;
  readonly server: string;
  readonly port: number;
}

/**
 * Why a deploy of the folder would run no module of its own, and what to add: `no-compose-file` (the deploy is
 * refused), `no-published-port` (the deploy allocates the one default module `app`, which nothing publishes).
 */
export interface DeployPlanNotice {
  readonly kind: 'no-compose-file' | 'no-published-port';
  /** What is missing and what to write, in words for a person. */
  readonly message: string;
}

/** What a deploy of a project folder would run and allocate, read without starting or allocating anything. */
export interface DeployPlan {
  readonly project: string;
  /** The compose files read, relative to the project folder. */
  readonly composeFiles: readonly string[];
  /** The modules the deploy runs, by name. */
  readonly modules: readonly PlannedModule[];
  /** Allocated modules the compose files no longer publish; released after the next successful deploy. */
  readonly retired: readonly RetiredModule[];
  readonly notice?: DeployPlanNotice;
}

/**
 * Plans a deploy of a project folder without running it: the modules its compose files publish (every service that
 * publishes a port on `${PORT}` or `${NAME_PORT}`), each with its allocated server and port if it has one, and the
 * allocated modules the next successful deploy releases. Allocates nothing. A compose file Zavhoz cannot read is an
 * error naming its file and line.
 */
export const DeployPlanRequest = defineRequest(
  'deploy/plan',
  () => z.strictObject({
    /** Absolute path of the project folder on this machine. */
    folder: z.string().min(1).max(4096),
    project: deployProject,
  }),
  result<DeployPlan>(),
);
