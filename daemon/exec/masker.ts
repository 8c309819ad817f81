/* eslint-disable @typescript-eslint/no-non-null-assertion -- index arithmetic on buffers and parallel lists whose bounds the loops keep; noUncheckedIndexedAccess cannot follow it */
import { Transform } from 'node:stream';
import { urlEncodedForms } from '../core/redactor.js';
import { type PatternMatches, PatternSearch } from './patternSearch.js';

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

/** A masked form: its bytes and the secrets it stands for (indices into the distinct names, in the order given). */
export interface MaskedForm {
  readonly bytes: Buffer;
  readonly names: readonly number[];
}

/**
 * A masked span (overlapping matches joined) is cut once a match that would lengthen it starts this many bytes or
 * more after the span's start: the span so far is replaced and the rest goes on as a new span. Output that repeats a
 * value overlapping itself (`abab…` for the value `abab`) without end thus still comes out as it goes, one replacement
 * per stretch this long, and no byte of the value escapes at the cut (the new span covers what the old did not).
 */
export const MASKED_SPAN_LIMIT = 64 * 1024;

/** Options of a {@link Masker} (tests make the span limit small to reach it with little text). */
export interface MaskerOptions {
  readonly spanLimit?: number;
}

/**
 * Masks secret values in a byte stream: each value as is, its base64 (standard and URL-safe, with and without
 * padding, and at the three alignments inside a longer base64 text), URL-encoded (as the common encoders write it)
 * and JSON-escaped forms. Between chunks it keeps back the end of the output from where it could be the start of a
 * form (at most longest form − 1 bytes, usually none: a prompt is shown at once), so a value split across writes is
 * still masked; `end()` gives back what is left. Matching is one multi-pattern scan over the bytes
 * ({@link PatternSearch}); bytes no form touches are passed on as views of the chunk they came in, not copied. Overlapping values are masked as one span,
 * so no secret byte escapes at an overlap; a span still open at the end of a chunk is kept as its extent and names,
 * not its bytes, so what is held stays below the longest form whatever the output (see {@link MASKED_SPAN_LIMIT}).
 */
export class Masker {
  private readonly search: PatternSearch | undefined;
  private readonly forms: readonly MaskedForm[];
  private readonly names: readonly string[];
  private readonly holdBack: number;
  private readonly spanLimit: number;
  /** The forms by their first byte, to tell whether the end of a chunk may be the start of one. */
  private readonly byFirstByte: (Buffer[] | undefined)[] = [];
  /** Bytes not yet released nor masked: where a form may begin that the next chunk completes. */
  private pending: Buffer = Buffer.alloc(0);
  /** Where `pending` starts in the whole output (positions below are absolute: bytes since the first chunk). */
  private position = 0;
  /** Everything before this was released or replaced; an open span covers from here to `spanEnd`. */
  private releasedUpTo = 0;
  /** The open span: from `spanStart` to `spanEnd` (no span when `spanEnd` is -1), naming `spanNames`. */
  private spanStart = -1;
  private spanEnd = -1;
  private readonly spanNames = new Set<number>();

  constructor(secrets: readonly MaskedSecret[], options: MaskerOptions = {}) {
    const { forms, names } = maskedForms(secrets);
    this.forms = forms;
    this.names = names;
    this.search = forms.length > 0 ? new PatternSearch(forms.map((form) => form.bytes)) : undefined;
    this.holdBack = this.search === undefined ? 0 : this.search.longest - 1;
    this.spanLimit = options.spanLimit ?? MASKED_SPAN_LIMIT;
    for (const { bytes } of forms) (this.byFirstByte[bytes[0]!] ??= []).push(bytes);
  }

  /** Whether there is anything to mask at all (no secrets: the stream passes through untouched). */
  get active(): boolean {
    return this.search !== undefined;
  }

  /** How many bytes are held back between chunks (for tests: never more than the longest form). */
  get heldBack(): number {
    return this.pending.length;
  }

  /** Takes the next chunk; returns the masked bytes that can be released now (maybe none). */
  push(chunk: Buffer): Buffer {
    return joinPieces(this.pushPieces(chunk));
  }

  /**
   * Takes the next chunk; returns the masked bytes that can be released now, in pieces (maybe none) that are mostly
   * views of `chunk`, to be written out in order (with `writev`) rather than copied together.
   */
  pushPieces(chunk: Buffer): Buffer[] {
    if (this.search === undefined) return chunk.length === 0 ? [] : [chunk];
    // The held-back bytes are not copied in front of a long chunk: only the stretch where a form may cross the
    // junction is, to find the matches that start in them.
    const joined = this.pending.length === 0 || chunk.length < this.holdBack ? new Joined(EMPTY, this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk])) : new Joined(this.pending, chunk);
    return this.scan(joined, joined.head.length + this.firstUnfinished(joined.body));
  }

  /** Releases (masked) whatever is still held back; call once the input has ended. */
  end(): Buffer {
    if (this.search === undefined) return EMPTY;
    return joinPieces(this.scan(new Joined(EMPTY, this.pending), this.pending.length));
  }

  /**
   * Where the bytes that may begin a form still cut off by the end of `buffer` start (its length when none may): only
   * from there on does a match depend on what comes next.
   */
  private firstUnfinished(buffer: Buffer): number {
    for (let start = Math.max(0, buffer.length - this.holdBack); start < buffer.length; start++) {
      const forms = this.byFirstByte[buffer[start]!];
      if (forms === undefined) continue;
      for (const form of forms) {
        if (form.length > buffer.length - start && beginsWith(buffer, start, form)) return start;
      }
    }
    return buffer.length;
  }

  /** Every match in `joined` that starts before `limit`, ordered by start. */
  private find(joined: Joined, limit: number): PatternMatches {
    const search = this.search!;
    const { head, body } = joined;
    if (head.length === 0) return search.find(body, limit);
    // A form that starts in the head ends at most `holdBack` bytes into the body (the caller made the body that long).
    const inHead = search.find(Buffer.concat([head, body.subarray(0, this.holdBack)]), head.length);
    const inBody = search.find(body, limit - head.length);
    return { starts: [...inHead.starts, ...inBody.starts.map((start) => start + head.length)], patterns: [...inHead.patterns, ...inBody.patterns] };
  }

  /**
   * Masks the matches of `joined` that start before `safe` (no form starting there depends on bytes still to come, so
   * they are final) and releases the bytes up to `safe`, but for a span that reaches past it: that one stays open (a
   * value overlapping its end may only show up with the next chunk), as its extent and names; its bytes are not kept.
   * All matches that start at one position are taken together, so the outcome does not depend on their order.
   */
  private scan(joined: Joined, safe: number): Buffer[] {
    const { starts, patterns } = this.find(joined, safe);
    const base = this.position;
    const pieces: Buffer[] = [];
    for (let index = 0; index < starts.length; ) {
      const start = base + starts[index]!;
      let end = start;
      const first = index;
      for (; index < starts.length && base + starts[index]! === start; index++) end = Math.max(end, start + this.forms[patterns[index]!]!.bytes.length);
      const joins = this.spanEnd > start && (end <= this.spanEnd || start - this.spanStart < this.spanLimit);
      if (!joins) {
        if (this.spanEnd >= 0) this.closeSpan(pieces);
        joined.slice(this.releasedUpTo - base, start - base, pieces);
        this.releasedUpTo = Math.max(this.releasedUpTo, start);
        this.spanStart = start;
        this.spanNames.clear();
      }
      this.spanEnd = Math.max(this.spanEnd, end);
      for (let match = first; match < index; match++) for (const name of this.forms[patterns[match]!]!.names) this.spanNames.add(name);
    }
    if (this.spanEnd >= 0 && this.spanEnd <= base + safe) this.closeSpan(pieces);
    if (this.spanEnd < 0) {
      joined.slice(this.releasedUpTo - base, safe, pieces);
      this.releasedUpTo = base + safe;
    }
    // Copy what is kept, so a large chunk is not pinned in memory by a small tail.
    this.pending = joined.copy(safe);
    this.position = base + safe;
    return pieces;
  }

  /** Ends the open span: its replacement is released, and what it covered is done with. */
  private closeSpan(pieces: Buffer[]): void {
    pieces.push(this.replacement(this.spanNames));
    this.releasedUpTo = this.spanEnd;
    this.spanStart = -1;
    this.spanEnd = -1;
  }

  /** The text that replaces a span, naming its secrets in the order they were given. */
  private replacement(names: ReadonlySet<number>): Buffer {
    const ordered = [...names].sort((a, b) => a - b).map((name) => this.names[name]!);
    return Buffer.from(maskReplacement(ordered.join(',')));
  }
}

const EMPTY = Buffer.alloc(0);

/** Bytes held back from earlier chunks followed by a new chunk, addressed as one run without copying them together. */
class Joined {
  readonly length: number;

  constructor(
    readonly head: Buffer,
    readonly body: Buffer,
  ) {
    this.length = head.length + body.length;
  }

  /** Appends the bytes from `start` to `end` to `pieces` as views (none when the range is empty). */
  slice(start: number, end: number, pieces: Buffer[]): void {
    const split = this.head.length;
    if (start < Math.min(end, split)) pieces.push(this.head.subarray(start, Math.min(end, split)));
    if (end > Math.max(start, split)) pieces.push(this.body.subarray(Math.max(start, split) - split, end - split));
  }

  /** A copy of the bytes from `start` on. */
  copy(start: number): Buffer {
    const pieces: Buffer[] = [];
    this.slice(start, this.length, pieces);
    return Buffer.concat(pieces);
  }
}

/** Whether the bytes of `buffer` from `start` to its end are the beginning of `form`. */
function beginsWith(buffer: Buffer, start: number, form: Buffer): boolean {
  for (let index = start; index < buffer.length; index++) {
    if (buffer[index] !== form[index - start]) return false;
  }
  return true;
}

function joinPieces(pieces: readonly Buffer[]): Buffer {
  return pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces);
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

/**
 * Every form that is masked for these secrets, once each, with the secrets it stands for; `names` are the distinct
 * secret names in the order given (a form's `names` index into them).
 */
export function maskedForms(secrets: readonly MaskedSecret[]): { forms: MaskedForm[]; names: string[] } {
  const names = [...new Set(secrets.map((secret) => secret.name))];
  const byText = new Map<string, number[]>();
  for (const secret of secrets) {
    const name = names.indexOf(secret.name);
    for (const form of formsOf(secret.value)) {
      const formNames = byText.get(form) ?? [];
      if (!formNames.includes(name)) formNames.push(name);
      byText.set(form, formNames);
    }
  }
  return { forms: [...byText].map(([text, formNames]) => ({ bytes: Buffer.from(text, 'latin1'), names: formNames })), names };
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
    for (const encoded of urlEncodedForms(variant)) addText(encoded);
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
