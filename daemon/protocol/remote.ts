import * as z from 'zod';
import { defineRequest, result } from './define.js';
import { serverHandle } from './servers.js';

/**
 * The hand-off of a managed server to the user's own SSH client (VS Code Remote-SSH, or `ssh` in a terminal): the
 * daemon loads the server's vault key into an ssh-agent through `ssh-add`'s stdin, with a lifetime, and writes a
 * host alias to an SSH config file Zavhoz owns. The key is never written to a file, put on a command line or answered.
 */

/** Shortest and longest time a handed-off key stays in the agent, in seconds. */
export const HANDOFF_LIFETIME = { min: 60, max: 7 * 24 * 3600, default: 8 * 3600 } as const;

/**
 * Loads a managed server's SSH key into an ssh-agent for a while (`ssh-add -t`, the key on stdin) and writes the
 * host alias `zavhoz-<server>` (address, user, port, pinned host key, that key only, that agent) to Zavhoz's own SSH
 * config. `agentSocket` is the client's agent (its `SSH_AUTH_SOCK`); without it the daemon's own agent holds the key.
 * With `includeInUserConfig` (asked of the person first) `~/.ssh/config` (or `userConfigFile`) gets one `Include` line
 * for Zavhoz's file, so that Remote-SSH and a plain `ssh zavhoz-<server>` know the alias. The server's host key is checked against its pin
 * first. Audited; refused for agents.
 */
export const RemoteHandoff = defineRequest(
  'remote/handoff',
  () => z.strictObject({
    server: serverHandle,
    agentSocket: z.string().min(1).max(1024).optional(),
    lifetimeSeconds: z.number().int().min(HANDOFF_LIFETIME.min).max(HANDOFF_LIFETIME.max).default(HANDOFF_LIFETIME.default),
    includeInUserConfig: z.boolean().default(false),
    /**
     * The SSH config that gets the Include line instead of `~/.ssh/config`: Remote-SSH's `remote.SSH.configFile` when
     * the person set one (Remote-SSH then reads that file only). An absolute path.
     */
    userConfigFile: z
      .string()
      .min(2)
      .max(4096)
      .refine((file) => /^(\/|[A-Za-z]:[\\/]|\\\\)/.test(file) && !/[\r\n"]/.test(file), 'an absolute path of an SSH config file')
      .optional(),
    /**
     * A private folder of the client's that lives as long as one session (`zavhoz server ssh`, whose agent ends with
     * it): the Host block, public key and pinned host key go there instead of Zavhoz's SSH config, which keeps the alias
     * it had (and the agent that alias named), so a later plain `ssh zavhoz-<server>` never meets the session's dead
     * agent. An absolute path of a folder of this user that no one else may enter; not with `includeInUserConfig`.
     */
    sessionFolder: z
      .string()
      .min(2)
      .max(4096)
      .refine((folder) => /^(\/|[A-Za-z]:[\\/]|\\\\)/.test(folder) && !/[\r\n"]/.test(folder), 'an absolute path of a folder')
      .optional(),
  }),
  result<RemoteHandedOff>(),
);

/** What `remote/handoff` answers: the alias to connect to and where it is written; never key material. */
export interface RemoteHandedOff {
  readonly server: string;
  /** The SSH host alias: `zavhoz-<server>`. */
  readonly alias: string;
  readonly host: string;
  readonly port: number;
  readonly user: string;
  /** The alias's own config file (in `sessionFolder` when one was given): `ssh -F <hostConfig> <alias>` needs nothing else. */
  readonly hostConfig: string;
  /** Zavhoz's SSH config, which includes every alias; the file `~/.ssh/config` includes. */
  readonly configFile: string;
  /** True when `~/.ssh/config` includes {@link configFile} (it already did, or this request added the line). */
  readonly includedInUserConfig: boolean;
  /** The SSH config file {@link includedInUserConfig} speaks of (`~/.ssh/config`, or the one the request named). */
  readonly userConfigFile?: string;
  /** The agent that holds the key (the client's, or the daemon's own). */
  readonly agentSocket: string;
  /** When the agent forgets the key (ISO time). */
  readonly expiresAt: string;
}
