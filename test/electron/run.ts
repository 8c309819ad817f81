/**
 * `npm run test:electron`: downloads a desktop VS Code (@vscode/test-electron) and runs smoke.ts inside its
 * extension host, with a throwaway profile, data folder and (on Linux, when gnome-keyring is installed) keychain.
 * Needs internet access to update.code.visualstudio.com (the CI machines have none: `npm test` uses code-server,
 * see test/e2e) and, on Linux without a desktop, a display: `xvfb-run -a npm run test:electron`.
 * VSCODE_VERSION picks the version (default: stable); downloads are kept in .test-tools/vscode.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runTests } from '@vscode/test-electron';
import * as esbuild from 'esbuild';
import { stopDaemon } from '../e2e/harness.js';
import { ROOT } from '../harness/daemon.js';
import { startKeyring, type KeyringSession } from '../harness/keyring.js';
import { removeFolder } from '../harness/processes.js';

/** True when gnome-keyring can give the daemon a private keychain here. */
function hasGnomeKeyring(): boolean {
  if (process.platform !== 'linux') return false;
  try {
    execFileSync('gnome-keyring-daemon', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const work = mkdtempSync(path.join(tmpdir(), 'zavhoz-electron-'));
const zavhozHome = path.join(work, 'zavhoz-home');
const workspace = path.join(work, 'workspace');
for (const folder of [zavhozHome, workspace]) mkdirSync(folder, { recursive: true, mode: 0o700 });
let keyring: KeyringSession | undefined;
let exitCode = 1;
try {
  const smoke = path.join(work, 'smoke.cjs');
  await esbuild.build({
    entryPoints: [path.join(import.meta.dirname, 'smoke.ts')],
    outfile: smoke,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    external: ['vscode'],
    logLevel: 'warning',
  });
  // Without a private keychain the daemon would open the desktop's own (it only reads it: no secret is stored).
  if (hasGnomeKeyring()) keyring = await startKeyring();
  exitCode = await runTests({
    version: process.env['VSCODE_VERSION'] ?? 'stable',
    cachePath: path.join(ROOT, '.test-tools', 'vscode'),
    extensionDevelopmentPath: ROOT,
    extensionTestsPath: smoke,
    extensionTestsEnv: { ...keyring?.env, ZAVHOZ_HOME: zavhozHome },
    launchArgs: [
      workspace,
      '--disable-extensions',
      '--disable-workspace-trust',
      '--skip-welcome',
      '--skip-release-notes',
      '--user-data-dir', path.join(work, 'user-data'),
      '--extensions-dir', path.join(work, 'extensions'),
    ],
  });
} catch (error) {
  console.error(`test:electron failed: ${error instanceof Error ? error.message : String(error)}`);
  if (/ENOTFOUND|EAI_AGAIN|getaddrinfo/.test(String(error))) {
    console.error('VS Code could not be downloaded: this runner needs internet access (npm test runs the e2e suite in code-server instead).');
  }
} finally {
  // The daemon outlives VS Code by design; this one belongs to the run.
  await stopDaemon(zavhozHome);
  await keyring?.stop();
  removeFolder(work);
}
process.exit(exitCode);
