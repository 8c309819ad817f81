import type { DaemonClient } from '../client/client.js';
import type { RequestDefinition } from '../protocol/define.js';

/** Parsed flags of one command. */
export type Flags = Record<string, string | boolean | string[] | boolean[] | undefined>;

/** What a command gets to work with. */
export interface CommandContext {
  readonly flags: Flags;
  readonly positionals: readonly string[];
  /** True with `--json`: print one JSON document and nothing else on stdout. */
  readonly json: boolean;
  /** Connects to the daemon, starting it if needed (or not, for commands like `daemon stop`). */
  connect(options?: { autoStart?: boolean }): Promise<DaemonClient>;
  /** Reads all of stdin (secret values come this way, never through argv). */
  readStdin(): Promise<string>;
  /** True when stdin is a terminal: a secret value is then typed at a hidden prompt, not piped. */
  readonly interactive: boolean;
  /**
   * Asks for a secret value at a prompt that echoes nothing (stdin must be a terminal); with `confirm`, asks twice and
   * refuses two different answers.
   */
  promptSecret(label: string, options?: { confirm?: boolean }): Promise<string>;
  /** Prints a result: JSON with `--json`, else the human form. */
  print(value: unknown, human: () => string): void;
  /** The data folder this CLI talks to. */
  readonly folder: string;
}

/** One flag of a command: how `util.parseArgs` reads it, and what `--help` says about it. */
export interface CommandOption {
  readonly type: 'string' | 'boolean';
  readonly multiple?: boolean;
  readonly short?: string;
  /** One line for `--help`: what the flag does. */
  readonly description: string;
  /** The placeholder shown after a string flag in `--help` (`--project P`); `VALUE` when left out. */
  readonly value?: string;
  /** The values the flag accepts, when it is a fixed list: shell completion offers them. */
  readonly choices?: readonly string[];
}

/** One `zavhoz <area> <verb>` command. */
export interface Command {
  readonly path: readonly string[];
  /** The synopsis: `zavhoz secret get HANDLE [--json]`. */
  readonly usage: string;
  /** One sentence: what the command does. */
  readonly summary: string;
  /** Whole command lines a user can copy, for `--help`; at least one. */
  readonly examples: readonly string[];
  readonly options?: Readonly<Record<string, CommandOption>>;
  /** What shell completion offers for the positional arguments: file names, or fixed words; nothing when left out. */
  readonly complete?: 'file' | readonly string[];
  /** Smallest and largest number of positional arguments. */
  readonly positionals?: readonly [min: number, max: number];
  // eslint-disable-next-line @typescript-eslint/no-invalid-void-type -- a command that returns nothing exits 0, without a `return undefined`
  run(context: CommandContext): Promise<number | void>;
}

/** An error meant for the user, printed as one line; `exitCode` 2 means bad usage. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

/** Reads a string flag. */
export function stringFlag(flags: Flags, name: string): string | undefined {
  const value = flags[name];
  return typeof value === 'string' ? value : undefined;
}

/** Reads a repeatable string flag. */
export function listFlag(flags: Flags, name: string): string[] {
  const value = flags[name];
  if (Array.isArray(value)) return value.filter((item): item is string => typeof item === 'string');
  return typeof value === 'string' ? [value] : [];
}

/** Reads an integer flag, refusing anything else. */
export function integerFlag(flags: Flags, name: string): number | undefined {
  const value = stringFlag(flags, name);
  if (value === undefined) return undefined;
  if (!/^-?\d+$/.test(value)) throw new CliError(`--${name} must be a whole number, got "${value}".`, 2);
  return Number(value);
}

/** Connects, runs `work` with the client, and always closes the connection. */
export async function withClient<T>(context: CommandContext, work: (client: DaemonClient) => Promise<T>): Promise<T> {
  const client = await context.connect();
  try {
    return await work(client);
  } finally {
    client.close();
  }
}

/** Sends one typed request on a connection of its own. */
export function call<P, R>(context: CommandContext, definition: RequestDefinition<P, R>, params: P): Promise<R> {
  return withClient(context, (client) => client.request(definition, params));
}
