import type { EnvPlan, PlannedVariable } from '../protocol/env.js';
import type { SecretReader, SecretUse } from '../vault/api.js';
import { compose, COMPOSED, type ComputeContext, computedRule } from './envRules.js';

/** Lends several values at once: `work` runs inside every loan, so no value outlives it. */
export async function withValues<T>(
  reader: SecretReader,
  handles: readonly string[],
  use: SecretUse,
  work: (values: ReadonlyMap<string, string>) => Promise<T> | T,
): Promise<T> {
  const unique = [...new Set(handles)];
  const values = new Map<string, string>();
  const step = async (index: number): Promise<T> => {
    const handle = unique[index];
    if (handle === undefined) return work(values);
    return reader.withValue(handle, use, async (value) => {
      values.set(handle, value);
      try {
        return await step(index + 1);
      } finally {
        values.delete(handle);
      }
    });
  };
  return step(0);
}

/**
 * Computes every variable's value from the plan: bound and generated ones from `secrets` (handle → value), computed
 * ones from `context`, composed ones from their parts. Returns name → value in plan order; optional variables with
 * no handle are left out so compose applies its own default.
 */
export function environmentValues(
  plan: EnvPlan,
  context: ComputeContext,
  secrets: ReadonlyMap<string, string>,
  modules: readonly string[] = [],
): Map<string, string> {
  const values = new Map<string, string>();
  const byName = new Map(plan.variables.map((variable) => [variable.name, variable]));
  const valueOf = (variable: PlannedVariable): string | undefined => {
    switch (variable.status) {
      case 'bound':
      case 'generate':
        return variable.handle === undefined ? undefined : secrets.get(variable.handle);
      case 'computed':
        return computedRule(variable.name, modules)?.value(context);
      case 'composed': {
        const parts = new Map<string, string>();
        for (const part of variable.parts ?? []) {
          const partVariable = byName.get(part);
          const partValue = partVariable ? valueOf(partVariable) : undefined;
          if (partValue !== undefined) parts.set(part, partValue);
        }
        return compose(COMPOSED[variable.name]?.template ?? '', parts);
      }
      case 'optional':
      case 'missing':
        return undefined;
    }
  };
  for (const variable of plan.variables) {
    const value = valueOf(variable);
    if (value === undefined) {
      if (variable.status === 'optional') continue;
      throw new Error(`env: no value for ${variable.name} (${variable.status}); the plan should have refused the deploy`);
    }
    values.set(variable.name, value);
  }
  return values;
}

/** Characters a dotenv value may hold unquoted in every parser we target (compose, python-dotenv, dotenv). */
const BARE = /^[A-Za-z0-9_.:/@+,=%-]*$/;

/**
 * Renders a `.env` file. Values that need it are single-quoted (literal in compose and the common dotenv
 * libraries); ones holding a quote or a newline are double-quoted with `\\`, `"`, `$` and newlines escaped.
 */
export function formatDotenv(values: ReadonlyMap<string, string>): string {
  const lines: string[] = ['# Written by Zavhoz at deploy time. Do not edit on the server: the next deploy replaces it.'];
  for (const [name, value] of values) {
    if (BARE.test(value)) lines.push(`${name}=${value}`);
    else if (!value.includes("'") && !/[\r\n]/.test(value)) lines.push(`${name}='${value}'`);
    else {
      const escaped = value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\$/g, '\\$').replace(/\r/g, '\\r').replace(/\n/g, '\\n');
      lines.push(`${name}="${escaped}"`);
    }
  }
  return `${lines.join('\n')}\n`;
}

/** The handles a plan reads from the vault. */
export function planHandles(plan: EnvPlan): string[] {
  return plan.variables.flatMap((variable) => (variable.handle === undefined ? [] : [variable.handle]));
}
