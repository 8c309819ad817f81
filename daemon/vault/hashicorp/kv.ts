/**
 * A KV v2 secrets engine seen through one mount and one path prefix: read, write, delete and list secrets' data
 * and versions. Paths given here are relative to the prefix.
 */
import { ZavhozError } from '../../core/errors.js';
import { ErrorCodes } from '../../protocol/errors.js';
import { cleanPath } from './connection.js';
import type { VaultSession } from './session.js';

/** One version of a secret, as its metadata describes it. */
export interface KvVersion {
  readonly version: number;
  readonly createdTime: string;
  /** Soft-deleted versions have a deletion time; destroyed ones are gone for good. */
  readonly deleted: boolean;
  readonly destroyed: boolean;
}

/** A secret's metadata: its current version and every version Vault still lists. */
export interface KvMetadata {
  readonly currentVersion: number;
  readonly versions: readonly KvVersion[];
}

/** What a read returns. */
export interface KvRead {
  readonly data: Record<string, string>;
  readonly version: number;
}

/** The KV v2 API under `mount`/`prefix`. */
export class KvClient {
  private readonly mount: string;
  private readonly prefix: string;

  constructor(
    private readonly session: VaultSession,
    mount: string,
    prefix: string,
  ) {
    this.mount = cleanPath(mount);
    this.prefix = cleanPath(prefix);
  }

  /** The full secret path (mount and prefix included), for messages. */
  where(path: string): string {
    return [this.mount, this.prefix, cleanPath(path)].filter((part) => part !== '').join('/');
  }

  /** A secret's data (latest, or `version`), or undefined when there is none or that version is deleted. */
  async read(path: string, version?: number): Promise<KvRead | undefined> {
    const query = version === undefined ? '' : `?version=${version}`;
    const answer = await this.session.send({ method: 'GET', path: `${this.api('data', path)}${query}`, subject: this.where(path) });
    if (answer.status === 404) return undefined;
    const outer = (answer.body?.data ?? {}) as { data?: unknown; metadata?: { version?: unknown } };
    if (outer.data === null || typeof outer.data !== 'object') return undefined;
    const data: Record<string, string> = {};
    for (const [key, value] of Object.entries(outer.data as Record<string, unknown>)) if (typeof value === 'string') data[key] = value;
    return { data, version: typeof outer.metadata?.version === 'number' ? outer.metadata.version : 0 };
  }

  /** Writes a new version of a secret's data; returns its version number. With `cas`, only if the current version is that one (0: only if new). */
  async write(path: string, data: Record<string, string>, cas?: number): Promise<number> {
    const answer = await this.session.send({
      method: 'POST',
      path: this.api('data', path),
      body: { data, ...(cas === undefined ? {} : { options: { cas } }) },
      subject: this.where(path),
    });
    if (answer.status >= 300) throw new ZavhozError(ErrorCodes.NotFound, `Vault has no KV v2 mount "${this.mount}" (HTTP ${answer.status} on ${this.where(path)}): check --mount.`);
    const version = (answer.body?.data as { version?: unknown } | undefined)?.version;
    return typeof version === 'number' ? version : 0;
  }

  /** Removes a secret with every version and its metadata; false if it was not there. */
  async destroy(path: string): Promise<boolean> {
    const answer = await this.session.send({ method: 'DELETE', path: this.api('metadata', path), subject: this.where(path) });
    return answer.status !== 404;
  }

  /** Soft-deletes versions (the latest if none given); they can be undeleted in Vault. */
  async deleteVersions(path: string, versions?: readonly number[]): Promise<void> {
    if (versions === undefined) await this.session.send({ method: 'DELETE', path: this.api('data', path), subject: this.where(path) });
    else await this.session.send({ method: 'POST', path: this.api('delete', path), body: { versions }, subject: this.where(path) });
  }

  /** A secret's versions, or undefined when it does not exist. */
  async metadata(path: string): Promise<KvMetadata | undefined> {
    const answer = await this.session.send({ method: 'GET', path: this.api('metadata', path), subject: this.where(path) });
    if (answer.status === 404) return undefined;
    const data = (answer.body?.data ?? {}) as { current_version?: unknown; versions?: Record<string, { created_time?: unknown; deletion_time?: unknown; destroyed?: unknown }> };
    const versions = Object.entries(data.versions ?? {})
      .map(([number, info]) => ({
        version: Number(number),
        createdTime: typeof info.created_time === 'string' ? info.created_time : '',
        deleted: typeof info.deletion_time === 'string' && info.deletion_time !== '',
        destroyed: info.destroyed === true,
      }))
      .sort((a, b) => a.version - b.version);
    return { currentVersion: typeof data.current_version === 'number' ? data.current_version : 0, versions };
  }

  /** The names directly under a folder (folders end with `/`); empty when there is none. */
  async list(folder: string): Promise<string[]> {
    const answer = await this.session.send({ method: 'LIST', path: this.api('metadata', folder), subject: this.where(folder) });
    if (answer.status === 404) return [];
    const keys = (answer.body?.data as { keys?: unknown } | undefined)?.keys;
    return Array.isArray(keys) ? keys.filter((key): key is string => typeof key === 'string') : [];
  }

  private api(kind: 'data' | 'metadata' | 'delete', path: string): string {
    const inner = [this.prefix, cleanPath(path)].filter((part) => part !== '').join('/');
    return `${this.mount}/${kind}/${inner.split('/').map(encodeURIComponent).join('/')}`;
  }
}
