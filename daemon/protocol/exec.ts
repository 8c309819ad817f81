import * as z from 'zod';
import { defineRequest, result } from './define.js';
import { projectName } from './fields.js';
import { secretHandle } from './secretFields.js';

/** An environment variable name a secret is handed to a command under. */
export const ENV_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Set by `zavhoz exec` in its command's environment: the names (comma-separated) of the variables that hold vault
 * values there. A daemon started from inside that command (a script it runs calls `zavhoz deploy`) is started
 * without them (`client/spawn.ts`), so it never holds those values for its life nor passes them to what it runs.
 */
export const EXEC_VALUES_VARIABLE = 'ZAVHOZ_EXEC_VALUES';

/** The variable names {@link EXEC_VALUES_VARIABLE} lists in `env`. */
export function execValueNames(env: NodeJS.ProcessEnv): string[] {
  return (env[EXEC_VALUES_VARIABLE] ?? '').split(',').filter((name) => ENV_NAME_PATTERN.test(name));
}

/** How many words of a command line the audit keeps, and how long each may be (longer ones are cut). */
export const EXEC_COMMAND_LIMITS = { words: 256, wordLength: 4096 } as const;

/** One secret a command gets: the variable name it gets it under, its handle and its value. */
export interface ExecSecretValue {
  readonly name: string;
  readonly handle: string;
  readonly value: string;
}

/**
 * Hands the values of secrets to `zavhoz exec`, which puts them in the environment of the command it runs and masks
 * them in its output. One of the few requests whose result holds values (with `secrets/reveal`): the router never
 * logs a result, and nothing here logs a value. Every secret handed out is audited (`exec`, with the command line
 * and the project; handles and names only). `secrets` are `NAME=HANDLE` pairs; with `project` and no pair naming
 * them, every secret of that project comes under its own name (a pair wins over a project secret of the same name).
 */
export const ExecResolve = defineRequest(
  'exec/resolve',
  () => z.strictObject({
    project: projectName.optional(),
    secrets: z
      .array(z.strictObject({ name: z.string().max(128).regex(ENV_NAME_PATTERN, 'an environment variable name like API_TOKEN'), handle: secretHandle }))
      .max(500)
      .default([]),
    /** The command about to run, argv[0] first: for the audit only. */
    command: z.array(z.string().max(EXEC_COMMAND_LIMITS.wordLength)).min(1).max(EXEC_COMMAND_LIMITS.words),
  }),
  result<{ readonly secrets: readonly ExecSecretValue[] }>(),
);
