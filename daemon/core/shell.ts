/**
 * Quoting for the POSIX shell that runs a command sent over SSH (an SSH exec takes one command line, which the
 * server's login shell splits). Values still reach scripts as positional arguments (`sh -c SCRIPT zavhoz ARG…`),
 * never spliced into a script's text: quoting keeps each one a single word.
 */

/** Quotes one word for a POSIX shell: single quotes, each `'` inside written as `'\''`. */
export function shellQuote(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** The command line that runs `script` with `args` as $1…, whatever the login shell is. */
export function remoteCommand(script: string, args: readonly string[]): string {
  return ['sh', '-c', script, 'zavhoz', ...args].map(shellQuote).join(' ');
}
