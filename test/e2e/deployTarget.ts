/**
 * What a deploy from the e2e workbench needs besides VS Code: the test sshd on loopback as the target server (it
 * logs in as the test user, so the playbook writes /opt/services/<project> on this machine) whose sessions reach the
 * run's real container engine (test/harness/engine.ts), the fixture project's image built and pushed to the engine's
 * registry, a bare git repository holding the fixture project (naming that image) that servers clone from, and a
 * workspace folder that is a checkout of it with a GitHub remote (for the OWNER/REPO default).
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { type Engine, startEngine } from '../harness/engine.js';
import { buildWebImage } from '../harness/images.js';
import { startSshd, type SshdServer } from '../harness/sshd.js';
import { bareRepository, fixtureWithImage, removeComposeProject, setRemoteEnvironment } from '../integration/deploy-support.js';

/** The GitHub repository the workspace's remote names; servers clone from the local bare copy instead. */
export const REPOSITORY = 'Acme/Demo';

/** A running deploy target and the repository it clones. */
export interface DeployTarget {
  readonly sshd: SshdServer;
  readonly engine: Engine;
  /** Path of the bare repository (`zavhoz.deploy.repoUrl` of the workspace). */
  readonly repositoryUrl: string;
  /** Makes `folder` a checkout of the fixture project on branch main, remote origin on GitHub, repoUrl set. */
  prepareWorkspace(folder: string): void;
  /** Removes the deployed projects' containers and folders, the repository, then stops sshd and leaves the engine. */
  dispose(): Promise<void>;
}

/** Starts sshd with sessions that reach the engine, builds the fixture's image and creates the bare repository. */
export async function startDeployTarget(projects: () => readonly string[]): Promise<DeployTarget> {
  const cleanup: (() => Promise<void> | void)[] = [];
  const undo = async (): Promise<void> => {
    for (const step of cleanup.reverse()) await Promise.resolve(step()).catch(() => undefined);
  };
  try {
    const engine = await startEngine();
    cleanup.push(() => engine.release());
    const sshd = await startSshd();
    cleanup.push(() => sshd.stop());
    const image = await buildWebImage(engine, { name: 'zavhoz-e2e/backend', tag: '1.0.0' });
    const fixture = fixtureWithImage(image.reference, sshd.host);
    cleanup.push(() => fixture.remove());
    // The app prints its API_TOKEN (a vault value) at every start, as a careless app does: the Logs terminal must mask it.
    const compose = path.join(fixture.folder, 'infra/compose.base.yml');
    writeFileSync(compose, readFileSync(compose, 'utf8').replace('      LOG_LEVEL:', '      LOG_LINE: "started with token ${API_TOKEN} ok"\n      LOG_LEVEL:'));
    // The server's own docker config, logged in to the test registry, as a server that pulls private images is.
    const configDir = path.join(sshd.dir, 'docker');
    mkdirSync(configDir, { mode: 0o700 });
    const { registry } = engine;
    await engine.docker(['--config', configDir, 'login', '--username', registry.username, '--password-stdin', registry.address], { input: registry.password });
    await setRemoteEnvironment(sshd, { DOCKER_HOST: engine.dockerHost, DOCKER_CONFIG: configDir });
    const repository = bareRepository(fixture.folder);
    cleanup.push(() => repository.remove());
    cleanup.push(async () => {
      for (const project of projects()) {
        await removeComposeProject(engine, project).catch(() => undefined);
        rmSync(path.join('/opt/services', project), { recursive: true, force: true });
      }
    });
    return {
      sshd,
      engine,
      repositoryUrl: repository.url,
      prepareWorkspace(folder: string): void {
        cpSync(fixture.folder, folder, { recursive: true });
        const git = (...args: string[]): void => {
          execFileSync('git', ['-c', 'user.email=test@zavhoz.invalid', '-c', 'user.name=zavhoz test', ...args], { cwd: folder, stdio: 'ignore' });
        };
        git('init', '--quiet', '--initial-branch', 'main');
        git('remote', 'add', 'origin', `https://github.com/${REPOSITORY}.git`);
        git('add', '--all');
        git('commit', '--quiet', '--message', 'fixture project');
        mkdirSync(path.join(folder, '.vscode'), { recursive: true });
        // The DOM renderer keeps terminal text in the page, where the tests can read it.
        const settings = { 'zavhoz.deploy.repoUrl': repository.url, 'terminal.integrated.gpuAcceleration': 'off' };
        writeFileSync(path.join(folder, '.vscode', 'settings.json'), `${JSON.stringify(settings, null, 2)}\n`);
      },
      dispose: undo,
    };
  } catch (error) {
    await undo();
    throw error;
  }
}
