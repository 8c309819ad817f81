/** What a masked value is replaced with. */
export const REDACTED = '[REDACTED]';

/** Values shorter than this are not masked: they would shred ordinary text. The vault refuses such secrets. */
export const MIN_REDACTABLE_LENGTH = 4;

/** Lines of a multi-line value at least this long are masked on their own too (a key logged line by line). */
const MIN_LINE_LENGTH = 16;

/**
 * Base64 of a value inside a longer base64 text (an HTTP Basic header is base64 of `user:value`) starts at one of
 * three byte alignments; the part made of whole 3-byte groups of the value encodes the same whatever surrounds it.
 * That part is masked when it is at least this long (shorter ones match random base64 too often), as the exec
 * masker does (`exec/masker.ts`); the few characters at its edges stay.
 */
const MIN_ALIGNED_CORE = 8;

/** The masking half of {@link Redactor}: what code that only needs to mask text is handed. */
export interface TextRedactor {
  redact(text: string): string;
}

/**
 * Masks every registered secret value, in every form it is likely to take in text: as is, base64, base64url (also
 * inside a longer base64 text), URL-encoded (as the common encoders write it), JSON-escaped, and line by line
 * for multi-line values. Every log line and every error message leaving the daemon passes through here.
 */
export class Redactor implements TextRedactor {
  private readonly forms = new Map<string, number>();
  /** Forms indexed by their first characters, longest first, so matching needs no rebuild per registration. */
  private readonly byPrefix = new Map<string, string[]>();

  /** Starts masking a value (idempotent; counted, so two secrets with one value survive one unregister). */
  register(value: string): void {
    for (const form of formsOf(value)) {
      const count = this.forms.get(form) ?? 0;
      this.forms.set(form, count + 1);
      if (count === 0) this.index(form);
    }
  }

  /** Stops masking a value, once no other registration holds it. */
  unregister(value: string): void {
    for (const form of formsOf(value)) {
      const count = (this.forms.get(form) ?? 0) - 1;
      if (count > 0) {
        this.forms.set(form, count);
        continue;
      }
      this.forms.delete(form);
      const key = form.slice(0, MIN_REDACTABLE_LENGTH);
      const bucket = this.byPrefix.get(key)?.filter((candidate) => candidate !== form) ?? [];
      if (bucket.length > 0) this.byPrefix.set(key, bucket);
      else this.byPrefix.delete(key);
    }
  }

  /** How many distinct forms are masked (for status and tests). */
  get size(): number {
    return this.forms.size;
  }

  /**
   * Returns the text with every registered value masked. Occurrences that overlap (two values sharing characters, a
   * value that overlaps itself) are masked as one stretch, so no character of either is left; touching ones each get
   * their own mask.
   */
  redact(text: string): string {
    if (this.forms.size === 0 || text.length < MIN_REDACTABLE_LENGTH) return text;
    let output = '';
    let copiedUpTo = 0;
    let spanStart = -1;
    let spanEnd = -1;
    for (let position = 0; position <= text.length - MIN_REDACTABLE_LENGTH; position++) {
      const candidates = this.byPrefix.get(text.slice(position, position + MIN_REDACTABLE_LENGTH));
      // Longest first: the first that matches reaches furthest.
      const match = candidates?.find((form) => text.startsWith(form, position));
      if (match === undefined) continue;
      const end = position + match.length;
      if (position < spanEnd) {
        spanEnd = Math.max(spanEnd, end);
        continue;
      }
      if (spanStart >= 0) {
        output += text.slice(copiedUpTo, spanStart) + REDACTED;
        copiedUpTo = spanEnd;
      }
      spanStart = position;
      spanEnd = end;
    }
    if (spanStart < 0) return text;
    return output + text.slice(copiedUpTo, spanStart) + REDACTED + text.slice(spanEnd);
  }

  /** Redacts every string inside a JSON-like value, returning a copy. */
  redactValue<T>(value: T): T {
    if (value === undefined) return value;
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- JSON.stringify answers undefined for undefined and functions, whatever its declared type
    return JSON.parse(this.redact(JSON.stringify(value) ?? 'null')) as T;
  }

  private index(form: string): void {
    const key = form.slice(0, MIN_REDACTABLE_LENGTH);
    const bucket = this.byPrefix.get(key) ?? [];
    bucket.push(form);
    bucket.sort((a, b) => b.length - a.length);
    this.byPrefix.set(key, bucket);
  }
}

function formsOf(value: string): Set<string> {
  const forms = new Set<string>();
  const add = (form: string, minimum = MIN_REDACTABLE_LENGTH): void => {
    if (form.length >= minimum) forms.add(form);
  };
  const variants = new Set([value, value.replace(/\r\n/g, '\n'), value.trim()]);
  for (const variant of variants) {
    const bytes = Buffer.from(variant);
    add(variant);
    add(bytes.toString('base64'));
    add(bytes.toString('base64').replace(/=+$/, ''));
    add(bytes.toString('base64url'));
    for (let skip = 0; skip < 3; skip++) {
      const whole = bytes.subarray(skip, skip + Math.floor((bytes.length - skip) / 3) * 3);
      add(whole.toString('base64'), MIN_ALIGNED_CORE);
      add(whole.toString('base64url'), MIN_ALIGNED_CORE);
    }
    for (const encoded of urlEncodedForms(variant)) add(encoded);
    add(JSON.stringify(variant).slice(1, -1));
    if (variant.includes('\n')) {
      for (const line of variant.split(/\r?\n/)) {
        const trimmed = line.trim();
        // PEM armour lines ("-----BEGIN … KEY-----") are not secret; masking them would only blind the log.
        if (trimmed.length >= MIN_LINE_LENGTH && !trimmed.startsWith('-----')) add(trimmed);
      }
    }
  }
  return forms;
}

/**
 * A value percent-encoded as common encoders write it; they differ in which characters they leave as they are, how
 * they write a space and the case of the hex. The exec masker masks the same forms.
 */
export function urlEncodedForms(value: string): string[] {
  // JavaScript's encodeURIComponent: leaves letters, digits and -_.!~*'()
  const component = encodeURIComponent(value);
  // RFC 3986 strictly (Python's quote with safe=''): leaves letters, digits and -_.~
  const strict = component.replace(/[!'()*]/g, (character) => `%${character.charCodeAt(0).toString(16).toUpperCase()}`);
  // An HTML form's body or URLSearchParams (Java's URLEncoder too): leaves letters, digits and -_.*, a space as `+`.
  const form = new URLSearchParams({ v: value }).toString().slice(2);
  return [
    component,
    component.replace(/%20/g, '+'),
    component.replace(/%[0-9A-F]{2}/g, (escape) => escape.toLowerCase()),
    strict,
    // Go's url.QueryEscape.
    strict.replace(/%20/g, '+'),
    form,
  ];
}
