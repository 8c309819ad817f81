/** Severity of a forwarded daemon line, mapped onto the output channel's levels. */
export type ForwardLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error';

/** A daemon log line, ready for the output channel. */
export interface ForwardedLine {
  readonly level: ForwardLevel;
  readonly text: string;
}

const knownLevels = new Set<string>(['debug', 'info', 'warn', 'error']);
const shownFirst = ['requestId', 'client', 'method'];

/**
 * Turns one daemon log line (a redacted JSON object) into `[daemon] message key=value …` at the right level.
 * Lines that are not JSON are forwarded as they are, at info level.
 */
export function formatDaemonLine(line: string): ForwardedLine {
  let record: unknown;
  try {
    record = JSON.parse(line);
  } catch {
    return { level: 'info', text: `[daemon] ${line}` };
  }
  if (typeof record !== 'object' || record === null || Array.isArray(record)) return { level: 'info', text: `[daemon] ${line}` };
  const fields = record as Record<string, unknown>;
  const level = typeof fields.level === 'string' && knownLevels.has(fields.level) ? (fields.level as ForwardLevel) : 'info';
  const message = typeof fields.message === 'string' ? fields.message : '';
  const rest = Object.keys(fields)
    .filter((key) => key !== 'time' && key !== 'level' && key !== 'message')
    .sort((a, b) => rank(a) - rank(b))
    .map((key) => `${key}=${render(fields[key])}`);
  return { level, text: ['[daemon]', message, ...rest].filter((part) => part !== '').join(' ') };
}

function rank(key: string): number {
  const index = shownFirst.indexOf(key);
  return index === -1 ? shownFirst.length : index;
}

function render(value: unknown): string {
  if (typeof value === 'string') return /\s/.test(value) ? JSON.stringify(value) : value;
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- JSON.stringify answers undefined for undefined and functions, whatever its declared type
  return JSON.stringify(value) ?? String(value);
}
