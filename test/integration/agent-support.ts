/**
 * Shared set-up of the agent tool tests: an MCP client from the SDK itself, talking to `node dist/cli.cjs mcp`
 * over stdio with the test daemon's environment, and helpers that keep every tool answer for the canary scan.
 */
import assert from 'node:assert/strict';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { CLI_SCRIPT, type TestDaemon } from '../harness/daemon.js';

/** What a tool call answered. */
export interface ToolAnswer {
  readonly text: string;
  readonly isError: boolean;
}

/** An MCP session with `zavhoz mcp`, keeping every answer and the server's stderr. */
export interface McpSession {
  readonly client: Client;
  /** Every tool answer so far (text), for the canary scan. */
  readonly answers: string[];
  /** Everything the server wrote to stderr so far. */
  stderr(): string;
  /** Protocol errors the client saw (a stray line on the server's stdout would be one). */
  readonly protocolErrors: string[];
  call(name: string, args: Record<string, unknown>): Promise<ToolAnswer>;
  close(): Promise<void>;
}

/** Starts `zavhoz mcp --folder FOLDER [extra…]` against the test daemon and connects the SDK's client to it. */
export async function startMcp(daemon: Pick<TestDaemon, 'env'>, folder: string, options: { readonly extra?: readonly string[]; readonly client?: Client } = {}): Promise<McpSession> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(daemon.env)) if (value !== undefined) env[key] = value;
  const transport = new StdioClientTransport({ command: process.execPath, args: [CLI_SCRIPT, 'mcp', '--folder', folder, ...(options.extra ?? [])], env, stderr: 'pipe' });
  let stderr = '';
  transport.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const client = options.client ?? new Client({ name: 'zavhoz-agent-test', version: '1.0.0' });
  const protocolErrors: string[] = [];
  client.onerror = (error) => protocolErrors.push(error.message);
  await client.connect(transport);
  const answers: string[] = [];
  return {
    client,
    answers,
    protocolErrors,
    stderr: () => stderr,
    async call(name, args) {
      const result = await client.callTool({ name, arguments: args }, undefined, { timeout: 120_000 });
      const content = result.content as { type: string; text?: string }[];
      assert.ok(Array.isArray(content) && content.every((part) => part.type === 'text'), `${name} answers with text only`);
      const text = content.map((part) => part.text ?? '').join('\n');
      answers.push(text);
      return { text, isError: result.isError === true };
    },
    close: () => client.close(),
  };
}

/** The value of a `label: value` line of a tool answer. */
export function field(text: string, label: string): string | undefined {
  return new RegExp(`^${label}: (.*)$`, 'm').exec(text)?.[1];
}

/** Fails if any of `values` occurs in `text`, naming where. */
export function assertNoCanary(where: string, text: string, values: ReadonlyMap<string, string>): void {
  for (const [label, value] of values) {
    for (const form of [value, ...value.split('\n').filter((line) => line.length >= 16 && !line.startsWith('-----'))]) {
      assert.ok(!text.includes(form), `${label} occurs in ${where}`);
    }
  }
}
