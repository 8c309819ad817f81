import crypto from 'node:crypto';
import ssh2 from 'ssh2';
import type { Client, ClientChannel } from 'ssh2';
import { ZavhozError } from '../core/errors.js';
import { ErrorCodes } from '../protocol/errors.js';
import type { SecretReader, SecretUse } from '../vault/api.js';

/** Where and as whom to log in, with the host key fingerprint pinned for this server (if any). */
export interface SshTarget {
  /** The server's inventory handle, for messages. */
  readonly handle: string;
  readonly host: string;
  readonly port: number;
  readonly user: string;
  /** Vault handle of the private key. */
  readonly keySecret: string | null;
  /** SHA256 fingerprint recorded at first contact; null if the server was never reached. */
  readonly pinnedFingerprint: string | null;
}

/** The vault's optional second loan: the passphrase of a `private_key` secret. */
export interface PassphraseReader {
  withPassphrase<T>(handle: string, use: SecretUse, work: (passphrase: string | undefined) => Promise<T> | T): Promise<T>;
}

/** Options for {@link openSsh}. */
export interface SshOptions {
  /** Accept and report an unpinned host key (the health check's first contact). Otherwise an unpinned server is refused. */
  readonly allowFirstContact?: boolean;
  /** Handshake and authentication timeout. Default 10 s. */
  readonly readyTimeoutMs?: number;
  readonly signal?: AbortSignal | undefined;
}

/** What one remote command produced. */
export interface SshExecResult {
  readonly stdout: string;
  readonly stderr: string;
  /** Exit code, or null if the command died by a signal. */
  readonly code: number | null;
}

/** An open, authenticated SSH connection whose host key matched the pin (or was seen for the first time). */
export interface SshConnection {
  /** The underlying ssh2 client, for SFTP, port forwarding or an interactive shell. */
  readonly client: Client;
  /** The host key fingerprint the server presented (`SHA256:…`). */
  readonly fingerprint: string;
  /** True if no fingerprint was pinned: the caller should record {@link fingerprint}. */
  readonly firstContact: boolean;
  /** The host key the server presented (raw SSH blob), e.g. for a known_hosts line handed to CI. */
  readonly hostKey?: Buffer;
  /** Runs one command; `stdin` is written to it and closed (use it for secrets, never the command line). */
  exec(command: string, options?: { stdin?: string; signal?: AbortSignal; maxOutputBytes?: number }): Promise<SshExecResult>;
  close(): void;
}

/** The OpenSSH-style SHA256 fingerprint of a raw host key (`SHA256:` + unpadded base64). */
export function fingerprintOf(hostKey: Buffer): string {
  return `SHA256:${crypto.createHash('sha256').update(hostKey).digest('base64').replace(/=+$/, '')}`;
}

/** The error for a host key that differs from the pinned one; `data` carries both fingerprints. */
export function hostKeyMismatch(target: SshTarget, pinned: string, offered: string): ZavhozError {
  return new ZavhozError(
    ErrorCodes.HostKeyMismatch,
    `The SSH host key of server ${target.handle} (${target.host}:${target.port}) has changed: pinned ${pinned}, now presented ${offered}. ` +
      `This happens when a server is reinstalled, but it can also mean someone is intercepting the connection; Zavhoz refuses to connect. ` +
      `If you expected it, accept the new key with \`zavhoz server accept-host-key ${target.handle}\`.`,
    { server: target.handle, pinned, offered },
  );
}

function describeConnectError(target: SshTarget, error: Error & { level?: string; code?: string }): ZavhozError {
  const where = `${target.user}@${target.host}:${target.port}`;
  if (error.level === 'client-authentication') {
    return new ZavhozError(
      ErrorCodes.AuthenticationFailed,
      `SSH login as ${where} with key ${target.keySecret} was refused. Add the key's public half to ~${target.user}/.ssh/authorized_keys on ${target.handle}, or set another key with \`zavhoz server update ${target.handle} --ssh-key-secret NAME\`.`,
    );
  }
  if (/privateKey|private key|Unsupported key format|Cannot parse/i.test(error.message)) {
    return new ZavhozError(
      ErrorCodes.InvalidInput,
      `The secret ${target.keySecret} is not an SSH private key Zavhoz can use (unencrypted OpenSSH or PEM format). Store the right key with \`zavhoz secret set ${target.keySecret} --type private_key < keyfile\`.`,
    );
  }
  const reason = error.level === 'client-timeout' ? 'no SSH handshake in time' : (error.code ?? error.message);
  return new ZavhozError(
    ErrorCodes.Unreachable,
    `Could not open an SSH session to ${target.handle} (${where}): ${reason}. Check that the server is up and sshd listens on port ${target.port}.`,
  );
}

function collect(channel: ClientChannel, options: { stdin?: string; signal?: AbortSignal; maxOutputBytes?: number }): Promise<SshExecResult> {
  const limit = options.maxOutputBytes ?? 1024 * 1024;
  return new Promise((resolve, reject) => {
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    let size = 0;
    const keep = (into: Buffer[]) => (chunk: Buffer): void => {
      if (size >= limit) return;
      size += chunk.length;
      into.push(chunk);
    };
    const abort = (): void => {
      channel.close();
      reject(new ZavhozError(ErrorCodes.RequestCancelled, 'The remote command was cancelled.'));
    };
    options.signal?.addEventListener('abort', abort, { once: true });
    channel.on('data', keep(stdout));
    channel.stderr.on('data', keep(stderr));
    channel.on('close', (code: number | null) => {
      options.signal?.removeEventListener('abort', abort);
      resolve({ stdout: Buffer.concat(stdout).toString('utf8'), stderr: Buffer.concat(stderr).toString('utf8'), code: typeof code === 'number' ? code : null });
    });
    channel.end(options.stdin ?? '');
  });
}

/**
 * Opens an SSH connection with the key lent by the vault, refusing a host key that differs from the pinned one
 * (HostKeyMismatch) and, unless `allowFirstContact`, a server that has no pin yet. Used by health checks, the deploy
 * pre-flight and the terminal. Close the connection when done.
 */
export async function openSsh(target: SshTarget, secrets: SecretReader, use: SecretUse, options: SshOptions = {}): Promise<SshConnection> {
  if (!target.keySecret) {
    throw new ZavhozError(
      ErrorCodes.PreconditionFailed,
      `Server ${target.handle} has no SSH key. Store one with \`zavhoz secret set NAME --type private_key < keyfile\` and set it with \`zavhoz server update ${target.handle} --ssh-key-secret NAME\`.`,
    );
  }
  if (!target.pinnedFingerprint && !options.allowFirstContact) {
    throw new ZavhozError(
      ErrorCodes.PreconditionFailed,
      `Server ${target.handle} has no pinned host key yet. Run \`zavhoz server check ${target.handle}\` once to record it.`,
    );
  }
  let presented: string | undefined;
  let presentedKey: Buffer | undefined;
  const keySecret = target.keySecret;
  const connect = (privateKey: string, passphrase?: string): Promise<Client> =>
    new Promise<Client>((resolve, reject) => {
      const client = new ssh2.Client();
      const abort = (): void => {
        client.end();
        reject(new ZavhozError(ErrorCodes.RequestCancelled, 'The SSH connection was cancelled.'));
      };
      if (options.signal?.aborted) { abort(); return; }
      options.signal?.addEventListener('abort', abort, { once: true });
      const settle = (): void => {
        options.signal?.removeEventListener('abort', abort);
        client.removeAllListeners('ready');
        client.removeAllListeners('error');
        // A later transport error must not crash the daemon; it surfaces on the next exec instead.
        client.on('error', () => undefined);
      };
      client.once('ready', () => {
        settle();
        resolve(client);
      });
      client.once('error', (error: Error & { level?: string }) => {
        settle();
        client.end();
        if (presented && target.pinnedFingerprint && presented !== target.pinnedFingerprint) {
          reject(hostKeyMismatch(target, target.pinnedFingerprint, presented));
        } else {
          reject(error);
        }
      });
      try {
        client.connect({
          host: target.host,
          port: target.port,
          username: target.user,
          privateKey,
          ...(passphrase === undefined ? {} : { passphrase }),
          readyTimeout: options.readyTimeoutMs ?? 10_000,
          hostVerifier: (key: Buffer): boolean => {
            presented = fingerprintOf(key);
            presentedKey = key;
            return !target.pinnedFingerprint || presented === target.pinnedFingerprint;
          },
        });
      } catch (error) {
        settle();
        reject(error);
      }
    });
  const client = await secrets
    .withValue(keySecret, use, async (privateKey) => {
      try {
        return await connect(privateKey);
      } catch (error) {
        // Only a key with a passphrase costs a second loan (and audit entry), and only where the vault offers it.
        const passphrases = secrets as SecretReader & Partial<PassphraseReader>;
        if (!(error instanceof Error) || !/no passphrase given/i.test(error.message) || !passphrases.withPassphrase) throw error;
        return passphrases.withPassphrase(keySecret, use, (passphrase) => connect(privateKey, passphrase));
      }
    })
    .catch((error: unknown) => {
      throw error instanceof ZavhozError ? error : describeConnectError(target, error as Error);
    });
  const fingerprint = presented ?? '';
  return {
    client,
    fingerprint,
    firstContact: !target.pinnedFingerprint,
    ...(presentedKey === undefined ? {} : { hostKey: presentedKey }),
    exec: (command, execOptions = {}) =>
      new Promise((resolve, reject) => {
        client.exec(command, (error, channel) => {
          if (error) { reject(new ZavhozError(ErrorCodes.Unreachable, `Could not run a command on ${target.handle}: ${error.message}.`)); return; }
          collect(channel, execOptions).then(resolve, reject);
        });
      }),
    close: () => client.end(),
  };
}

/** Opens a connection, runs one command, closes; see {@link openSsh}. */
export async function runSsh(
  target: SshTarget,
  secrets: SecretReader,
  use: SecretUse,
  command: string,
  options: SshOptions & { stdin?: string } = {},
): Promise<SshExecResult & { fingerprint: string; firstContact: boolean }> {
  const connection = await openSsh(target, secrets, use, options);
  try {
    const result = await connection.exec(command, {
      ...(options.stdin === undefined ? {} : { stdin: options.stdin }),
      ...(options.signal ? { signal: options.signal } : {}),
    });
    return { ...result, fingerprint: connection.fingerprint, firstContact: connection.firstContact };
  } finally {
    connection.close();
  }
}
