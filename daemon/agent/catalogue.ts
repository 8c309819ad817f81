import { AGENT_CLIENT_NAME } from '../protocol/agentLimits.js';
import { CancellationTokenSource } from 'vscode-jsonrpc';
import { newClientRequestId } from '../client/client.js';
import { AGENT_MODES, AgentToolCalled, modeAllows } from '../protocol/agent.js';
import { readAddressView } from './addresses.js';
import { argumentNames, auditLines, describeInvalid, guardArguments } from './arguments.js';
import { describeToolError } from './format.js';
import { currentMode, modeRefusal, toolsFor } from './modes.js';
import { type AddressView, type AgentEnvironment, type AgentTool, type ToolCall, type ToolConfirmation, ToolRefusal } from './tool.js';
import { deployStatusTool, deployTool } from './tools/deploy.js';
import { execWithSecretsTool } from './tools/exec.js';
import { pushCiSecretsTool } from './tools/github.js';
import { allocateTool, listManagedServersTool } from './tools/inventory.js';
import { envPlanTool, requestSecretTool } from './tools/secrets.js';
import { restartServiceTool, rollbackTool, serviceLogsTool, serviceStatusTool } from './tools/services.js';

/** Every agent tool, in the order front ends list them. */
export const AGENT_TOOLS: readonly AgentTool[] = [
  listManagedServersTool,
  allocateTool,
  envPlanTool,
  requestSecretTool,
  deployTool,
  deployStatusTool,
  pushCiSecretsTool,
  serviceStatusTool,
  serviceLogsTool,
  restartServiceTool,
  rollbackTool,
  execWithSecretsTool,
];

/** The VS Code context key that holds the agent mode; package.json `when` clauses of the tools read it. */
export const AGENT_MODE_CONTEXT_KEY = 'zavhoz.agentMode';

/** The `when` clause of a tool in package.json: true in the modes that allow the tool; none for read tools. */
export function whenClauseFor(tool: Pick<AgentTool, 'mode'>): string | undefined {
  const modes = AGENT_MODES.filter((mode) => modeAllows(mode, tool.mode));
  if (modes.length === AGENT_MODES.length) return undefined;
  return modes.map((mode) => `${AGENT_MODE_CONTEXT_KEY} == '${mode}'`).join(' || ');
}

/** The tools an agent of this front end sees now: those its mode allows (the setting `agentMode`, capped by the front end's limit). */
export async function toolsForAgent(environment: AgentEnvironment): Promise<AgentTool[]> {
  return toolsFor(AGENT_TOOLS, (await currentMode(environment)).mode);
}

/** A tool by name. */
export function findTool(name: string): AgentTool | undefined {
  return AGENT_TOOLS.find((tool) => tool.name === name);
}

/** What a tool call answers: text for the model, and whether it is an error (refusal or failure). */
export interface ToolOutcome {
  readonly text: string;
  readonly isError: boolean;
}

/** Client name the agent front ends connect to the daemon with, so the audit log says "agent" (and the daemon limits it). */
export { AGENT_CLIENT_NAME };

function newCall(environment: AgentEnvironment, signal: AbortSignal): ToolCall {
  const requestId = newClientRequestId(AGENT_CLIENT_NAME);
  const source = new CancellationTokenSource();
  if (signal.aborted) source.cancel();
  else signal.addEventListener('abort', () => source.cancel(), { once: true });
  let view: Promise<AddressView> | undefined;
  const call: ToolCall = {
    environment,
    requestId,
    signal,
    request: (definition, params) => environment.daemon.request(definition, params, { token: source.token, requestId }),
    addresses: () => (view ??= readAddressView(call)),
  };
  return call;
}

/** The one way out of the catalogue: every answer, refusal, error and confirmation is written through the call's address view. */
async function hidden<T extends { readonly text?: string; readonly title?: string; readonly message?: string }>(outcome: T, call: ToolCall): Promise<T> {
  const view = await call.addresses();
  const copy: Record<string, unknown> = { ...outcome };
  for (const key of ['text', 'title', 'message'] as const) {
    const value = outcome[key];
    if (typeof value === 'string') copy[key] = view.hide(value);
  }
  return copy as T;
}

function modeLimitOf(environment: AgentEnvironment): Pick<AgentEnvironment, 'modeLimit'> {
  return environment.modeLimit === undefined ? {} : { modeLimit: environment.modeLimit };
}

/** Guard, then schema: the input as the tool's handler takes it, or the refusal the model is told. */
function checkInput(tool: AgentTool, raw: unknown): { ok: true; input: unknown } | { ok: false; message: string } {
  const verdict = guardArguments(tool, raw ?? {});
  if (!verdict.ok) return verdict;
  const parsed = tool.input.safeParse(raw ?? {});
  if (!parsed.success) return { ok: false, message: `Invalid arguments for ${tool.name}: ${describeInvalid(parsed.error)}.` };
  return { ok: true, input: parsed.data };
}

/**
 * Runs one tool call from either front end: the secret guard and the schema first (nothing that fails them is
 * sent anywhere but the audit log, and then by argument name only), the agent mode, the tool's own policy, an audit entry under
 * the `agent` client, then the work. Failures become text the model can act on, never exceptions.
 */
export async function runTool(name: string, raw: unknown, environment: AgentEnvironment, signal: AbortSignal): Promise<ToolOutcome> {
  const call = newCall(environment, signal);
  return hidden(await runUnhidden(name, raw, call), call);
}

async function runUnhidden(name: string, raw: unknown, call: ToolCall): Promise<ToolOutcome> {
  const tool = findTool(name);
  if (!tool) return { isError: true, text: `Unknown tool ${name}. Zavhoz tools: ${AGENT_TOOLS.map((item) => item.name).join(', ')}.` };
  const audit = (outcome: 'called' | 'refused', lines: string[], reason?: string): Promise<unknown> =>
    call.request(AgentToolCalled, { tool: tool.name, outcome, arguments: lines, ...(reason === undefined ? {} : { reason: reason.slice(0, 500) }) });
  try {
    const checked = checkInput(tool, raw);
    if (!checked.ok) {
      await audit('refused', argumentNames(raw), checked.message);
      return { isError: true, text: checked.message };
    }
    const refusedByMode = modeRefusal(tool, await currentMode({ daemon: { request: (definition, params) => call.request(definition, params) }, ...modeLimitOf(call.environment) }));
    if (refusedByMode !== undefined) {
      await audit('refused', auditLines(raw), refusedByMode);
      return { isError: true, text: refusedByMode };
    }
    try {
      await tool.authorize?.(checked.input, call);
    } catch (error) {
      if (!(error instanceof ToolRefusal)) throw error;
      await audit('refused', auditLines(raw), error.message);
      return { isError: true, text: error.message };
    }
    await audit('called', auditLines(raw));
    return { isError: false, text: await tool.run(checked.input, call) };
  } catch (error) {
    return { isError: true, text: describeToolError(error) };
  }
}

/**
 * The confirmation the human answers before a tool that changes things runs (VS Code `prepareInvocation`). Reads
 * only. Undefined for read-only tools, and for input the tool will refuse anyway (the refusal then explains).
 */
export async function confirmationFor(
  name: string,
  raw: unknown,
  environment: AgentEnvironment,
  signal: AbortSignal,
): Promise<ToolConfirmation | undefined> {
  const tool = findTool(name);
  if (!tool?.confirmation) return undefined;
  const checked = checkInput(tool, raw);
  if (!checked.ok) return undefined;
  const call = newCall(environment, signal);
  try {
    // A call the mode refuses is not confirmed: the refusal explains.
    if (modeRefusal(tool, await currentMode({ daemon: { request: (definition, params) => call.request(definition, params) }, ...modeLimitOf(environment) }))) return undefined;
    return await hidden(await tool.confirmation(checked.input, call), call);
  } catch (error) {
    // A tool that changes things is always confirmed, even when the details could not be read.
    return hidden({ title: `${tool.title}?`, message: `Zavhoz could not read the details of this call (${describeToolError(error)}). Run it anyway?` }, call);
  }
}
