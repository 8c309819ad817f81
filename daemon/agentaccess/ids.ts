import crypto from 'node:crypto';

/** A new id: the prefix and 10 random lowercase base32 characters (`grt_7f3k9x2mab`). */
export function newAccessId(prefix: 'grt' | 'cmd'): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz234567';
  return `${prefix}_${[...crypto.randomBytes(10)].map((byte) => alphabet[byte % 32]).join('')}`;
}
