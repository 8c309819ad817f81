import type { GithubApi } from './client.js';
import type { RepositoryName } from './names.js';
import { decodePublicKey, type PublicKey } from './seal.js';

/** Where secrets go: a repository, or one of its deployment environments. */
export interface SecretTarget {
  readonly repository: RepositoryName;
  readonly environment?: string;
}

/** Names a target for messages and audit subjects. */
export function describeTarget(target: SecretTarget): string {
  return target.environment === undefined ? target.repository.fullName : `${target.repository.fullName} (environment ${target.environment})`;
}

/**
 * The target's public key for one batch: fetched once however many secrets are sealed concurrently, and fetched
 * again only when GitHub refuses a value sealed with the key it has (a rotated key) — once per stale key id, not
 * once per refused secret.
 */
export class PublicKeyCache {
  private current: Promise<PublicKey> | undefined;
  private currentKeyId: string | undefined;
  /** How many times the key was fetched in this batch (for logs and tests). */
  fetches = 0;

  constructor(private readonly load: () => Promise<{ keyId: string; key: string }>) {}

  /** The key to seal with. */
  get(): Promise<PublicKey> {
    this.current ??= this.fetch();
    return this.current;
  }

  /** The key after GitHub refused one sealed with `staleKeyId`. */
  refresh(staleKeyId: string): Promise<PublicKey> {
    if (this.current === undefined || this.currentKeyId === staleKeyId) this.current = this.fetch();
    return this.current;
  }

  private fetch(): Promise<PublicKey> {
    this.fetches++;
    this.currentKeyId = undefined;
    const loading = this.load().then(({ keyId, key }) => decodePublicKey(keyId, key));
    void loading.then(
      (key) => {
        if (this.current === loading) this.currentKeyId = key.keyId;
      },
      () => undefined,
    );
    return loading;
  }
}

/** Fetches the Actions public key of a repository or environment. */
export async function fetchPublicKey(api: GithubApi, target: SecretTarget): Promise<{ keyId: string; key: string }> {
  const { owner, name } = target.repository;
  const { data } =
    target.environment === undefined
      ? await api.rest.actions.getRepoPublicKey({ owner, repo: name })
      : await api.rest.actions.getEnvironmentPublicKey({ owner, repo: name, environment_name: target.environment });
  return { keyId: data.key_id, key: data.key };
}
