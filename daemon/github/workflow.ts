import fs from 'node:fs';
import path from 'node:path';
import { ZavhozError, invalidInput } from '../core/errors.js';
import { ErrorCodes } from '../protocol/errors.js';
import { checkProject } from './names.js';

/** Where the workflow goes in a project folder. */
export const WORKFLOW_PATH = '.github/workflows/deploy.yml';

/**
 * The GitHub Actions workflow that redeploys a project on every push to main with the secrets `push-secrets` gives
 * it: it logs in as DEPLOY_USER with DEPLOY_SSH_KEY, checks the host key against DEPLOY_KNOWN_HOSTS, and asks for
 * `deploy`; the forced command on the server does the rest (compose pull and up of this project only).
 */
export function deployWorkflow(project: string): string {
  checkProject(project);
  return `# Written by \`zavhoz github workflow --project ${project}\`: redeploys ${project} on every push to main.
# The secrets come from \`zavhoz github push-secrets --repo OWNER/NAME --project ${project}\`. DEPLOY_SSH_KEY is a key
# that can only redeploy ${project}: on the server it runs one fixed command (compose pull and up in
# /opt/services/${project}) and nothing else, so it gives no shell. Build and push your images in a job before this one.
name: Deploy ${project}
on:
  push:
    branches: [main]
  workflow_dispatch:
concurrency:
  group: deploy-${project}
  cancel-in-progress: false
jobs:
  deploy:
    runs-on: ubuntu-latest
    steps:
      - name: Redeploy ${project} on its server
        env:
          DEPLOY_SSH_KEY: \${{ secrets.DEPLOY_SSH_KEY }}
          DEPLOY_KNOWN_HOSTS: \${{ secrets.DEPLOY_KNOWN_HOSTS }}
          DEPLOY_HOST: \${{ secrets.DEPLOY_HOST }}
          DEPLOY_PORT: \${{ secrets.DEPLOY_PORT }}
          DEPLOY_USER: \${{ secrets.DEPLOY_USER }}
        run: |
          set -eu
          install -m 700 -d ~/.ssh
          printf '%s\\n' "$DEPLOY_SSH_KEY" > ~/.ssh/deploy_key
          chmod 600 ~/.ssh/deploy_key
          host_check=accept-new
          if [ -n "$DEPLOY_KNOWN_HOSTS" ]; then
            printf '%s\\n' "$DEPLOY_KNOWN_HOSTS" > ~/.ssh/known_hosts
            host_check=yes
          fi
          ssh -i ~/.ssh/deploy_key -o IdentitiesOnly=yes -o BatchMode=yes -o StrictHostKeyChecking="$host_check" \\
            -o UserKnownHostsFile="$HOME/.ssh/known_hosts" -p "$DEPLOY_PORT" "$DEPLOY_USER@$DEPLOY_HOST" deploy
`;
}

/**
 * Writes the workflow into `folder` (absolute). An identical file is left alone; a different one is refused unless
 * `force`. Written to a temporary file and renamed, so a crash never leaves half a workflow.
 */
export function writeDeployWorkflow(project: string, folder: string, force: boolean): { path: string; status: 'written' | 'replaced' | 'unchanged' } {
  if (!path.isAbsolute(folder)) throw invalidInput(`The project folder must be an absolute path, not "${folder}".`);
  if (!fs.existsSync(folder) || !fs.statSync(folder).isDirectory()) throw invalidInput(`${folder} is not a folder.`);
  const content = deployWorkflow(project);
  const target = path.join(folder, WORKFLOW_PATH);
  const existing = fs.existsSync(target) ? fs.readFileSync(target, 'utf8') : undefined;
  if (existing === content) return { path: target, status: 'unchanged' };
  if (existing !== undefined && !force) {
    throw new ZavhozError(ErrorCodes.Conflict, `${target} exists and differs from the workflow Zavhoz writes; run again with --force to replace it (or merge it by hand).`);
  }
  fs.mkdirSync(path.dirname(target), { recursive: true });
  const temporary = `${target}.zavhoz-${process.pid}`;
  fs.writeFileSync(temporary, content, { mode: 0o644 });
  const handle = fs.openSync(temporary, 'r');
  fs.fsyncSync(handle);
  fs.closeSync(handle);
  fs.renameSync(temporary, target);
  return { path: target, status: existing === undefined ? 'written' : 'replaced' };
}
