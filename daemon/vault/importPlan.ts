import type { ImportResult, SecretCategory } from '../protocol/secretFields.js';
import { atLine, detectType, newRecord, replacementRecord } from './changes.js';
import type { DotenvEntry } from './dotenv.js';
import type { Change } from './keeper.js';
import type { SecretRecord } from './records.js';
import { checkTypedValue } from './validate.js';

/** What planning an import needs from the vault. */
export interface ImportContext {
  byName(name: string, project: string | null): Promise<SecretRecord | undefined>;
  fingerprint(value: string): string;
  hasCurrent(record: SecretRecord): Promise<boolean>;
  uniqueHandle(taken: Set<string>): Promise<string>;
}

/**
 * Turns parsed `.env` entries into vault changes: a new name is created (typed `private_key` if it holds one, else
 * `text`), a name that exists in the scope with another value is rotated, one with the same value is left alone.
 */
export async function planImport(
  entries: readonly DotenvEntry[],
  scope: { project?: string | undefined; category?: SecretCategory | undefined },
  context: ImportContext,
): Promise<{ changes: Change[]; result: ImportResult }> {
  const now = new Date().toISOString();
  const changes: Change[] = [];
  const result = { handles: {} as Record<string, string>, created: [] as string[], updated: [] as string[], unchanged: [] as string[] };
  const taken = new Set<string>();
  for (const entry of entries) {
    const existing = await context.byName(entry.name, scope.project ?? null);
    const fingerprint = context.fingerprint(entry.value);
    if (!existing) {
      const handle = await context.uniqueHandle(taken);
      const description = { name: entry.name, category: scope.category ?? 'other', ...(scope.project === undefined ? {} : { project: scope.project }) };
      const record = newRecord(description, handle, detectType(entry.value), now, { fingerprint, origin: 'user', generatedLength: null, hasPassphrase: false });
      changes.push({ kind: 'create', record, value: entry.value });
      result.handles[entry.name] = handle;
      result.created.push(entry.name);
    } else if (fingerprint === existing.fingerprint) {
      result.handles[entry.name] = existing.handle;
      result.unchanged.push(entry.name);
    } else {
      // The existing secret keeps its type: the new value must fit it.
      atLine(entry.line, () => checkTypedValue(existing.name, existing.type, entry.value, undefined));
      const { record, retired } = replacementRecord(existing, fingerprint, undefined, { origin: 'user', generatedLength: null }, await context.hasCurrent(existing));
      changes.push({ kind: 'replace', record, retired, value: entry.value });
      result.handles[entry.name] = existing.handle;
      result.updated.push(entry.name);
    }
  }
  return { changes, result };
}
