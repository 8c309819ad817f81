import type { RequestDefinition } from '../../daemon/protocol/define.js';

/**
 * An InputBox validator that checks one field against the request's own params schema (the same one the
 * daemon enforces), so the user sees the daemon's rule while typing. `base` fills the other required fields.
 */
export function fieldValidator<P, R>(
  definition: RequestDefinition<P, R>,
  base: Record<string, unknown>,
  field: string,
  convert: (text: string) => unknown = (text) => text,
): (text: string) => string | undefined {
  return (text: string) => {
    const checked = definition.params.safeParse({ ...base, [field]: convert(text.trim()) });
    if (checked.success) return undefined;
    const issue = checked.error.issues.find((candidate) => candidate.path[0] === field);
    return issue ? issue.message : undefined;
  };
}

/** "22" → 22; anything that is not a whole number stays text so the schema reports it. */
export function toInteger(text: string): unknown {
  return /^\d+$/.test(text) ? Number(text) : text;
}

/** Like {@link fieldValidator} for a whole-number field: says so plainly before the schema's range check. */
export function integerValidator<P, R>(definition: RequestDefinition<P, R>, base: Record<string, unknown>, field: string): (text: string) => string | undefined {
  const check = fieldValidator(definition, base, field, toInteger);
  return (text: string) => (/^\d+$/.test(text.trim()) ? check(text) : 'Enter a whole number.');
}

/** "web, db ,prod" → ["web", "db", "prod"]. */
export function toList(text: string): string[] {
  return text
    .split(/[\s,]+/)
    .map((item) => item.trim())
    .filter((item) => item !== '');
}
