/**
 * Small text formatters shared by the tree views, the status bar and the webviews' initial state. No VS Code
 * import: unit-tested directly.
 */

const units = ['B', 'KB', 'MB', 'GB', 'TB'] as const;

/** "1.5 GB" from a byte count; whole numbers for B/KB, one decimal above. */
export function formatBytes(bytes: number): string {
  let value = Math.max(0, bytes);
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  const digits = unit <= 1 || value >= 100 ? 0 : 1;
  return `${value.toFixed(digits).replace(/\.0$/, '')} ${units[unit]}`;
}

/** "1.5 GB" from a count of megabytes (the unit servers and requirements are declared in). */
export function formatMegabytes(megabytes: number): string {
  return formatBytes(megabytes * 1024 * 1024);
}

/** "just now", "5 min ago", "3 h ago", "2 days ago", "in 4 days" — relative to `now`. */
export function relativeTime(iso: string, now: Date): string {
  const then = Date.parse(iso);
  if (Number.isNaN(then)) return iso;
  const seconds = Math.round((then - now.getTime()) / 1000);
  const future = seconds > 0;
  const abs = Math.abs(seconds);
  let text: string;
  if (abs < 45) return 'just now';
  if (abs < 3600) text = `${Math.round(abs / 60)} min`;
  else if (abs < 86_400) text = `${Math.round(abs / 3600)} h`;
  else {
    const days = Math.round(abs / 86_400);
    text = `${days} ${days === 1 ? 'day' : 'days'}`;
  }
  return future ? `in ${text}` : `${text} ago`;
}

/** "1:05" or "1:02:05" for an elapsed time in milliseconds. */
export function formatElapsed(milliseconds: number): string {
  const total = Math.max(0, Math.floor(milliseconds / 1000));
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const seconds = String(total % 60).padStart(2, '0');
  return hours > 0 ? `${hours}:${String(minutes).padStart(2, '0')}:${seconds}` : `${minutes}:${seconds}`;
}

/** "just now", "5 min ago", "3 h ago", "3 d ago", "in 4 d": {@link relativeTime} short enough for a tree row. */
export function shortAge(iso: string, now: Date): string {
  return relativeTime(iso, now).replace(/ days?\b/, ' d');
}
