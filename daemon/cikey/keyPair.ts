import crypto from 'node:crypto';
import ssh2 from 'ssh2';
import { invalidInput } from '../core/errors.js';

/**
 * A CI deploy key pair: an ed25519 key in OpenSSH's own private key format (what `ssh -i` and GitHub Actions' ssh
 * read; OpenSSH does not read PKCS#8 ed25519 keys everywhere), and its `authorized_keys` public line.
 */
export interface DeployKeyPair {
  /** `-----BEGIN OPENSSH PRIVATE KEY-----` …, unencrypted. Goes into the vault, and from there only to GitHub. */
  readonly privateKey: string;
  /** `ssh-ed25519 AAAA… comment`. */
  readonly publicKey: string;
}

function sshString(data: Buffer | string): Buffer {
  const body = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  const length = Buffer.alloc(4);
  length.writeUInt32BE(body.length);
  return Buffer.concat([length, body]);
}

function uint32(value: number): Buffer {
  const buffer = Buffer.alloc(4);
  buffer.writeUInt32BE(value);
  return buffer;
}

/** Generates a new ed25519 key pair; `comment` ends the public line (e.g. `zavhoz-ci shop`). */
export function generateDeployKeyPair(comment: string): DeployKeyPair {
  const { publicKey, privateKey } = crypto.generateKeyPairSync('ed25519');
  const publicJwk = publicKey.export({ format: 'jwk' });
  const privateJwk = privateKey.export({ format: 'jwk' });
  const rawPublic = Buffer.from(publicJwk.x ?? '', 'base64url');
  const seed = Buffer.from(privateJwk.d ?? '', 'base64url');
  const publicBlob = Buffer.concat([sshString('ssh-ed25519'), sshString(rawPublic)]);
  const check = crypto.randomBytes(4);
  let section = Buffer.concat([check, check, sshString('ssh-ed25519'), sshString(rawPublic), sshString(Buffer.concat([seed, rawPublic])), sshString(comment)]);
  const padding: number[] = [];
  for (let pad = 1; (section.length + padding.length) % 8 !== 0; pad++) padding.push(pad);
  section = Buffer.concat([section, Buffer.from(padding)]);
  const body = Buffer.concat([
    Buffer.from('openssh-key-v1\0', 'latin1'),
    sshString('none'),
    sshString('none'),
    sshString(''),
    uint32(1),
    sshString(publicBlob),
    sshString(section),
  ]);
  const lines = body.toString('base64').match(/.{1,70}/g) ?? [];
  return {
    privateKey: `-----BEGIN OPENSSH PRIVATE KEY-----\n${lines.join('\n')}\n-----END OPENSSH PRIVATE KEY-----\n`,
    publicKey: `ssh-ed25519 ${publicBlob.toString('base64')} ${comment}`,
  };
}

/** The `authorized_keys` public line (type and base64, no comment) of a private key Zavhoz stored. */
export function publicLineOf(privateKey: string): string {
  const parsed = ssh2.utils.parseKey(privateKey);
  if (parsed instanceof Error || Array.isArray(parsed)) throw invalidInput('The CI deploy key in the vault is not an SSH private key Zavhoz can read; rotate it with `zavhoz github push-secrets … --rotate-key`.');
  return `${parsed.type} ${parsed.getPublicSSH().toString('base64')}`;
}
