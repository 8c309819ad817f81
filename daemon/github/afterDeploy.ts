import type { Settings } from '../protocol/settings.js';
import { connectionFromSettings } from './auth.js';
import type { GithubService } from './service.js';

/** What the push needs to know about the deploy that just succeeded. */
export interface SucceededDeploy {
  readonly project: string;
  /** `OWNER/NAME`. */
  readonly repository: string;
  readonly client: string;
  readonly requestId: string;
}

/**
 * After a successful deploy, pushes the project's deploy secrets (DEPLOY_HOST, DEPLOY_SSH_KEY, …) to its repository
 * so CI can redeploy on every push. Without GitHub credentials it only says how to set them up: a deploy must not
 * fail because CI is not configured yet.
 */
export async function pushSecretsAfterDeploy(
  github: GithubService,
  settings: Settings,
  deploy: SucceededDeploy,
  note: (message: string) => void,
): Promise<void> {
  const connection = connectionFromSettings(settings);
  const configured = connection.tokenSecret !== null || (connection.appId !== null && connection.appKeySecret !== null);
  if (!configured) {
    note(
      `CI secrets were not pushed: no GitHub credentials are set. Store a token (zavhoz secret set GITHUB_TOKEN --type token --category github), ` +
        `run zavhoz config set githubTokenSecret '"<handle>"', then zavhoz github push-secrets --repo ${deploy.repository} --project ${deploy.project}`,
    );
    return;
  }
  const result = await github.pushDeploySecrets({
    repo: deploy.repository,
    project: deploy.project,
    use: { client: deploy.client, requestId: deploy.requestId },
  });
  note(`Pushed ${result.pushed.length} CI secrets to ${deploy.repository}: ${result.pushed.map((secret) => secret.name).join(', ')}`);
}
