import { ResponseError } from 'vscode-jsonrpc';
import { ErrorCodes, errorCodeName } from '../protocol/errors.js';
import { ToolRefusal } from './tool.js';

/**
 * Text helpers for tool results: short `key: value` lines and lists a model reads easily. Everything formatted here
 * comes from daemon answers, which carry no secret values; `catalogue.ts` then writes server addresses out of it
 * (`addresses.ts`).
 */

/** `label: value` lines, skipping empty values. */
export function fields(entries: readonly (readonly [string, string | number | null | undefined])[]): string {
  return entries
    .filter(([, value]) => value !== undefined && value !== null && value !== '')
    .map(([label, value]) => `${label}: ${value}`)
    .join('\n');
}

/** A bulleted list, or `none` when empty. */
export function bullets(items: readonly string[], empty = '- none'): string {
  return items.length === 0 ? empty : items.map((item) => `- ${item}`).join('\n');
}

/** Joins blocks with blank lines. */
export function blocks(...parts: readonly (string | undefined | false)[]): string {
  return parts.filter((part): part is string => typeof part === 'string' && part !== '').join('\n\n');
}

/** The URL a deployed project answers on. */
export function projectUrl(host: string, port: number): string {
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}/`;
}

/** One missing variable as the model should act on it. */
export function missingLine(entry: { readonly name: string; readonly type: string }, project: string): string {
  const scope = project === '' ? '' : `, project ${project}`;
  return `${entry.name} (type ${entry.type}): call zavhoz_request_secret with name ${entry.name}, type ${entry.type}${scope}`;
}

/**
 * An error as the model is told: the daemon's message (already redacted by the daemon) and its code name. A
 * refused deploy lists the variables to ask the human for.
 */
export function describeToolError(error: unknown): string {
  if (error instanceof ToolRefusal) return error.message;
  if (error instanceof ResponseError) {
    const code = error.code === ErrorCodes.RequestCancelled ? 'cancelled' : errorCodeName(error.code);
    const missing = missingOf(error.data);
    const hint = missing.length > 0 ? `\n\nAsk the human for each missing value, then call again:\n${bullets(missing.map((entry) => missingLine(entry, entry.project)))}` : '';
    return `error (${code}): ${error.message}${hint}`;
  }
  return `error: ${error instanceof Error ? error.message : String(error)}`;
}

function missingOf(data: unknown): { name: string; type: string; project: string }[] {
  if (typeof data !== 'object' || data === null || !('missing' in data) || !Array.isArray(data.missing)) return [];
  const found: { name: string; type: string; project: string }[] = [];
  for (const entry of data.missing as unknown[]) {
    if (typeof entry !== 'object' || entry === null) continue;
    const { name, type, command } = entry as Record<string, unknown>;
    if (typeof name !== 'string' || typeof type !== 'string') continue;
    const project = typeof command === 'string' ? (/--project (\S+)/.exec(command)?.[1] ?? '') : '';
    found.push({ name, type, project });
  }
  return found;
}
