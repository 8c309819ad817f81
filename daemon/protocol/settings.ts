import * as z from 'zod';
import { defineNotification, defineRequest, result } from './define.js';
import { lazySchema } from './lazySchema.js';
import { AGENT_MODES } from './agent.js';
import { secretHandle } from './secrets.js';

/** True for hosts that never leave this machine: 127.0.0.0/8, `localhost` and `[::1]` (as `URL` spells them). */
export function isLoopbackHost(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname);
}

/**
 * The base URL of an API that receives credentials (Time4VPS's Basic auth, a GitHub token): https, or http on
 * loopback only (a test stand-in), and no `user:pass@` part, since a login belongs in the vault and would be sent
 * in the clear. `example` is shown in messages; `credentialSettings` names where the login goes instead.
 */
function credentialedApiBase(example: string, credentialSettings: string) {
  return z
    .string()
    .max(512)
    .superRefine((value, context) => {
      let url: URL;
      try {
        url = new URL(value);
      } catch {
        context.addIssue({ code: 'custom', message: `not a URL; give the API base, e.g. ${example}` });
        return;
      }
      if (url.username !== '' || url.password !== '') {
        context.addIssue({
          code: 'custom',
          message: `the URL must not contain a login (user:pass@). Store the credentials with \`zavhoz secret set\` and set ${credentialSettings} instead`,
        });
      } else if (url.protocol === 'http:' && !isLoopbackHost(url.hostname)) {
        context.addIssue({
          code: 'custom',
          message: `http is allowed only for a loopback host (127.0.0.1, localhost, [::1]), because the credentials would cross the network unencrypted; use https://${url.host}${url.pathname === '/' ? '' : url.pathname}`,
        });
      } else if (url.protocol !== 'https:' && url.protocol !== 'http:') {
        context.addIssue({ code: 'custom', message: `${url.protocol} is not an API scheme; use an https:// URL, e.g. ${example}` });
      }
    });
}

/**
 * Daemon-wide settings, shared by every client. Each key has a schema and a default so a fresh data folder works
 * with no configuration; later capabilities add their keys here.
 */
export const SettingSchemas = {
  /** Server handles or provider ids that are personal machines: stored, never offered to automation. */
  ghostServers: lazySchema(() => z.array(z.string().min(1).max(128)).max(1000)),
  /** Seconds between provider syncs; 0 turns periodic sync off. */
  syncIntervalSeconds: lazySchema(() => z.number().int().min(0).max(86_400)),
  /** Seconds between periodic server health checks; 0 turns them off. */
  healthCheckIntervalSeconds: lazySchema(() => z.number().int().min(0).max(86_400)),
  /**
   * What agent tools may do (VS Code language model tools and `zavhoz mcp`): `read-only` (status, lists, logs),
   * `operate` (+ restart, run commands with secrets), `deploy` (+ allocate, deploy, roll back, push CI secrets).
   * Agents see only the tools their mode allows.
   */
  agentMode: lazySchema(() => z.enum(AGENT_MODES)),
  /** Projects whose deploys an agent (MCP) may start without a human confirming each one. */
  agentDeployProjects: lazySchema(() => z.array(z.string().min(1).max(64)).max(1000)),
  /**
   * Lets agent tools show server addresses, SSH users, ports and key handles. Off: agents see servers by handle only,
   * in every answer, error and confirmation.
   */
  agentSeesAddresses: lazySchema(() => z.boolean()),
  /** Base URL of the Time4VPS API: https, or http on loopback (tests point it at a loopback stand-in). */
  time4vpsApiBase: lazySchema(() => credentialedApiBase('https://billing.time4vps.com/api', 'time4vpsLoginSecret / time4vpsPasswordSecret')),
  /** Vault handle of the Time4VPS API login; empty means no provider is configured. */
  time4vpsLoginSecret: lazySchema(() => z.union([z.literal(''), secretHandle])),
  /** Vault handle of the Time4VPS API password. */
  time4vpsPasswordSecret: lazySchema(() => z.union([z.literal(''), secretHandle])),
  /**
   * Base URL of the GitHub REST API: api.github.com, a GitHub Enterprise Server's `/api/v3`, or a loopback test
   * stand-in; it receives the token, so https (or loopback http) only.
   */
  githubApiBase: lazySchema(() => credentialedApiBase('https://api.github.com', 'githubTokenSecret (or githubAppId and githubAppKeySecret)')),
  /** Vault handle of a GitHub token allowed to write Actions secrets; empty means none. */
  githubTokenSecret: lazySchema(() => z.union([z.literal(''), secretHandle])),
  /** GitHub App id; with githubAppKeySecret it is used instead of the token. 0 means no App. */
  githubAppId: lazySchema(() => z.number().int().min(0).max(1_000_000_000_000)),
  /** Vault handle of the GitHub App's private key (PEM); empty means none. */
  githubAppKeySecret: lazySchema(() => z.union([z.literal(''), secretHandle])),
  /** Releases kept per project (the newest ones); older ones are deleted and the vault lets go of their secret versions. */
  releasesKept: lazySchema(() => z.number().int().min(1).max(1000)),
  /**
   * Seconds between checks for secrets whose rotation is due (generated ones are rotated and their projects
   * redeployed, typed-in ones reported); 0 turns the periodic check off (the one at daemon start still runs).
   */
  rotationCheckIntervalSeconds: lazySchema(() => z.number().int().min(0).max(604_800)),
  /**
   * Days after which a project's CI deploy key rotates itself (a new key installed on the server and pushed to every
   * repository that has it, the old one removed); given to each key when it is created. 0: CI keys never rotate.
   */
  ciKeyRotationDays: lazySchema(() => z.number().int().min(0).max(3650)),
  /**
   * Projects (names, or globs with `*`) whose deploys, rollbacks and undeploys wait for a person's approval unless a
   * person confirmed them when they were asked for.
   */
  protectedProjects: lazySchema(() => z.array(z.string().min(1).max(64).regex(/^[a-z0-9*][a-z0-9*_-]*$/, 'a project name or a glob like shop-*')).max(1000)),
  /** Base URL of the Telegram Bot API (it receives bot tokens): https, or http on loopback (a test stand-in). */
  telegramApiBase: lazySchema(() => credentialedApiBase('https://api.telegram.org', 'the endpoint\'s --bot-token-secret')),
  /**
   * Where Slack incoming webhooks live: a Slack endpoint's URL (a vault secret) must start with it. https, or http on
   * loopback (a test stand-in).
   */
  slackWebhookBase: lazySchema(() => credentialedApiBase('https://hooks.slack.com', 'the endpoint\'s --url-secret')),
  /** The image of the reverse proxy Zavhoz runs on each server that has a domain (Caddy 2). */
  proxyImage: lazySchema(() => z.string().min(1).max(256).regex(/^[A-Za-z0-9][A-Za-z0-9._/:@-]*$/, 'an image reference like caddy:2')),
  /** Certificates of the proxy: `acme` (Let's Encrypt / ZeroSSL, production) or `internal` (Caddy's own CA, for tests). */
  proxyTls: lazySchema(() => z.enum(['acme', 'internal'])),
  /** The port the proxy answers HTTP on (and redirects to HTTPS); ACME's HTTP challenge needs 80. */
  proxyHttpPort: lazySchema(() => z.number().int().min(1).max(65_535)),
  /** The port the proxy answers HTTPS on. */
  proxyHttpsPort: lazySchema(() => z.number().int().min(1).max(65_535)),
  /** Vault handle of a Cloudflare API token (category `domain`) that may edit DNS; empty: Zavhoz writes no DNS record. */
  dnsTokenSecret: lazySchema(() => z.union([z.literal(''), secretHandle])),
  /** Base URL of Cloudflare's API; it receives the DNS token, so https (or loopback http, a test stand-in) only. */
  cloudflareApiBase: lazySchema(() => credentialedApiBase('https://api.cloudflare.com/client/v4', 'dnsTokenSecret')),
} as const;

/** The name of a setting. */
export type SettingKey = keyof typeof SettingSchemas;

/** All settings with their current values. */
export type Settings = { [K in SettingKey]: z.infer<(typeof SettingSchemas)[K]> };

/** Values used until the user changes them. */
export const DEFAULT_SETTINGS: Settings = {
  ghostServers: [],
  syncIntervalSeconds: 60,
  healthCheckIntervalSeconds: 300,
  // `deploy`: every tool agents had before modes existed stays available; deploys over MCP still need a grant per
  // project and VS Code still asks before each one, so the default widens nothing.
  agentMode: 'deploy',
  agentDeployProjects: [],
  agentSeesAddresses: false,
  time4vpsApiBase: 'https://billing.time4vps.com/api',
  time4vpsLoginSecret: '',
  time4vpsPasswordSecret: '',
  githubApiBase: 'https://api.github.com',
  githubTokenSecret: '',
  githubAppId: 0,
  githubAppKeySecret: '',
  releasesKept: 10,
  rotationCheckIntervalSeconds: 3600,
  ciKeyRotationDays: 90,
  protectedProjects: [],
  telegramApiBase: 'https://api.telegram.org',
  slackWebhookBase: 'https://hooks.slack.com',
  proxyImage: 'caddy:2',
  proxyTls: 'acme',
  proxyHttpPort: 80,
  proxyHttpsPort: 443,
  dnsTokenSecret: '',
  cloudflareApiBase: 'https://api.cloudflare.com/client/v4',
};

const settingKey = lazySchema(() => z.enum(Object.keys(SettingSchemas) as [SettingKey, ...SettingKey[]]));

/** Reads every setting. */
export const SettingsGet = defineRequest('settings/get', () => z.strictObject({}), result<Settings>());

/**
 * Changes one setting; the value is validated against that key's schema. A `ghostServers` list that leaves out an
 * entry of the current one is refused unless `dropGhosts`: ghosts become managed one by one with `servers/manage`.
 */
export const SettingsSet = defineRequest(
  'settings/set',
  () => z.strictObject({ key: settingKey, value: z.unknown(), dropGhosts: z.boolean().default(false) }),
  result<Settings>(),
);

/** Sent to every client after a setting changed. */
export const SettingsDidChange = defineNotification(
  'settings/didChange',
  () => z.strictObject({ key: settingKey }),
);
