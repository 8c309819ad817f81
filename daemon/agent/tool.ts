import type { CancellationToken } from 'vscode-jsonrpc';
import type * as z from 'zod';
import type { AgentMode } from '../protocol/agent.js';
import type { RequestDefinition, RequestParams } from '../protocol/define.js';
import type { SecretsSet } from '../protocol/secrets.js';

/**
 * The shape of an agent tool, shared by the two front ends (`zavhoz mcp` and the VS Code language model tools):
 * a name, a description for the model, a JSON schema for its input, hints about what it changes, and a handler that
 * talks to the daemon and answers with small structured text (names, handles, servers, ports, statuses).
 */

/** What a tool needs from the daemon connection: typed requests. A `DaemonClient` is one. */
export interface AgentDaemon {
  request<P, R>(definition: RequestDefinition<P, R>, params: P, options?: { token?: CancellationToken; requestId?: string }): Promise<R>;
}

/** Which front end runs the tool: MCP clients may not ask the human anything; VS Code asks through its UI. */
export type FrontEnd = 'mcp' | 'vscode';

/** Defaults the front end knows from where it runs (the workspace folder, its GitHub remote, its settings). */
export interface AgentDefaults {
  /** Absolute path of the project folder tools read env templates and compose files from. */
  readonly folder?: string;
  /** `OWNER/NAME` of the folder's GitHub repository. */
  readonly repository?: string;
  /** Where servers clone from instead of GitHub. */
  readonly repoUrl?: string;
  /** Vault handle of a clone token. */
  readonly gitToken?: string;
}

/** What `zavhoz_request_secret` asks the human for: a name and a type (as `secrets/set` takes them), never a value. */
export type SecretAsk = Readonly<Pick<RequestParams<typeof SecretsSet>, 'name' | 'type' | 'project' | 'category'>>;

/** The human's answer: the handle of what they saved, or that they closed the form. */
export type SecretAnswer = { readonly kind: 'saved'; readonly handle: string; readonly name: string } | { readonly kind: 'declined' };

/** What the human is asked before an agent runs a new command line with a project's secrets: names only. */
export interface CommandAsk {
  readonly project: string;
  readonly command: readonly string[];
  readonly folder: string;
  /** Names of the project's secrets the command gets in its environment. */
  readonly secrets: readonly string[];
}

/** How a front end asks the human to approve a command line, and where (recorded with the approval). */
export interface CommandConfirmer {
  readonly through: 'vscode-modal' | 'mcp-elicitation';
  /** `unavailable`: nobody can be asked here (an MCP client without elicitation). */
  ask(ask: CommandAsk, signal: AbortSignal): Promise<'approved' | 'declined' | 'unavailable'>;
}

/** The front end around a tool call. */
export interface AgentEnvironment {
  readonly daemon: AgentDaemon;
  readonly frontEnd: FrontEnd;
  readonly defaults: AgentDefaults;
  /** Opens a form where the human types the value (VS Code); absent where nobody can be asked (MCP). */
  readonly askHuman?: (ask: SecretAsk, signal: AbortSignal) => Promise<SecretAnswer>;
  /**
   * The most this front end lets agents do, whatever the `agentMode` setting says (`zavhoz mcp --read-only` sets
   * `read-only`). Absent: the setting alone decides.
   */
  readonly modeLimit?: AgentMode;
  /** Asks the human to approve a new command line (VS Code modal, MCP elicitation); absent where nobody can be asked. */
  readonly confirmCommand?: CommandConfirmer;
}

/**
 * How servers appear to the agent in one call (see `addresses.ts`): by handle, their addresses, SSH users, ports and
 * key handles written out of every text, unless the human set `agentSeesAddresses`.
 */
export interface AddressView {
  /** True when the human lets agents see server addresses. */
  readonly shown: boolean;
  /** The text with every server address (and `user@`, SSH port, SSH key handle) replaced by the server's handle. */
  hide(text: string): string;
}

/** One call of a tool: its environment, the request id every daemon request of the call carries, cancellation. */
export interface ToolCall {
  readonly environment: AgentEnvironment;
  readonly requestId: string;
  readonly signal: AbortSignal;
  /** Sends a daemon request as part of this call (same request id, cancelled with the call). */
  request<P, R>(definition: RequestDefinition<P, R>, params: P): Promise<R>;
  /** The call's view of server addresses, read once per call. Tools leave out what it hides; the catalogue enforces it. */
  addresses(): Promise<AddressView>;
}

/** MCP tool annotations (the VS Code front end shows confirmations for the same tools that change things). */
export interface ToolHints {
  readonly readOnlyHint: boolean;
  readonly destructiveHint?: boolean;
  readonly idempotentHint?: boolean;
  readonly openWorldHint: boolean;
}

/** A JSON schema property as the tools publish it. Handle arguments carry no `pattern`: the tool refuses them itself, with a message that says what to do. */
export interface JsonSchemaProperty {
  readonly type: 'string' | 'integer' | 'boolean' | 'array' | 'object';
  readonly description: string;
  readonly enum?: readonly string[];
  readonly items?: { readonly type: 'string' };
  readonly additionalProperties?: { readonly type: 'string' };
  readonly minimum?: number;
  readonly maximum?: number;
}

/** A tool's input schema: an object with named properties. */
export interface JsonSchemaObject {
  readonly type: 'object';
  readonly properties: Readonly<Record<string, JsonSchemaProperty>>;
  readonly required?: readonly string[];
  readonly additionalProperties: false;
}

/** A confirmation the human answers before a tool changes something (VS Code `prepareInvocation`). */
export interface ToolConfirmation {
  readonly title: string;
  /** Markdown. */
  readonly message: string;
}

/** One agent tool. */
export interface AgentTool<I = unknown> {
  readonly name: string;
  /** Short title for people (VS Code display name, MCP title). */
  readonly title: string;
  /** What the model reads to decide when to call it. */
  readonly description: string;
  readonly inputSchema: JsonSchemaObject;
  readonly hints: ToolHints;
  /** The least agent mode (setting `agentMode`) that lists and allows the tool. */
  readonly mode: AgentMode;
  /** Arguments (top-level keys) that take a vault handle and nothing else. */
  readonly handleArguments: readonly string[];
  /** Arguments that are maps of variable name → handle. */
  readonly bindingArguments?: readonly string[];
  /** Validates the input once the secret guard passed it. */
  readonly input: z.ZodType<I>;
  /** Refuses a call the front end must not make (e.g. MCP deploys the human did not allow); throws {@link ToolRefusal}. */
  authorize?(input: I, call: ToolCall): Promise<void>;
  /** What the human is asked before the call runs (VS Code); tools that only read have none. */
  confirmation?(input: I, call: ToolCall): Promise<ToolConfirmation>;
  /** Does the work and answers with text for the model. */
  run(input: I, call: ToolCall): Promise<string>;
}

/** A call the tool will not make, with the reason the model is told. */
export class ToolRefusal extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ToolRefusal';
  }
}

/** Declares a tool with its input type inferred from its schema. */
export function defineTool<S extends z.ZodType>(tool: AgentTool<z.infer<S>> & { readonly input: S }): AgentTool<z.infer<S>> {
  return tool;
}
