import { ResponseError } from 'vscode-jsonrpc';
import { ErrorCodes } from '../protocol/errors.js';
import * as protocol from '../protocol/index.js';
import { MAX_SECRET_BYTES } from '../protocol/secretFields.js';

/**
 * The one place where the daemon's protocol wording becomes words for a person. The daemon answers in terms of
 * requests and schemas ("Invalid params for secrets/set: value: Too big: …"), which is right for its log and for
 * programs; the extension (notifications, webview fields) and the CLI show this module's text instead, which names
 * the field as the person saw it and says what to do. The original wording stays in their logs.
 */

/** What to show a person about a failed request: the text, and the form field it is about when there is one. */
export interface UserMessage {
  readonly text: string;
  /** The request's parameter the message is about (`value`, `name`…), for a form to show it next to that field. */
  readonly field?: string;
}

/** The words a person knows a request's parameters by. Anything not listed is its name split into words. */
const FIELD_LABELS: Readonly<Record<string, string>> = {
  name: 'Name',
  value: 'Value',
  passphrase: 'Passphrase',
  project: 'Project',
  category: 'Category',
  type: 'Type',
  tags: 'Tags',
  expiresAt: 'Expiry date',
  rotationDays: 'Rotation period (days)',
  length: 'Length',
  handle: 'Handle',
  content: 'The .env file',
  host: 'Host',
  port: 'Port',
  user: 'User',
  label: 'Label',
  labels: 'Labels',
  ref: 'Branch or tag',
  repository: 'Repository',
  limit: 'Page size',
  cursor: 'Page position',
};

/** Why a value is refused, when it is too large for the vault: what to do instead. */
const LARGE_VALUE_ADVICE =
  'Store large files (archives, data sets, certificates bundles) on the server or in the repository, and keep only the key or password that opens them here.';

/** Every request and notification method name (`secrets/set`…): never part of what a person reads. */
const METHOD_NAMES: readonly string[] = Object.values(protocol)
  .flatMap((value) => (typeof value === 'object' && 'method' in value && typeof value.method === 'string' ? [value.method] : []))
  .sort((a, b) => b.length - a.length);

/** The label a person knows a parameter by; `path` is the parameter's path in the request (`tags.2` → Tags). */
export function fieldLabel(path: string): string {
  const segments = path.split('.').filter((segment) => !/^\d+$/.test(segment));
  const last = segments.at(-1) ?? path;
  const known = FIELD_LABELS[last];
  if (known) return known;
  const words = last.replace(/([a-z0-9])([A-Z])/g, '$1 $2').replace(/[_-]+/g, ' ').toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** Shows a size in bytes as people read it: `64 KiB`, `1.5 MiB`, `512 bytes`. */
export function sizeText(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${Number((bytes / (1024 * 1024)).toFixed(1))} MiB`;
  if (bytes >= 1024) return `${Number((bytes / 1024).toFixed(1))} KiB`;
  return `${bytes} bytes`;
}

/** The sentence for a value over the vault's size limit (also used before anything is sent). */
export function valueTooLargeText(limitBytes: number = MAX_SECRET_BYTES): string {
  return `Value is too large: at most ${sizeText(limitBytes)}. ${LARGE_VALUE_ADVICE}`;
}

/**
 * One schema rule a parameter broke, in words: `path` is where (`value`, `tags.0`), `rule` the schema's wording
 * (zod's message, or the pattern description a request declares, like "an environment variable name like X").
 */
export function describeRule(path: string, rule: string): UserMessage {
  const field = path.split('.')[0] ?? path;
  const label = fieldLabel(path);
  const lastSegment = path.split('.').at(-1) ?? path;
  const text = ruleText(label, lastSegment, rule.trim());
  return field === 'params' ? { text } : { text, field };
}

function ruleText(label: string, lastSegment: string, rule: string): string {
  let match: RegExpMatchArray | null;
  if ((match = /^Too big: expected string to have <=(\d+) characters$/.exec(rule))) {
    // The schemas cap a secret's value loosely (the vault measures bytes): the limit a person meets is the vault's.
    if (lastSegment === 'value' || lastSegment === 'passphrase') return label === 'Value' ? valueTooLargeText() : `${label} is too large: at most ${sizeText(MAX_SECRET_BYTES)}.`;
    const limit = Number(match[1]);
    return limit >= 4096 ? `${label} is too large: at most ${sizeText(limit)}.` : `${label} is too long: at most ${limit} characters.`;
  }
  if ((match = /^Too big: expected array to have <=(\d+) items$/.exec(rule))) return `${label}: at most ${match[1]}.`;
  if ((match = /^Too big: expected number to be <=?(\d+)$/.exec(rule))) return `${label} must be at most ${match[1]}.`;
  if ((match = /^Too small: expected number to be >=?(-?\d+)$/.exec(rule))) return `${label} must be at least ${match[1]}.`;
  if ((match = /^Too small: expected string to have >=(\d+) characters$/.exec(rule))) {
    return match[1] === '1' ? `${label} is required.` : `${label} needs at least ${match[1]} characters.`;
  }
  if (/^Invalid input: expected \w+, received undefined$/.test(rule)) return `${label} is required.`;
  if (/^Invalid input: expected (true|false)$/.test(rule) || /needs confirm: true$/.test(rule)) return 'This needs your confirmation first.';
  if (/^Invalid input: expected int, received number$/.test(rule)) return `${label} must be a whole number.`;
  if ((match = /^Invalid input: expected (\w+), received \w+$/.exec(rule))) return `${label} must be ${match[1] === 'string' ? 'text' : `a ${match[1]}`}.`;
  if ((match = /^Invalid option: expected one of (.+)$/.exec(rule))) return `${label} must be one of ${(match[1] ?? '').replace(/"/g, '').split('|').join(', ')}.`;
  if (/^Invalid ISO datetime$/.test(rule) || /^Invalid ISO date$/.test(rule)) return `${label} must be a date (YYYY-MM-DD).`;
  if ((match = /^Unrecognized keys?: (.+)$/.exec(rule))) {
    return `This version of Zavhoz does not accept ${(match[1] ?? '').replace(/"/g, '')}: the extension or CLI and the daemon differ. Restart the daemon after updating both.`;
  }
  // A request's own rule ("an environment variable name like TELEGRAM_BOT_TOKEN", "a lowercase tag (…)").
  if (/^(a|an|the) /.test(rule)) return `${label} must be ${rule.replace(/\.$/, '')}.`;
  return `${label} is not valid: ${rule.replace(/\.$/, '')}.`;
}

/** Splits the router's "Invalid params for METHOD: path: rule; path: rule" into its rules. */
function invalidParamsRules(message: string): { path: string; rule: string }[] | undefined {
  const match = /^Invalid (?:params(?: for [^:]+)?|initialize params): (.*)$/s.exec(message.trim());
  if (!match?.[1]) return undefined;
  return match[1]
    .replace(/\.$/, '')
    .split('; ')
    .map((part) => {
      const colon = part.indexOf(': ');
      return colon < 0 ? { path: 'params', rule: part } : { path: part.slice(0, colon), rule: part.slice(colon + 2) };
    });
}

/** A daemon error (code and message, as they crossed the wire) in words for a person. */
export function describeDaemonError(code: number, message: string): UserMessage {
  switch (code) {
    case ErrorCodes.InvalidParams: {
      const rules = invalidParamsRules(message);
      if (!rules || rules.length === 0) return { text: withoutMethodNames(message.replace(/^Invalid params[^:]*:\s*/, '')) };
      const described = rules.map((rule) => describeRule(rule.path, rule.rule));
      const first = described[0] as UserMessage;
      const text = described.map((one) => one.text).join(' ');
      return first.field === undefined ? { text } : { text, field: first.field };
    }
    case ErrorCodes.MethodNotFound:
      return { text: 'The running Zavhoz daemon cannot do this yet (it is older than this client). Restart the daemon after updating Zavhoz.' };
    case ErrorCodes.InternalError: {
      const request = /\(request ([\w.:-]+)\)/.exec(message)?.[1];
      return { text: `Something went wrong inside the Zavhoz daemon${request ? ` (request ${request})` : ''}. Its log has the details; please report it.` };
    }
    case ErrorCodes.MessageTooLarge:
      return { text: 'The answer would be too large to send at once. Ask for fewer rows (a smaller page size); if it repeats, report it with the daemon log.' };
    default: {
      // The vault measures a value it was sent: "The value of NAME is N bytes; the vault keeps values up to …".
      const oversize = /^The (value|passphrase) of \S+ is (\d+) bytes; the vault keeps values up to (\d+) bytes/.exec(message);
      if (oversize && code === ErrorCodes.InvalidInput) {
        const [, field = 'value', size, limit] = oversize;
        const label = fieldLabel(field);
        return { text: `${label} is too large: ${sizeText(Number(size))}, at most ${sizeText(Number(limit))}.${field === 'value' ? ` ${LARGE_VALUE_ADVICE}` : ''}`, field };
      }
      return { text: withoutMethodNames(message) };
    }
  }
}

/** An error raised on the client's side about one form field (a value too large to send, a missing name). */
export class FieldError extends Error {
  constructor(
    message: string,
    readonly field: string | undefined,
  ) {
    super(message);
    this.name = 'FieldError';
  }
}

/** What to show a person about any error: a daemon error in plain words, anything else by its message. */
export function userMessage(error: unknown): UserMessage {
  if (error instanceof ResponseError) return describeDaemonError(error.code, error.message);
  if (error instanceof FieldError) return error.field === undefined ? { text: error.message } : { text: error.message, field: error.field };
  if (error instanceof Error) return { text: withoutMethodNames(error.message) };
  return { text: withoutMethodNames(String(error)) };
}

/** Takes request method names out of a sentence (they mean nothing to a person). */
export function withoutMethodNames(text: string): string {
  let result = text;
  for (const method of METHOD_NAMES) {
    if (!result.includes(method)) continue;
    const escaped = method.replace(/[$/]/g, (character) => `\\${character}`);
    result = result.replace(new RegExp(` (?:for|of|to|in) ${escaped}\\b`, 'g'), '').replace(new RegExp(`\\b${escaped}\\b`, 'g'), 'the request');
  }
  return result;
}
