import { spawn } from 'node:child_process';

/**
 * The programs tried, in order, to hand a `vscode://` link to VS Code: `ZAVHOZ_OPEN_WITH` when set (one program, the
 * link its only argument), VS Code's own CLI, then the desktop's opener.
 */
function openers(link: string): [string, string[]][] {
  const chosen = process.env.ZAVHOZ_OPEN_WITH;
  if (chosen) return [[chosen, [link]]];
  const desktop: [string, string[]] = process.platform === 'darwin' ? ['open', [link]] : process.platform === 'win32' ? ['explorer', [link]] : ['xdg-open', [link]];
  return [['code', ['--open-url', link]], desktop];
}

/** Starts `program` detached; true once it started, false when it could not (not installed). */
function start(program: string, args: string[]): Promise<boolean> {
  return new Promise((resolve) => {
    const child = spawn(program, args, { detached: true, stdio: 'ignore' });
    child.once('error', () => resolve(false));
    child.once('spawn', () => {
      child.unref();
      resolve(true);
    });
  });
}

/**
 * Opens a deep link (`vscode://zavhoz.zavhoz/run/ID`) in VS Code, saying so on stderr; when nothing can open it, prints
 * the link for the person to open. The link names an id or handle only. Argument arrays, no shell.
 */
export async function openLink(link: string, write: (line: string) => void): Promise<boolean> {
  for (const [program, args] of openers(link)) {
    if (await start(program, args)) {
      write(`opening ${link} in VS Code`);
      return true;
    }
  }
  write(`could not start VS Code (\`code\`) or a desktop opener here; open this link in VS Code: ${link}`);
  return false;
}
