/**
 * What a deploy from the e2e workbench needs besides VS Code: the test sshd on loopback as the target server (it
 * logs in as the test user, so the playbook writes /opt/services/<project> on this machine), the `docker` TEST
 * DOUBLE first on the target's PATH, a bare git repository holding the fixture project that servers clone from,
 * and a workspace folder that is a checkout of it with a GitHub remote (for the OWNER/REPO default).
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { installDockerDouble, type DockerDouble } from '../fakes/dockerDouble.js';
import { startSshd, type SshdServer } from '../harness/sshd.js';
import { bareRepository, FIXTURE, prependRemotePath } from '../integration/deploy-support.js';

/** The GitHub repository the workspace's remote names; servers clone from the local bare copy instead. */
export const REPOSITORY = 'Acme/Demo';

/** A running deploy target and the repository it clones. */
export interface DeployTarget {
  readonly sshd: SshdServer;
  readonly docker: DockerDouble;
  /** Path of the bare repository (`zavhoz.deploy.repoUrl` of the workspace). */
  readonly repositoryUrl: string;
  /** Makes `folder` a checkout of the fixture project on branch main, remote origin on GitHub, repoUrl set. */
  prepareWorkspace(folder: string): void;
  /** Stops sshd, removes the docker double, the repository and the deployed project folders. */
  dispose(): Promise<void>;
}

/** Starts sshd, installs the docker double on its PATH and creates the bare repository. */
export async function startDeployTarget(projects: () => readonly string[]): Promise<DeployTarget> {
  const sshd = await startSshd();
  const docker = installDockerDouble();
  const repository = bareRepository();
  try {
    await prependRemotePath(sshd, docker.binFolder);
  } catch (error) {
    docker.remove();
    repository.remove();
    await sshd.stop();
    throw error;
  }
  return {
    sshd,
    docker,
    repositoryUrl: repository.url,
    prepareWorkspace(folder: string): void {
      cpSync(FIXTURE, folder, { recursive: true });
      const git = (...args: string[]): void => {
        execFileSync('git', ['-c', 'user.email=test@zavhoz.invalid', '-c', 'user.name=zavhoz test', ...args], { cwd: folder, stdio: 'ignore' });
      };
      git('init', '--quiet', '--initial-branch', 'main');
      git('remote', 'add', 'origin', `https://github.com/${REPOSITORY}.git`);
      git('add', '--all');
      git('commit', '--quiet', '--message', 'fixture project');
      mkdirSync(path.join(folder, '.vscode'), { recursive: true });
      writeFileSync(path.join(folder, '.vscode', 'settings.json'), `${JSON.stringify({ 'zavhoz.deploy.repoUrl': repository.url }, null, 2)}\n`);
    },
    async dispose(): Promise<void> {
      docker.remove();
      repository.remove();
      for (const project of projects()) rmSync(path.join('/opt/services', project), { recursive: true, force: true });
      await sshd.stop();
    },
  };
}
