import * as z from 'zod';
import { defineNotification, defineRequest, result } from './define.js';
import { lazySchema } from './lazySchema.js';
import { PROJECT_NAME_PATTERN, projectName, repository } from './fields.js';
import { secretHandle } from './secrets.js';

/**
 * GitHub Actions secrets: sealed pushes and drift. Requests carry repository names, secret names and vault handles;
 * values are read by the daemon from the vault and leave it only sealed for GitHub.
 */

/** The secret names a deploy gives a repository, in the order they are pushed (results name them). */
export const DEPLOY_SECRET_NAMES = [
  'DEPLOY_HOST',
  'DEPLOY_USER',
  'DEPLOY_SSH_KEY',
  'DEPLOY_PORT',
  'DEPLOY_PROJECT_PATH',
  'DEPLOY_COMPOSE_FILES',
  'DEPLOY_KNOWN_HOSTS',
] as const;

/** GitHub's rule for Actions secret names: letters, digits and underscores, not starting with a digit. */
export const GITHUB_SECRET_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]{0,254}$/;

/** A project name: the rule the vault and the allocator use. */
export const GITHUB_PROJECT_PATTERN = PROJECT_NAME_PATTERN;

const githubSecretName = lazySchema(() => z.string().regex(GITHUB_SECRET_NAME_PATTERN, 'a secret name of letters, digits and "_", not starting with a digit'));
/** A deployment environment's name as GitHub allows it, and safe inside a URL path: 1–255 characters, no slashes or control characters. */
export function isEnvironmentName(name: string): boolean {
  if (name.length === 0 || name.length > 255 || name.includes('/') || name.includes('\\')) return false;
  // eslint-disable-next-line @typescript-eslint/no-misused-spread -- code points on purpose: a control character is one code point
  return ![...name].some((character) => character.charCodeAt(0) < 0x20 || character.charCodeAt(0) === 0x7f);
}

const environment = lazySchema(() => z.string().refine(isEnvironmentName, 'an environment name of 1–255 characters without slashes or control characters'));

/** One secret GitHub accepted. */
export interface GithubPushedSecret {
  readonly name: string;
  /** The vault handle the value came from, or `computed` (host, user, port, paths). */
  readonly source: string;
  readonly fingerprint: string;
  readonly status: 'created' | 'updated';
  readonly pushedAt: string;
  readonly githubRequestId: string;
}

/** The answer to a push. A push that fails part-way throws, with `{ pushed, failed }` in the error's data. */
export interface GithubPushResult {
  readonly repo: string;
  readonly environment: string | null;
  readonly requestId: string;
  readonly pushed: readonly GithubPushedSecret[];
}

/** How one secret compares: see {@link GithubStatusResult}. */
export type GithubSecretState = 'in-sync' | 'missing' | 'stale' | 'unmanaged';

/** One line of the drift report. */
export interface GithubSecretStatus {
  readonly name: string;
  readonly state: GithubSecretState;
  readonly reasons: readonly string[];
  /** As GitHub lists it; absent when it is not on GitHub. */
  readonly github?: { readonly createdAt: string; readonly updatedAt: string };
  /** What Zavhoz last pushed; absent when Zavhoz never pushed it. */
  readonly zavhoz?: { readonly source: string; readonly fingerprint: string; readonly pushedAt: string; readonly project: string | null };
}

/**
 * GitHub's secret names and times beside Zavhoz's push records. `drift` is true when something Zavhoz pushed is
 * missing on GitHub or stale (changed there since, or the value Zavhoz holds now differs).
 */
export interface GithubStatusResult {
  readonly repo: string;
  readonly environment: string | null;
  readonly drift: boolean;
  readonly secrets: readonly GithubSecretStatus[];
}

/** Seals one vault secret for a repository (or environment) and stores it as an Actions secret. */
export const GithubSetSecret = defineRequest(
  'github/setSecret',
  () => z.strictObject({ repo: repository, name: githubSecretName, handle: secretHandle, environment: environment.optional() }),
  result<GithubPushResult>(),
);

/**
 * Pushes a project's deploy secrets (DEPLOY_HOST, DEPLOY_USER, DEPLOY_SSH_KEY, …) to a repository. DEPLOY_USER and
 * DEPLOY_SSH_KEY are the project's CI deploy user and key, created on its server first (the key can only redeploy the
 * project); the server's own key is never pushed. `rotateKey`: a new key is installed, pushed, and the old one removed.
 */
export const GithubPushSecrets = defineRequest(
  'github/pushSecrets',
  () => z.strictObject({
    repo: repository,
    project: projectName,
    environment: environment.optional(),
    /** Make a new CI deploy key: installed beside the old one, pushed, then the old one removed from the server. */
    rotateKey: z.boolean().optional(),
  }),
  result<GithubPushResult>(),
);

/** Lists a repository's secrets beside what Zavhoz last pushed, flagging missing and stale ones. */
export const GithubStatus = defineRequest(
  'github/status',
  () => z.strictObject({ repo: repository, environment: environment.optional() }),
  result<GithubStatusResult>(),
);

/** What `github/workflow` did with `.github/workflows/deploy.yml`. */
export interface GithubWorkflowResult {
  readonly path: string;
  readonly status: 'written' | 'replaced' | 'unchanged';
}

/**
 * Writes `.github/workflows/deploy.yml` into a project folder: on every push to main it logs in with the secrets
 * `github/pushSecrets` gave (DEPLOY_SSH_KEY as DEPLOY_USER, host key from DEPLOY_KNOWN_HOSTS) and asks for
 * `deploy`. A different existing file is refused (Conflict) unless `force`.
 */
export const GithubWorkflow = defineRequest(
  'github/workflow',
  () => z.strictObject({
    project: projectName,
    /** Absolute path of the project folder on this machine. */
    folder: z.string().min(1).max(4096),
    force: z.boolean().default(false),
  }),
  result<GithubWorkflowResult>(),
);

/** Sent to every client after secrets were pushed to a repository. */
export const GithubDidChange = defineNotification(
  'github/didChange',
  () => z.strictObject({ repo: z.string(), environment: z.string().nullable(), names: z.array(z.string()) }),
);
