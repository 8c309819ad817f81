import * as z from 'zod';
import { isCommitId, isHandle, looksLikeSecret, PASS_A_HANDLE } from './secretGuard.js';
import type { AgentTool } from './tool.js';

/** The guard's verdict on a tool's raw arguments. */
export type GuardVerdict = { readonly ok: true } | { readonly ok: false; readonly message: string };

/** The largest piece of one argument written to the audit log. */
const AUDIT_VALUE_CHARS = 200;

/**
 * Checks raw tool arguments before anything else looks at them (schema validation included, so no validation
 * message can quote a value): handle arguments take handles only, and no other string, key or list item may look
 * like a credential. The refusal names the argument, never its content.
 */
export function guardArguments(tool: AgentTool, raw: unknown): GuardVerdict {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return { ok: true };
  for (const [key, value] of Object.entries(raw as Record<string, unknown>)) {
    if (looksLikeSecret(key)) return refuse('an argument name', 'looks like a secret value');
    if (tool.handleArguments.includes(key)) {
      if (typeof value === 'string' && !isHandle(value)) return refuse(key, 'takes a vault handle like sec_7f3k4x2m, never a value');
      continue;
    }
    if (tool.bindingArguments?.includes(key) && typeof value === 'object' && value !== null && !Array.isArray(value)) {
      for (const [name, handle] of Object.entries(value as Record<string, unknown>)) {
        if (looksLikeSecret(name)) return refuse(`${key} (a variable name)`, 'looks like a secret value');
        if (typeof handle === 'string' && !isHandle(handle)) return refuse(`${key}.${name}`, 'takes a vault handle like sec_7f3k4x2m, never a value');
      }
      continue;
    }
    const found = findSecretLooking(value, key === 'ref');
    if (found) return refuse(key, 'looks like a secret value (a token, key or password)');
  }
  return { ok: true };
}

function refuse(argument: string, problem: string): GuardVerdict {
  return { ok: false, message: `Refused: "${argument}" ${problem}. Zavhoz tools take names and handles, never values: ${PASS_A_HANDLE}.` };
}

function findSecretLooking(value: unknown, isRef: boolean): boolean {
  if (typeof value === 'string') return !(isRef && isCommitId(value)) && looksLikeSecret(value);
  if (Array.isArray(value)) return value.some((item) => findSecretLooking(item, false));
  if (typeof value === 'object' && value !== null) {
    return Object.entries(value).some(([key, item]) => looksLikeSecret(key) || findSecretLooking(item, false));
  }
  return false;
}

/** The argument names of a raw input, for the audit entry of a refused call (its values may be secrets). */
export function argumentNames(raw: unknown): string[] {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return [];
  return Object.keys(raw).map((key) => (looksLikeSecret(key) ? '(a secret-looking name)' : key.slice(0, 64)));
}

/** `name=value` lines of arguments that passed the guard, for the audit log. */
export function auditLines(raw: unknown): string[] {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return [];
  const lines: string[] = [];
  for (const [key, value] of Object.entries(raw as Record<string, unknown>)) {
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
      for (const [name, item] of Object.entries(value as Record<string, unknown>)) lines.push(`${key}.${name}=${short(item)}`);
    } else {
      lines.push(`${key}=${short(value)}`);
    }
  }
  return lines.slice(0, 100);
}

function short(value: unknown): string {
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- JSON.stringify answers undefined for undefined and functions, whatever its declared type
  const text = Array.isArray(value) ? value.map((item) => String(item)).join(',') : typeof value === 'string' ? value : JSON.stringify(value) ?? '';
  if (text.length <= AUDIT_VALUE_CHARS) return text;
  // Cut where a word or list item ends: the daemon masks vault values in these lines, but only whole ones, and a value
  // cut in two would leave its start. One character more than kept: when it ends a word, the last word kept is whole.
  return `${text.slice(0, AUDIT_VALUE_CHARS + 1).replace(/[^\s,]*$/, '').trimEnd()}…`;
}

/** Schema validation issues in words, with argument names and rules but never the values given. */
export function describeInvalid(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : 'arguments'}: ${issue.message}`)
    .join('; ');
}
