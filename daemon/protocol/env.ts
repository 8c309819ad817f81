import * as z from 'zod';
import { defineRequest, result } from './define.js';
import { lazySchema } from './lazySchema.js';
import { type SecretType, secretHandle } from './secretFields.js';

/**
 * A project name as deploys use it: it names the server folder `/opt/services/<project>` and the compose project,
 * which compose wants lowercase.
 */
export const deployProject = lazySchema(() => z
  .string()
  .regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, 'a project name of lowercase letters, digits, "_" or "-" (it names the compose project)'));

/** An environment variable name. */
export const envVariableName = lazySchema(() => z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/, 'an environment variable name like API_TOKEN'));

/** Variable name → vault handle, chosen by the user for this deploy (`--bind NAME=HANDLE`). */
export const envBindings = lazySchema(() => z.record(envVariableName, secretHandle).refine((value) => Object.keys(value).length <= 512, 'at most 512 bindings'));

/** `infra`: generated secrets and values built from them; `computed`: derived from the project; `user`: from the vault. */
export type VariableKind = 'infra' | 'computed' | 'user';

/**
 * Where a variable's value will come from: `bound` (a vault handle), `generate` (an infra secret the deploy creates),
 * `composed` (built from other variables), `computed`, `optional` (compose has a default; left out when unbound),
 * `missing` (a user variable with no handle: the deploy is refused).
 */
export type VariableStatus = 'bound' | 'generate' | 'composed' | 'computed' | 'optional' | 'missing';

/** Where the plan found a variable; `implied` means a composed value needs it. */
export type PlannedSource = '.env.example' | 'infra/.env.example' | 'compose' | 'implied';

/** One variable of the plan: a name, a kind, a handle or a rule. Never a value. */
export interface PlannedVariable {
  readonly name: string;
  readonly kind: VariableKind;
  readonly status: VariableStatus;
  readonly sources: readonly PlannedSource[];
  /** The vault handle the value comes from (bound user variables and stored infra secrets). */
  readonly handle?: string;
  /** For computed and composed values: how the value is made, in words. */
  readonly rule?: string;
  /** For composed values: the variables it is built from. */
  readonly parts?: readonly string[];
}

/** An unbound user variable and the command that fixes it. */
export interface MissingVariable {
  readonly name: string;
  readonly type: SecretType;
  /** e.g. `zavhoz secret set API_TOKEN --type token --project shop` (the value then comes from stdin). */
  readonly command: string;
}

/** The classified environment of a project: what each variable is and where its value comes from. */
export interface EnvPlan {
  readonly project: string;
  /** The template and compose files read, relative to the project folder. */
  readonly files: readonly string[];
  readonly variables: readonly PlannedVariable[];
  readonly missing: readonly MissingVariable[];
  /** True when nothing is missing: a deploy can resolve every value. */
  readonly ready: boolean;
}

/** Reads a project folder's env templates and compose files and classifies every variable. */
export const EnvPlanRequest = defineRequest(
  'env/plan',
  () => z.strictObject({
    /** Absolute path of the project folder on this machine. */
    folder: z.string().min(1).max(4096),
    project: deployProject,
    bindings: envBindings.default({}),
  }),
  result<EnvPlan>(),
);
