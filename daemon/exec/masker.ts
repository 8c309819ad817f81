import { Transform } from 'node:stream';
import { PatternSearch } from './patternSearch.js';

/** One value to mask, with the name its replacement shows (`[masked:NAME]`). */
export interface MaskedSecret {
  name: string;
  value: string;
}

/** Text that replaces a masked value. */
export function maskReplacement(name: string): string {
  return `[masked:${name}]`;
}

/**
 * Values shorter than this are still masked, but only as they are: the base64 or URL-encoded form of one to three
 * bytes is two to four characters that turn up in any text, so masking those would shred ordinary output while
 * hiding next to nothing (a value that short can be guessed anyway; the vault refuses such secrets).
 */
export const MIN_ENCODED_LENGTH = 4;

/**
 * Base64 of a value that sits inside a longer base64 stream starts at one of three byte alignments; the part made
 * of whole 3-byte groups of the value encodes the same whatever surrounds it. That part is masked when it is at
 * least this long (shorter fragments match random base64 too often); the few characters at its edges stay.
 */
const MIN_ALIGNED_CORE = 8;

/** Lines of a multi-line value at least this long are masked on their own too (as the daemon's redactor does). */
const MIN_LINE_LENGTH = 16;

/** A masked form (bytes as a latin1 string, so one character is one byte) and the secrets it stands for. */
interface Form {
  text: string;
  names: string[];
}

/**
 * Masks secret values in a byte stream: each value as is, its base64 (standard and URL-safe, with and without
 * padding, and at the three alignments inside a longer base64 text), URL-encoded and JSON-escaped forms. Between
 * chunks it keeps back the end of the output from where it could be the start of a form (at most longest form − 1
 * bytes, usually none: a prompt is shown at once), so a value split across writes is still masked; `end()` gives
 * back what is left. Matching is a multi-pattern scan over the bytes ({@link PatternSearch}), and
 * overlapping values are masked as one span, so no secret byte escapes at an overlap.
 */
export class Masker {
  private readonly search: PatternSearch | undefined;
  private readonly namesByForm = new Map<string, string[]>();
  private readonly holdBack: number;
  /** The forms by their first byte, to tell whether the end of a chunk may be the start of one. */
  private readonly byFirstByte = new Map<number, Buffer[]>();
  private pending: Buffer = Buffer.alloc(0);

  constructor(secrets: readonly MaskedSecret[]) {
    const forms = collectForms(secrets);
    for (const form of forms) this.namesByForm.set(form.text, form.names);
    this.search = forms.length > 0 ? new PatternSearch(forms.map((form) => form.text)) : undefined;
    this.holdBack = this.search === undefined ? 0 : this.search.longest - 1;
    for (const form of forms) {
      const bytes = Buffer.from(form.text, 'latin1');
      const bucket = this.byFirstByte.get(bytes[0]!) ?? [];
      bucket.push(bytes);
      this.byFirstByte.set(bytes[0]!, bucket);
    }
  }

  /** Whether there is anything to mask at all (no secrets: the stream passes through untouched). */
  get active(): boolean {
    return this.search !== undefined;
  }

  /** Takes the next chunk; returns the masked bytes that can be released now (maybe none). */
  push(chunk: Buffer): Buffer {
    if (this.search === undefined) return chunk;
    const buffer = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const { output, rest } = this.scan(buffer, this.firstUnfinished(buffer));
    this.pending = rest;
    return output;
  }

  /** Releases (masked) whatever is still held back; call once the input has ended. */
  end(): Buffer {
    if (this.search === undefined) return Buffer.alloc(0);
    const { output } = this.scan(this.pending, this.pending.length);
    this.pending = Buffer.alloc(0);
    return output;
  }

  /**
   * Where the bytes that may begin a form still cut off by the end of `buffer` start (its length when none may): only
   * from there on does a match depend on what comes next.
   */
  private firstUnfinished(buffer: Buffer): number {
    for (let start = Math.max(0, buffer.length - this.holdBack); start < buffer.length; start++) {
      const rest = buffer.length - start;
      const forms = this.byFirstByte.get(buffer[start]!);
      if (forms?.some((form) => form.length > rest && buffer.compare(form, 0, rest, start) === 0)) return start;
    }
    return buffer.length;
  }

  /**
   * Masks the spans of `buffer` that start before `safe` (no form starting there depends on bytes still to come, so
   * the match is final) and releases the bytes up to `safe`; a span that reaches past `safe` is held back whole, because a value
   * overlapping its end may only show up with the next chunk.
   */
  private scan(buffer: Buffer, safe: number): { output: Buffer; rest: Buffer } {
    const pieces: Buffer[] = [];
    let copiedUpTo = 0;
    let spanStart = -1;
    let spanEnd = -1;
    let spanNames: string[] = [];
    for (const match of this.search!.find(buffer, safe)) {
      const names = this.namesByForm.get(match.pattern) ?? [];
      if (spanStart >= 0 && match.start < spanEnd) {
        spanEnd = Math.max(spanEnd, match.end);
        spanNames = union(spanNames, names);
        continue;
      }
      if (spanStart >= 0) {
        pieces.push(buffer.subarray(copiedUpTo, spanStart), replacementOf(spanNames));
        copiedUpTo = spanEnd;
      }
      spanStart = match.start;
      spanEnd = match.end;
      spanNames = names;
    }
    let releaseUpTo = safe;
    if (spanStart >= 0) {
      if (spanEnd > safe && safe < buffer.length) {
        releaseUpTo = spanStart;
      } else {
        pieces.push(buffer.subarray(copiedUpTo, spanStart), replacementOf(spanNames));
        copiedUpTo = spanEnd;
        releaseUpTo = Math.max(safe, spanEnd);
      }
    }
    if (releaseUpTo > copiedUpTo) pieces.push(buffer.subarray(copiedUpTo, releaseUpTo));
    const rest = buffer.subarray(Math.max(copiedUpTo, releaseUpTo));
    // Copy what is kept, so a large chunk is not pinned in memory by a small tail.
    return { output: pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces), rest: Buffer.from(rest) };
  }
}

/** A `Transform` that masks the given secrets in whatever passes through it (see {@link Masker}). */
export function createMaskingStream(secrets: readonly MaskedSecret[]): Transform {
  const masker = new Masker(secrets);
  return new Transform({
    transform(chunk: Buffer | string, _encoding, callback) {
      const output = masker.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
      callback(null, output.length > 0 ? output : undefined);
    },
    flush(callback) {
      const output = masker.end();
      callback(null, output.length > 0 ? output : undefined);
    },
  });
}

/** Masks the given secrets in one whole text (see {@link Masker}). */
export function maskText(text: string, secrets: readonly MaskedSecret[]): string {
  const masker = new Masker(secrets);
  if (!masker.active) return text;
  return Buffer.concat([masker.push(Buffer.from(text)), masker.end()]).toString('utf8');
}

function replacementOf(names: readonly string[]): Buffer {
  return Buffer.from(maskReplacement(names.join(',')));
}

function union(first: readonly string[], second: readonly string[]): string[] {
  return [...new Set([...first, ...second])];
}

function collectForms(secrets: readonly MaskedSecret[]): Form[] {
  const byText = new Map<string, string[]>();
  for (const secret of secrets) {
    for (const form of formsOf(secret.value)) {
      const names = byText.get(form) ?? [];
      if (!names.includes(secret.name)) names.push(secret.name);
      byText.set(form, names);
    }
  }
  return [...byText].map(([text, names]) => ({ text, names }));
}

/** Every form of a value that is masked, as latin1 strings of its bytes. */
function formsOf(value: string): Set<string> {
  const forms = new Set<string>();
  if (value.length === 0) return forms;
  const raw = Buffer.from(value);
  forms.add(raw.toString('latin1'));
  if (raw.length < MIN_ENCODED_LENGTH) return forms;
  const addText = (text: string, minimum = MIN_ENCODED_LENGTH): void => {
    if (text.length >= minimum) forms.add(Buffer.from(text).toString('latin1'));
  };
  const variants = new Set([value, value.replace(/\r\n/g, '\n'), value.trim()]);
  for (const variant of variants) {
    const bytes = Buffer.from(variant);
    addText(variant);
    const base64 = bytes.toString('base64');
    addText(base64);
    addText(base64.replace(/=+$/, ''));
    addText(bytes.toString('base64url'));
    addText(base64.replace(/\+/g, '-').replace(/\//g, '_'));
    for (let skip = 0; skip < 3; skip++) {
      const whole = bytes.subarray(skip, skip + Math.floor((bytes.length - skip) / 3) * 3);
      addText(whole.toString('base64'), MIN_ALIGNED_CORE);
      addText(whole.toString('base64url'), MIN_ALIGNED_CORE);
    }
    const uriEncoded = encodeURIComponent(variant);
    addText(uriEncoded);
    addText(uriEncoded.replace(/%20/g, '+'));
    addText(uriEncoded.replace(/%[0-9A-F]{2}/g, (escape) => escape.toLowerCase()));
    addText(JSON.stringify(variant).slice(1, -1));
    if (variant.includes('\n')) {
      for (const line of variant.split(/\r?\n/)) {
        const trimmed = line.trim();
        // A key printed line by line (or re-wrapped) still shows its lines; PEM armour lines are not secret.
        if (trimmed.length >= MIN_LINE_LENGTH && !trimmed.startsWith('-----')) addText(trimmed);
      }
    }
  }
  return forms;
}
