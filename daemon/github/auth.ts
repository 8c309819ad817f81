import { createAppAuth } from '@octokit/auth-app';
import { ZavhozError } from '../core/errors.js';
import type { ScopedLogger } from '../core/logger.js';
import type { Redactor } from '../core/redactor.js';
import { ErrorCodes } from '../protocol/errors.js';
import type { Settings } from '../protocol/settings.js';
import type { SecretReader, SecretUse } from '../vault/api.js';
import { createGithubClient, type GithubApi, type RateLimitGate } from './client.js';
import { isRateLimit, toGithubError } from './errors.js';
import type { RepositoryName } from './names.js';

/** Where Zavhoz talks to GitHub and with which credentials (settings `githubApiBase`, `githubTokenSecret`, …). */
export interface GithubConnectionSettings {
  readonly apiBase: string;
  /** Vault handle of a personal access token. */
  readonly tokenSecret: string | null;
  /** GitHub App id; with `appKeySecret`, takes precedence over the token. */
  readonly appId: number | null;
  /** Vault handle of the GitHub App's private key (PEM). */
  readonly appKeySecret: string | null;
}

/** Reads the connection settings from the daemon's settings (empty handle or app id 0 means "not configured"). */
export function connectionFromSettings(settings: Pick<Settings, 'githubApiBase' | 'githubTokenSecret' | 'githubAppId' | 'githubAppKeySecret'>): GithubConnectionSettings {
  return {
    apiBase: settings.githubApiBase,
    tokenSecret: settings.githubTokenSecret === '' ? null : settings.githubTokenSecret,
    appId: settings.githubAppId === 0 ? null : settings.githubAppId,
    appKeySecret: settings.githubAppKeySecret === '' ? null : settings.githubAppKeySecret,
  };
}

/** A client ready for one repository, and how to name its credentials in messages. */
export interface AuthenticatedClient {
  readonly api: GithubApi;
  readonly credentials: string;
}

/** What opening a client needs from the caller. */
export interface OpenClientOptions {
  readonly settings: GithubConnectionSettings;
  readonly repository: RepositoryName;
  readonly vault: SecretReader;
  readonly redactor?: Redactor;
  readonly use: SecretUse;
  readonly log: ScopedLogger;
  readonly gate: RateLimitGate;
  readonly signal?: AbortSignal;
  readonly serverRetryBaseMs?: number;
}

/** Names the configured credentials for messages (handles and ids only). */
export function describeCredentials(settings: GithubConnectionSettings): string {
  if (settings.appId !== null && settings.appKeySecret !== null) return `GitHub App ${settings.appId} (private key ${settings.appKeySecret})`;
  if (settings.tokenSecret !== null) return `the token in ${settings.tokenSecret} (setting githubTokenSecret)`;
  return 'no credentials';
}

/**
 * Runs `work` with a client authenticated for the repository: the personal access token from the vault, or a
 * GitHub App installation token minted for the repository's owner. The token is lent for the batch only; an
 * installation token is masked in every log line while it is in use.
 */
export async function withAuthenticatedClient<T>(options: OpenClientOptions, work: (client: AuthenticatedClient) => Promise<T>): Promise<T> {
  const { settings, vault } = options;
  const common = {
    baseUrl: settings.apiBase,
    requestId: options.use.requestId,
    log: options.log,
    gate: options.gate,
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.serverRetryBaseMs === undefined ? {} : { serverRetryBaseMs: options.serverRetryBaseMs }),
  };
  const credentials = describeCredentials(settings);
  if (settings.appId !== null && settings.appKeySecret !== null) {
    const appId = settings.appId;
    const token = await vault.withValue(settings.appKeySecret, { ...options.use, action: 'github-app-auth' }, (privateKey) =>
      installationToken(privateKey, appId, options, common),
    );
    options.redactor?.register(token);
    try {
      return await work({ api: createGithubClient({ ...common, auth: token }), credentials });
    } finally {
      options.redactor?.unregister(token);
    }
  }
  if (settings.tokenSecret !== null) {
    return vault.withValue(settings.tokenSecret, { ...options.use, action: 'github-auth' }, (token) =>
      work({ api: createGithubClient({ ...common, auth: token.trim() }), credentials }),
    );
  }
  throw new ZavhozError(
    ErrorCodes.PreconditionFailed,
    'No GitHub credentials are configured. Store a token (`zavhoz secret set GITHUB_TOKEN --type token --category github`) and run `zavhoz config set githubTokenSecret <handle>`, or set githubAppId and githubAppKeySecret for a GitHub App.',
  );
}

/** Finds the App's installation on the repository and mints a token limited to that repository. */
async function installationToken(
  privateKey: string,
  appId: number,
  options: OpenClientOptions,
  common: Parameters<typeof createGithubClient>[0],
): Promise<string> {
  const { repository } = options;
  const app = createGithubClient({ ...common, auth: { strategy: createAppAuth, options: { appId, privateKey } } });
  const base = { target: repository.fullName, baseUrl: options.settings.apiBase, gate: options.gate };
  let installationId: number;
  try {
    const { data } = await app.rest.apps.getRepoInstallation({ owner: repository.owner, repo: repository.name });
    installationId = data.id;
  } catch (error) {
    throw appError(error, appId, options, { ...base, action: 'find the GitHub App installation of', credentials: `GitHub App ${appId}` });
  }
  try {
    const authentication = (await app.auth({ type: 'installation', installationId, repositoryNames: [repository.name] })) as { token?: unknown };
    if (typeof authentication.token !== 'string') throw new Error('no token in the answer');
    options.log.info('GitHub App installation token issued', { appId, installationId, repo: repository.fullName });
    return authentication.token;
  } catch (error) {
    throw appError(error, appId, options, { ...base, action: `get an installation token (installation ${installationId}) for`, credentials: `GitHub App ${appId}` });
  }
}

function appError(error: unknown, appId: number, options: OpenClientOptions, context: Parameters<typeof toGithubError>[1]): ZavhozError {
  const status = typeof error === 'object' && error !== null ? (error as { status?: unknown }).status : undefined;
  const handle = options.settings.appKeySecret ?? '';
  if (isRateLimit(error)) return toGithubError(error, context);
  if (status === undefined && error instanceof Error && !(error instanceof ZavhozError)) {
    // Signing failed before any request: the stored key is not a usable RSA private key.
    return new ZavhozError(
      ErrorCodes.AuthenticationFailed,
      `The private key in ${handle} could not sign a GitHub App token (${error.message}). Store the App's .pem private key (RSA, PKCS#1 or PKCS#8) in the vault and set githubAppKeySecret to its handle.`,
    );
  }
  if (status === 401) {
    return new ZavhozError(
      ErrorCodes.AuthenticationFailed,
      `GitHub rejected the JWT of GitHub App ${appId} when trying to ${context.action} ${context.target}: check that githubAppId is the App's id, that ${handle} holds a current private key of that App, and that this machine's clock is right.`,
    );
  }
  if (status === 404) {
    return new ZavhozError(
      ErrorCodes.PreconditionFailed,
      `GitHub App ${appId} is not installed for ${options.repository.fullName}: install it on ${options.repository.owner} (the App's page → Install) and give it access to ${options.repository.name}.`,
    );
  }
  if (status === 422 || status === 403) {
    return new ZavhozError(
      ErrorCodes.AuthenticationFailed,
      `GitHub would not issue GitHub App ${appId} a token for ${options.repository.fullName} (${(error as Error).message}). Check the installation's repository access and that the App has the "Secrets" (and, for environments, "Environments") repository permissions with write access.`,
    );
  }
  return toGithubError(error, context);
}
