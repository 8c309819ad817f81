/**
 * Smoke test run inside a real desktop VS Code's extension host by @vscode/test-electron (see run.ts), without
 * mocha: `run()` throws on the first failure, which makes VS Code exit non-zero. Bundled to CommonJS by run.ts.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import * as vscode from 'vscode';

const extensionId = 'zavhoz.zavhoz';

/** Polls `check` until it answers a value, or throws `message` after `timeoutMs`. */
async function waitFor<T>(message: string, check: () => T | undefined, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(message);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** The pid in the daemon's lock file while that process runs. */
function runningDaemonPid(home: string): number | undefined {
  try {
    const owner = JSON.parse(readFileSync(path.join(home, 'daemon.lock'), 'utf8')) as { pid?: unknown };
    if (typeof owner.pid !== 'number') return undefined;
    process.kill(owner.pid, 0);
    return owner.pid;
  } catch {
    return undefined;
  }
}

/** Entry point called by VS Code (`--extensionTestsPath`). */
export async function run(): Promise<void> {
  const extension = vscode.extensions.getExtension(extensionId);
  if (!extension) throw new Error(`${extensionId} is not loaded: check --extensionDevelopmentPath`);
  await extension.activate();
  console.log(`smoke: ${extensionId} ${String((extension.packageJSON as { version?: unknown }).version)} activated`);

  const manifest = extension.packageJSON as { contributes?: { commands?: { command: string }[] } };
  const declared = (manifest.contributes?.commands ?? []).map((entry) => entry.command);
  const registered = new Set(await vscode.commands.getCommands(true));
  const missing = declared.filter((id) => !registered.has(id));
  if (missing.length > 0) throw new Error(`declared in package.json but not registered: ${missing.join(', ')}`);
  console.log(`smoke: all ${declared.length} declared commands are registered`);

  const home = process.env['ZAVHOZ_HOME'];
  if (!home) throw new Error('ZAVHOZ_HOME is not set: run this through test/electron/run.ts');
  const pid = await waitFor('the extension did not start a daemon within 30 s', () => runningDaemonPid(home));
  console.log(`smoke: daemon pid ${pid} runs in ${home}, started with VS Code's own runtime`);

  await vscode.commands.executeCommand('zavhoz.log.show');
  await vscode.commands.executeCommand('workbench.view.extension.zavhoz');
  console.log('smoke: "Show Log" and the Zavhoz container opened');
}
