import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ensurePrivateFolder, writeFileAtomic } from '../core/files.js';

/**
 * Zavhoz's own SSH config: one Host block per handed-off server (`ssh/hosts/<server>.conf`), with the server's
 * public key and pinned host key beside it, and `ssh/config` including them all. Only public material is written.
 */

/** The SSH host alias of a managed server. */
export function aliasOf(server: string): string {
  return `zavhoz-${server}`;
}

/** What one Host block says. */
export interface HostEntry {
  readonly server: string;
  readonly host: string;
  readonly port: number;
  readonly user: string;
  /** The vault handle of the key handed off (a name, never the key): a later change of key makes the block stale. */
  readonly keySecret: string;
  /** The agent that holds the key. */
  readonly agentSocket: string;
  /** The key's public half, as an authorized_keys line. */
  readonly publicKey: string;
  /** The server's host key as a known_hosts key (`ssh-ed25519 AAAA…`), checked against its pin. */
  readonly hostKey: string;
}

/** The files of Zavhoz's SSH config. */
export interface WrittenHost {
  readonly hostConfig: string;
  readonly configFile: string;
}

/** A value for an ssh_config line, quoted (paths may hold spaces, e.g. macOS's Application Support). */
function quoted(value: string): string {
  if (/["\r\n]/.test(value)) throw new Error(`ssh_config cannot hold the path ${JSON.stringify(value)}`);
  return `"${value}"`;
}

/** The SSH host key of a raw key blob, as known_hosts writes it: its type name, then the blob in base64. */
export function knownHostsKey(blob: Buffer): string {
  const length = blob.length >= 4 ? blob.readUInt32BE(0) : 0;
  const type = blob.subarray(4, 4 + length).toString('latin1');
  if (!/^[a-z0-9@.-]+$/i.test(type)) throw new Error('the server presented a host key of an unknown shape');
  return `${type} ${blob.toString('base64')}`;
}

/** Writes (or rewrites) the Host block of one server, and the config that includes every block. */
export function writeHost(folder: string, entry: HostEntry): WrittenHost {
  const hosts = path.join(folder, 'hosts');
  const keys = path.join(folder, 'keys');
  const known = path.join(folder, 'known_hosts');
  for (const each of [folder, hosts, keys, known]) ensurePrivateFolder(each);
  const hostConfig = path.join(hosts, `${entry.server}.conf`);
  writeBlock(entry, { hostConfig, publicKeyFile: path.join(keys, `${entry.server}.pub`), knownHostsFile: path.join(known, entry.server) }, 'rewritten at each hand-off');
  return { hostConfig, configFile: writeIncludes(folder) };
}

/**
 * Writes the Host block of one session (`zavhoz server ssh`) into the session's own private folder, with its public key
 * and pinned host key beside it; Zavhoz's SSH config is not touched. Answers the block's path.
 */
export function writeSessionHost(sessionFolder: string, entry: HostEntry): string {
  const hostConfig = path.join(sessionFolder, 'host.conf');
  writeBlock(entry, { hostConfig, publicKeyFile: path.join(sessionFolder, 'key.pub'), knownHostsFile: path.join(sessionFolder, 'known_hosts') }, 'gone when the session ends');
  return hostConfig;
}

/** Writes a Host block and the public key and pinned host key it names. */
function writeBlock(entry: HostEntry, files: { readonly hostConfig: string; readonly publicKeyFile: string; readonly knownHostsFile: string }, lifetime: string): void {
  const alias = aliasOf(entry.server);
  writeFileAtomic(files.publicKeyFile, `${entry.publicKey}\n`);
  writeFileAtomic(files.knownHostsFile, `${alias} ${entry.hostKey}\n`);
  writeFileAtomic(
    files.hostConfig,
    [
      `# Written by Zavhoz for server ${entry.server}; ${lifetime}.`,
      `# zavhoz-key-secret ${entry.keySecret}`,
      `Host ${alias}`,
      `  HostName ${entry.host}`,
      `  Port ${entry.port}`,
      `  User ${entry.user}`,
      `  IdentityAgent ${quoted(entry.agentSocket)}`,
      `  IdentityFile ${quoted(files.publicKeyFile)}`,
      '  IdentitiesOnly yes',
      `  HostKeyAlias ${alias}`,
      `  UserKnownHostsFile ${quoted(files.knownHostsFile)}`,
      '  StrictHostKeyChecking yes',
      '  UpdateHostKeys no',
      '',
    ].join('\n'),
  );
}

/** Rewrites `ssh/config` so that it includes exactly the Host blocks there are; answers its path. */
function writeIncludes(folder: string): string {
  const configFile = path.join(folder, 'config');
  const blocks = handedServers(folder).map((server) => `Include ${quoted(path.join(folder, 'hosts', `${server}.conf`))}`);
  writeFileAtomic(configFile, ['# Written by Zavhoz: the servers it handed to your SSH client. Do not edit; it is rewritten.', ...blocks, ''].join('\n'));
  return configFile;
}

/** The servers that have a Host block in Zavhoz's SSH config, sorted. */
export function handedServers(folder: string): string[] {
  let names: string[];
  try {
    names = fs.readdirSync(path.join(folder, 'hosts'));
  } catch {
    return [];
  }
  return names
    .filter((name) => name.endsWith('.conf'))
    .map((name) => name.slice(0, -'.conf'.length))
    .sort();
}

/**
 * Where a handed-off server's Host block points: the agent holding its key, the key's public half, and the address,
 * user and key handle it was written with (undefined where a block from an older Zavhoz does not say).
 */
export interface HandedHost {
  readonly agentSocket: string | undefined;
  readonly publicKeyFile: string;
  readonly host: string | undefined;
  readonly port: number | undefined;
  readonly user: string | undefined;
  readonly keySecret: string | undefined;
}

/** What a server's Host block says; undefined when the server has none. */
export function handedHost(folder: string, server: string): HandedHost | undefined {
  let text: string;
  try {
    text = fs.readFileSync(path.join(folder, 'hosts', `${server}.conf`), 'utf8');
  } catch {
    return undefined;
  }
  const line = (pattern: RegExp): string | undefined => pattern.exec(text)?.[1];
  const port = line(/^\s*Port\s+(\d+)\s*$/m);
  return {
    agentSocket: line(/^\s*IdentityAgent\s+"(.*)"\s*$/m),
    publicKeyFile: path.join(folder, 'keys', `${server}.pub`),
    host: line(/^\s*HostName\s+(\S+)\s*$/m),
    port: port === undefined ? undefined : Number(port),
    user: line(/^\s*User\s+(\S+)\s*$/m),
    keySecret: line(/^# zavhoz-key-secret (\S+)$/m),
  };
}

/**
 * True when a Host block no longer says where and how the server is reached now: its address, port or user changed,
 * or its key (a block that does not name its key is judged by the rest).
 */
export function isStale(handed: HandedHost, now: { readonly host: string; readonly port: number; readonly user: string; readonly keySecret: string | null }): boolean {
  if (handed.host !== now.host || handed.port !== now.port || handed.user !== now.user) return true;
  return handed.keySecret !== undefined && handed.keySecret !== now.keySecret;
}

/**
 * Takes a server out of Zavhoz's SSH config: its Host block, its pinned host key (known_hosts), its public key and
 * its Include line. A server that is gone must not keep an alias that reaches whatever gets its address next.
 */
export function removeHost(folder: string, server: string): void {
  for (const file of [path.join(folder, 'hosts', `${server}.conf`), path.join(folder, 'keys', `${server}.pub`), path.join(folder, 'known_hosts', server)]) {
    fs.rmSync(file, { force: true });
  }
  if (fs.existsSync(path.join(folder, 'hosts'))) writeIncludes(folder);
}

/** The user's own SSH config file. */
export function userConfigFile(): string {
  return path.join(os.homedir(), '.ssh', 'config');
}

/** True when an SSH config file already includes `configFile`. */
export function includes(userConfig: string, configFile: string): boolean {
  let text: string;
  try {
    text = fs.readFileSync(userConfig, 'utf8');
  } catch {
    return false;
  }
  return text.split(/\r?\n/).some((line) => {
    const match = /^\s*include\s+(.+?)\s*$/i.exec(line);
    return match !== null && match[1]?.replace(/^"(.*)"$/, '$1') === configFile;
  });
}

/**
 * Puts one `Include` line for Zavhoz's config at the top of the user's SSH config (an Include inside a Host block
 * would apply only there). A config that is a link is changed where it points; a new one is made private.
 */
export function addInclude(userConfig: string, configFile: string): void {
  if (includes(userConfig, configFile)) return;
  // A folder that exists is left as it is (a remote.SSH.configFile may live in any folder of the person's).
  if (!fs.existsSync(path.dirname(userConfig))) ensurePrivateFolder(path.dirname(userConfig));
  let target = userConfig;
  let before = '';
  let mode = 0o600;
  if (fs.existsSync(userConfig)) {
    target = fs.realpathSync(userConfig);
    before = fs.readFileSync(target, 'utf8');
    mode = fs.statSync(target).mode & 0o777;
  }
  writeFileAtomic(target, `# Added by Zavhoz: the servers it hands to your SSH client (zavhoz-<server>).\nInclude ${quoted(configFile)}\n\n${before}`);
  fs.chmodSync(target, mode);
}
