/**
 * How Zavhoz reaches a team's HashiCorp Vault (or OpenBao): where it is, which KV v2 mount and path prefix hold the
 * team's secrets, and how this member logs in. The whole connection is kept as one entry in the member's own
 * keychain (or vault file), never in settings or the store, since it holds the token or the AppRole secret id.
 */

/** Token auth: a token the member was given (`vault token create`). */
export interface TokenAuth {
  readonly kind: 'token';
  readonly token: string;
}

/** AppRole auth: a role id and a secret id, exchanged for a short-lived token at login. */
export interface AppRoleAuth {
  readonly kind: 'approle';
  readonly roleId: string;
  readonly secretId: string;
  /** Where the AppRole method is mounted (`approle` unless the team chose another path). */
  readonly mountPath?: string | undefined;
}

/** A way of logging in to Vault. */
export type HashicorpAuth = TokenAuth | AppRoleAuth;

/** Everything needed to reach the team's secrets. */
export interface HashicorpConnection {
  /** `https://vault.example.com:8200` (http only on loopback). */
  readonly address: string;
  /** The KV v2 mount, e.g. `secret` or `team-kv`. */
  readonly mount: string;
  /** The folder inside the mount that holds Zavhoz's secrets, e.g. `zavhoz/acme`; may be empty. */
  readonly prefix: string;
  /** Vault Enterprise / OpenBao namespace, sent as `X-Vault-Namespace`. */
  readonly namespace?: string;
  readonly auth: HashicorpAuth;
}

/** The connection without credentials, for status and logs. */
export interface HashicorpConnectionSummary {
  readonly address: string;
  readonly mount: string;
  readonly prefix: string;
  readonly namespace: string | null;
  readonly auth: HashicorpAuth['kind'];
}

/** What of a connection may be shown. */
export function summarize(connection: HashicorpConnection): HashicorpConnectionSummary {
  return {
    address: connection.address,
    mount: connection.mount,
    prefix: connection.prefix,
    namespace: connection.namespace ?? null,
    auth: connection.auth.kind,
  };
}

/** The credential strings of a connection, for the redactor. */
export function credentialsOf(connection: HashicorpConnection): string[] {
  return connection.auth.kind === 'token' ? [connection.auth.token] : [connection.auth.roleId, connection.auth.secretId];
}

/** Trims slashes, so `/zavhoz/acme/` and `zavhoz/acme` name the same folder. */
export function cleanPath(path: string): string {
  return path.replace(/^\/+|\/+$/g, '');
}

/** Reads a stored connection back; undefined when the entry is not one (written by a newer Zavhoz, or damaged). */
export function parseConnection(text: string): HashicorpConnection | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const candidate = parsed as Partial<HashicorpConnection>;
  const auth = candidate.auth as { kind?: unknown; token?: unknown; roleId?: unknown; secretId?: unknown } | undefined;
  if (typeof candidate.address !== 'string' || typeof candidate.mount !== 'string' || typeof candidate.prefix !== 'string' || !auth) return undefined;
  if (auth.kind === 'token' && typeof auth.token === 'string') return candidate as HashicorpConnection;
  if (auth.kind === 'approle' && typeof auth.roleId === 'string' && typeof auth.secretId === 'string') return candidate as HashicorpConnection;
  return undefined;
}
