import type { SecretCategory, SecretType } from '../daemon/protocol/secretFields.js';

/**
 * What a secret's name says about it. The secret form picks type and category from the name as it is typed, until
 * the person picks either themselves: `DEPLOY_SSH_KEY` is a private key for a server, `SHOP_BOT_TOKEN` a Telegram
 * token. Plain code (no DOM), so the extension's tests check every pattern.
 */
export interface SecretGuess {
  readonly type: SecretType;
  readonly category: SecretCategory;
  /** Why, in a few words, shown under the fields ("looks like an SSH private key"). */
  readonly reason: string;
}

interface Pattern extends SecretGuess {
  readonly name: RegExp;
}

/** First match wins, so the narrow patterns come before the broad ones (`GITHUB_TOKEN` before `*_TOKEN`). */
const PATTERNS: readonly Pattern[] = [
  { name: /(^|_)(SSH|DEPLOY)_(PRIVATE_)?KEY$|(^|_)PRIVATE_KEY$|(^|_)SSH_KEY(_|$)|_ID_(RSA|ED25519)$/, type: 'private_key', category: 'server', reason: 'looks like an SSH private key' },
  { name: /(^|_)(BOT_TOKEN|TELEGRAM(_\w+)?)$|^TELEGRAM_/, type: 'token', category: 'telegram_bot', reason: 'looks like a Telegram bot token' },
  { name: /^(GITHUB|GH)_|_(GITHUB|GH)_(TOKEN|PAT)$|(^|_)PAT$/, type: 'token', category: 'github', reason: 'looks like a GitHub token' },
  { name: /^(CLOUDFLARE|CF|DNS|NAMECHEAP|GODADDY|ROUTE53)_|_DNS_(TOKEN|KEY)$/, type: 'token', category: 'domain', reason: 'looks like a DNS or domain API token' },
  { name: /^(TIME4VPS|HETZNER|HCLOUD|DIGITALOCEAN|DO|LINODE|VULTR|OVH|SCALEWAY|AWS)_/, type: 'token', category: 'provider', reason: "looks like a VPS provider's credential" },
  { name: /(^|_)(API_?KEY|API_TOKEN|API_SECRET|ACCESS_KEY|SECRET_KEY)$/, type: 'token', category: 'api_key', reason: 'looks like an API key' },
  { name: /(^|_)(PASSWORD|PASSWD|PASS|PWD)$/, type: 'password', category: 'other', reason: 'looks like a password' },
  { name: /(^|_)(CERT|CERTIFICATE|PEM|CA_BUNDLE|CREDENTIALS_JSON|SERVICE_ACCOUNT(_JSON)?|KEYFILE|JSON)$/, type: 'text', category: 'other', reason: 'looks like a multi-line file' },
  { name: /(^|_)(TOKEN|SECRET|WEBHOOK_SECRET|SIGNING_KEY|SALT)$/, type: 'token', category: 'other', reason: 'looks like a token' },
];

/** The type and category a name suggests, or undefined when it says nothing (the form keeps what it has). */
export function guessSecretKind(name: string): SecretGuess | undefined {
  const upper = name.trim().toUpperCase();
  if (upper === '') return undefined;
  const pattern = PATTERNS.find((candidate) => candidate.name.test(upper));
  return pattern ? { type: pattern.type, category: pattern.category, reason: pattern.reason } : undefined;
}
