/**
 * JSON text of answers, made once. A list page is encoded when it is cut (its size decides where it ends), then the
 * router checks the answer's size and the writer sends it: without this each of them encoded every row again (3× per
 * row; a page of 200 servers is ~135 KB). Whoever has encoded a value remembers its text here; the next
 * {@link encodeJson} that meets the value near the top of what it encodes uses that text once and forgets it, so an
 * object a handler returns again later (changed in between) is encoded afresh.
 */

/** Texts of values just encoded, by value, each used once. Weak: an unused text goes with its value. */
const known = new WeakMap<object, string>();

/** How deep {@link encodeJson} looks for known values: message → result → a result's field (a page's rows). */
const SPLICE_DEPTH = 3;

/** Remembers `json`, just made by `JSON.stringify(value)`, for the next {@link encodeJson} that meets `value`. */
export function rememberJson(value: object, json: string): void {
  known.set(value, json);
}

/** What `JSON.stringify(value)` gives, reusing the remembered text of `value` or of the plain objects near its top. */
export function encodeJson(value: unknown): string {
  return encode(value, SPLICE_DEPTH) ?? 'null';
}

/** `JSON.stringify(value)` with known texts spliced in; undefined where JSON.stringify leaves the value out. */
function encode(value: unknown, depth: number): string | undefined {
  if (typeof value !== 'object' || value === null) return JSON.stringify(value);
  const text = known.get(value);
  if (text !== undefined) {
    known.delete(value);
    return text;
  }
  if (depth === 0 || !isPlainObject(value)) return JSON.stringify(value);
  const parts: string[] = [];
  for (const [key, field] of Object.entries(value)) {
    const encoded = encode(field, depth - 1);
    if (encoded !== undefined) parts.push(`${JSON.stringify(key)}:${encoded}`);
  }
  return `{${parts.join(',')}}`;
}

/** An object literal's shape: JSON.stringify writes its own enumerable fields, and it has no toJSON to ask first. */
function isPlainObject(value: object): value is Record<string, unknown> {
  const prototype = Object.getPrototypeOf(value) as unknown;
  return (prototype === Object.prototype || prototype === null) && typeof (value as { toJSON?: unknown }).toJSON !== 'function';
}
