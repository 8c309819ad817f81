import { z } from 'zod';
import { defineNotification, defineRequest, result } from './define.js';

/**
 * Daemon-wide settings, shared by every client. Each key has a schema and a default so a fresh data folder works
 * with no configuration; later capabilities add their keys here.
 */
export const SettingSchemas = {
  /** Server handles or provider ids that are personal machines: stored, never offered to automation. */
  ghostServers: z.array(z.string().min(1).max(128)).max(1000),
  /** Seconds between provider syncs; 0 turns periodic sync off. */
  syncIntervalSeconds: z.number().int().min(0).max(86_400),
  /** Seconds between periodic server health checks; 0 turns them off. */
  healthCheckIntervalSeconds: z.number().int().min(0).max(86_400),
  /** Projects whose deploys an agent (MCP) may start without a human confirming each one. */
  agentDeployProjects: z.array(z.string().min(1).max(64)).max(1000),
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
  agentDeployProjects: [],
};

const settingKey = z.enum(Object.keys(SettingSchemas) as [SettingKey, ...SettingKey[]]);

/** Reads every setting. */
export const SettingsGet = defineRequest('settings/get', z.strictObject({}), result<Settings>());

/** Changes one setting; the value is validated against that key's schema. */
export const SettingsSet = defineRequest(
  'settings/set',
  z.strictObject({ key: settingKey, value: z.unknown() }),
  result<Settings>(),
);

/** Sent to every client after a setting changed. */
export const SettingsDidChange = defineNotification(
  'settings/didChange',
  z.strictObject({ key: settingKey }),
);
