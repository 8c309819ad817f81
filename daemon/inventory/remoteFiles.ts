/**
 * Copies files between this machine and a managed server over SFTP (the subsystem of the same SSH connection the
 * inventory opens with the server's vault key). Both directions stream: nothing is held in memory whole, whatever
 * the size. Both write atomically: into a temporary file beside the destination, renamed over it once complete,
 * so a cancelled or failed copy never leaves half a file where the old one was.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { SFTPWrapper, Stats } from 'ssh2';
import type { AuditLog } from '../audit/auditLog.js';
import { ZavhozError } from '../core/errors.js';
import { ErrorCodes } from '../protocol/errors.js';
import type { ServerFileTransfer } from '../protocol/servers.js';
import type { SecretUse } from '../vault/api.js';
import type { SshConnection } from './ssh.js';

/** SFTP status codes (draft-ietf-secsh-filexfer-02) a user can act on. */
const SFTP_NO_SUCH_FILE = 2;
const SFTP_PERMISSION_DENIED = 3;

/**
 * Parallel SFTP requests of one copy: at most this many chunks in flight, so memory stays at 2 MiB whatever the file's
 * size, while a high-latency link is still kept busy (one request at a time ran at a few MB/s even on loopback).
 */
const TRANSFER = { concurrency: 64, chunkSize: 32 * 1024 } as const;

/** What one copy did, for the answer and the audit log (paths and sizes, never contents). */
export type FileTransfer = ServerFileTransfer;

/** Permission bits as `0640`. */
export function formatMode(mode: number): string {
  return `0${(mode & 0o7777).toString(8).padStart(3, '0')}`;
}

/** Refuses a path that is not absolute (the CLI resolves the user's paths before sending them). */
export function requireAbsolute(where: 'local' | 'remote', file: string): void {
  const absolute = where === 'local' ? path.isAbsolute(file) : file.startsWith('/');
  if (!absolute || file.includes('\0')) {
    throw new ZavhozError(ErrorCodes.InvalidInput, `The ${where} path "${file}" is not absolute; give the whole path${where === 'remote' ? ' on the server, e.g. /opt/services/shop/config.yml' : ''}.`);
  }
}

function sftpOf(connection: SshConnection): Promise<SFTPWrapper> {
  return new Promise((resolve, reject) => {
    connection.client.sftp((error, sftp) => {
      if (error) reject(new ZavhozError(ErrorCodes.Unreachable, `The server refused an SFTP session (${error.message}). Check that its sshd has a Subsystem sftp line.`));
      else resolve(sftp);
    });
  });
}

function sftpCall<T>(run: (callback: (error: Error | null | undefined, value?: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => run((error, value) => (error ? reject(error) : resolve(value as T))));
}

function statOrUndefined(sftp: SFTPWrapper, file: string): Promise<Stats | undefined> {
  return new Promise((resolve, reject) =>
    sftp.stat(file, (error, stats) => {
      if (!error) { resolve(stats); return; }
      if ((error as Error & { code?: number }).code === SFTP_NO_SUCH_FILE) { resolve(undefined); return; }
      reject(error);
    }),
  );
}

/** Turns an SFTP or file system error into one line that says what to do. */
function describeFileError(error: unknown, where: string, file: string, action: string): ZavhozError {
  if (error instanceof ZavhozError) return error;
  const code = (error as { code?: unknown }).code;
  if (code === SFTP_NO_SUCH_FILE || code === 'ENOENT') {
    return new ZavhozError(ErrorCodes.NotFound, `No such file or folder ${file} ${where} (while trying to ${action}). Check the path.`);
  }
  if (code === SFTP_PERMISSION_DENIED || code === 'EACCES' || code === 'EPERM') {
    return new ZavhozError(ErrorCodes.PreconditionFailed, `Permission denied ${where} for ${file} (while trying to ${action}). Choose a path the user may write to, or change its permissions.`);
  }
  if (code === 'EISDIR') return new ZavhozError(ErrorCodes.InvalidInput, `${file} ${where} is a folder, not a file.`);
  const message = error instanceof Error ? error.message : String(error);
  return new ZavhozError(ErrorCodes.Unreachable, `Could not ${action} (${file} ${where}): ${message}.`);
}

function temporaryName(destination: string): string {
  return path.posix.join(path.posix.dirname(destination), `.${path.posix.basename(destination)}.zavhoz-${crypto.randomBytes(4).toString('hex')}.tmp`);
}

/** Renames over an existing file: OpenSSH's posix-rename where offered (plain SFTP rename refuses an existing target). */
async function replace(sftp: SFTPWrapper, from: string, to: string): Promise<void> {
  try {
    await sftpCall<undefined>((callback) => sftp.ext_openssh_rename(from, to, callback));
  } catch (error) {
    if (!/not supported|extension/i.test((error as Error).message)) throw error;
    await sftpCall<undefined>((callback) => sftp.unlink(to, () => callback(null)));
    await sftpCall<undefined>((callback) => sftp.rename(from, to, callback));
  }
}

/**
 * Uploads `local` (absolute, on this machine) to `remote` (absolute, on the server; into it when it is a folder)
 * with permission bits `mode` (default: the local file's). The server gets a temporary file first, renamed into place once complete.
 */
export async function uploadFile(
  connection: SshConnection,
  server: string,
  local: string,
  remote: string,
  requestedMode: number | undefined,
  signal?: AbortSignal,
): Promise<FileTransfer> {
  requireAbsolute('local', local);
  requireAbsolute('remote', remote);
  let size: number;
  let mode: number;
  try {
    const stats = await fs.promises.stat(local);
    if (stats.isDirectory()) throw Object.assign(new Error('is a folder'), { code: 'EISDIR' });
    // Readable by the user, or the stream below fails late with a less clear error.
    await fs.promises.access(local, fs.constants.R_OK);
    size = stats.size;
    mode = requestedMode ?? stats.mode & 0o777;
  } catch (error) {
    throw describeFileError(error, 'on this machine', local, 'read it');
  }
  const sftp = await sftpOf(connection);
  const cancel = (): void => sftp.end();
  signal?.addEventListener('abort', cancel, { once: true });
  let destination = remote;
  let temporary: string | undefined;
  try {
    const existing = await statOrUndefined(sftp, remote).catch((error: unknown) => {
      throw describeFileError(error, `on ${server}`, remote, 'look at it');
    });
    if (existing?.isDirectory()) destination = path.posix.join(remote, path.basename(local));
    temporary = temporaryName(destination);
    const writeTo = temporary;
    try {
      await sftpCall<undefined>((callback) => sftp.fastPut(local, writeTo, { ...TRANSFER, mode: 0o600 }, callback));
    } catch (error) {
      throw describeFileError(error, `on ${server}`, path.posix.dirname(destination), 'write a file in it');
    }
    signal?.throwIfAborted();
    // The mode is set explicitly: the one given at open is cut by the server's umask.
    await sftpCall<undefined>((callback) => sftp.chmod(writeTo, mode, callback));
    await replace(sftp, writeTo, destination).catch((error: unknown) => {
      throw describeFileError(error, `on ${server}`, destination, 'replace it');
    });
    temporary = undefined;
    return { server, local, remote: destination, bytes: size, mode: formatMode(mode) };
  } catch (error) {
    if (signal?.aborted) throw new ZavhozError(ErrorCodes.RequestCancelled, 'The upload was cancelled; the file on the server was left as it was.');
    throw error;
  } finally {
    signal?.removeEventListener('abort', cancel);
    if (temporary !== undefined && !signal?.aborted) {
      const leftover = temporary;
      await sftpCall<undefined>((callback) => sftp.unlink(leftover, () => callback(null)));
    }
    sftp.end();
  }
}

/**
 * Downloads `remote` (absolute, on the server) to `local` (absolute, on this machine; into it when it is a folder).
 * The local file gets the remote file's permission bits and appears only once complete.
 */
export async function fetchFile(
  connection: SshConnection,
  server: string,
  remote: string,
  local: string,
  signal?: AbortSignal,
): Promise<FileTransfer> {
  requireAbsolute('remote', remote);
  requireAbsolute('local', local);
  let destination = local;
  try {
    if ((await fs.promises.stat(local)).isDirectory()) destination = path.join(local, path.posix.basename(remote));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw describeFileError(error, 'on this machine', local, 'look at it');
  }
  const sftp = await sftpOf(connection);
  const cancel = (): void => sftp.end();
  signal?.addEventListener('abort', cancel, { once: true });
  const temporary = path.join(path.dirname(destination), `.${path.basename(destination)}.zavhoz-${crypto.randomBytes(4).toString('hex')}.tmp`);
  try {
    const stats = await statOrUndefined(sftp, remote).catch((error: unknown) => {
      throw describeFileError(error, `on ${server}`, remote, 'look at it');
    });
    if (!stats) throw describeFileError({ code: SFTP_NO_SUCH_FILE }, `on ${server}`, remote, 'fetch it');
    if (stats.isDirectory()) throw describeFileError({ code: 'EISDIR' }, `on ${server}`, remote, 'fetch it');
    const mode = stats.mode & 0o777;
    try {
      await sftpCall<undefined>((callback) => sftp.fastGet(remote, temporary, { ...TRANSFER, mode: 0o600 }, callback));
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      const local = typeof code === 'string';
      throw describeFileError(error, local ? 'on this machine' : `on ${server}`, local ? path.dirname(destination) : remote, local ? 'write a file in it' : 'read it');
    }
    signal?.throwIfAborted();
    await fs.promises.chmod(temporary, mode);
    await fs.promises.rename(temporary, destination);
    return { server, local: destination, remote, bytes: stats.size, mode: formatMode(mode) };
  } catch (error) {
    if (signal?.aborted) throw new ZavhozError(ErrorCodes.RequestCancelled, 'The download was cancelled; nothing was written on this machine.');
    throw error;
  } finally {
    signal?.removeEventListener('abort', cancel);
    // Gone after the rename; what a failed or cancelled copy left.
    await fs.promises.rm(temporary, { force: true }).catch(() => undefined);
    sftp.end();
  }
}

/** Who asked for a copy, for the vault's loan of the SSH key and the audit log; `signal` cancels it. */
export interface TransferCall {
  readonly client: string;
  readonly requestId: string;
  readonly signal?: AbortSignal | undefined;
}

/** What {@link RemoteFiles} needs: SSH to managed servers and the audit log. */
export interface RemoteFilesDependencies {
  openSsh(handle: string, use: SecretUse, options: { signal?: AbortSignal | undefined }): Promise<SshConnection>;
  readonly audit: AuditLog;
}

/**
 * `server upload` and `server fetch`: each copy opens its own SSH connection with the server's vault key, and is
 * audited whether it worked or not (server, paths, size, mode; never contents).
 */
export class RemoteFiles {
  constructor(private readonly dependencies: RemoteFilesDependencies) {}

  /** Uploads `local` to `remote` on the server with permission bits `mode`; see {@link uploadFile}. */
  upload(handle: string, local: string, remote: string, mode: number | undefined, call: TransferCall): Promise<FileTransfer> {
    return this.transfer(handle, 'server-upload', { local, remote }, call, (connection) => uploadFile(connection, handle, local, remote, mode, call.signal));
  }

  /** Downloads `remote` on the server to `local`; see {@link fetchFile}. */
  fetch(handle: string, remote: string, local: string, call: TransferCall): Promise<FileTransfer> {
    return this.transfer(handle, 'server-fetch', { local, remote }, call, (connection) => fetchFile(connection, handle, remote, local, call.signal));
  }

  private async transfer(
    handle: string,
    action: string,
    paths: { readonly local: string; readonly remote: string },
    call: TransferCall,
    work: (connection: SshConnection) => Promise<FileTransfer>,
  ): Promise<FileTransfer> {
    requireAbsolute('local', paths.local);
    requireAbsolute('remote', paths.remote);
    const entry = { client: call.client, requestId: call.requestId, action, subject: `server:${handle}` };
    try {
      const connection = await this.dependencies.openSsh(
        handle,
        { client: call.client, requestId: call.requestId, action: 'ssh', detail: { server: handle, purpose: action } },
        { signal: call.signal },
      );
      try {
        const done = await work(connection);
        await this.dependencies.audit.record({ ...entry, detail: { local: done.local, remote: done.remote, bytes: done.bytes, mode: done.mode, outcome: 'done' } });
        return done;
      } finally {
        connection.close();
      }
    } catch (error) {
      const code = error instanceof ZavhozError ? error.code : ErrorCodes.InternalError;
      await this.dependencies.audit.record({ ...entry, detail: { ...paths, outcome: code === ErrorCodes.RequestCancelled ? 'cancelled' : 'failed', code } });
      throw error;
    }
  }
}
