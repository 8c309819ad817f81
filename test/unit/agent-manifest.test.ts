/**
 * The agent tool catalogue against what front ends publish: package.json `languageModelTools` (VS Code validates
 * inputs against it before a tool runs) must be the catalogue's schemas exactly, the extension must register every
 * tool, and the tools that change things must say so and ask first.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { AGENT_TOOLS, whenClauseFor } from '../../daemon/agent/catalogue.js';
import { mcpToolList } from '../../daemon/cli/commands/mcp.js';

const root = path.resolve(import.meta.dirname, '../..');

interface LanguageModelToolContribution {
  readonly name: string;
  readonly displayName: string;
  readonly modelDescription: string;
  readonly userDescription: string;
  readonly toolReferenceName: string;
  readonly canBeReferencedInPrompt: boolean;
  readonly inputSchema: unknown;
  readonly when?: string;
}

const manifest = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as {
  readonly contributes: { readonly languageModelTools: readonly LanguageModelToolContribution[] };
};
const contributed = manifest.contributes.languageModelTools;

describe('agent tool catalogue and manifest', () => {
  test('package.json declares exactly the catalogue\'s tools, with its descriptions and input schemas', () => {
    assert.deepEqual(contributed.map((entry) => entry.name), AGENT_TOOLS.map((tool) => tool.name));
    for (const tool of AGENT_TOOLS) {
      const entry = contributed.find((item) => item.name === tool.name);
      assert.ok(entry, tool.name);
      assert.equal(entry.displayName, tool.title, `${tool.name} displayName`);
      assert.equal(entry.modelDescription, tool.description, `${tool.name} modelDescription`);
      assert.deepEqual(entry.inputSchema, JSON.parse(JSON.stringify(tool.inputSchema)), `${tool.name} inputSchema`);
      assert.ok(entry.userDescription.length > 0 && entry.canBeReferencedInPrompt);
      assert.match(entry.toolReferenceName, /^zavhoz[A-Z][A-Za-z]+$/);
    }
  });

  test('each schema names exactly the arguments the tool accepts; handle arguments carry no pattern, so the tool itself refuses values', () => {
    for (const tool of AGENT_TOOLS) {
      const shape = (tool.input as unknown as { shape: Record<string, unknown> }).shape;
      assert.deepEqual(Object.keys(tool.inputSchema.properties).sort(), Object.keys(shape).sort(), tool.name);
      for (const required of tool.inputSchema.required ?? []) assert.ok(required in shape, `${tool.name} requires ${required}`);
      for (const name of [...tool.handleArguments, ...(tool.bindingArguments ?? [])]) {
        const property = tool.inputSchema.properties[name];
        assert.ok(property, `${tool.name}.${name} is published`);
        assert.ok(!('pattern' in property), `${tool.name}.${name} has no pattern`);
        assert.match(property.description, /handle/, `${tool.name}.${name} says it takes a handle`);
      }
    }
  });

  test('tools that change things are marked so, and deploy and push ask the human first', () => {
    const hints = Object.fromEntries(AGENT_TOOLS.map((tool) => [tool.name, tool.hints]));
    const readOnly = AGENT_TOOLS.filter((tool) => tool.hints.readOnlyHint).map((tool) => tool.name);
    assert.deepEqual(readOnly, ['zavhoz_list_managed_servers', 'zavhoz_env_plan', 'zavhoz_deploy_status', 'zavhoz_service_status', 'zavhoz_service_logs']);
    assert.equal(hints.zavhoz_allocate?.idempotentHint, true);
    assert.equal(hints.zavhoz_deploy?.destructiveHint, true);
    assert.equal(hints.zavhoz_push_ci_secrets?.destructiveHint, true);
    const confirmed = AGENT_TOOLS.filter((tool) => tool.confirmation !== undefined).map((tool) => tool.name);
    assert.deepEqual(confirmed, ['zavhoz_deploy', 'zavhoz_push_ci_secrets', 'zavhoz_restart_service', 'zavhoz_rollback']);
    assert.equal(hints.zavhoz_rollback?.destructiveHint, true);
    for (const tool of mcpToolList()) {
      assert.equal(tool.annotations?.readOnlyHint, hints[tool.name]?.readOnlyHint, `${tool.name} MCP annotations`);
    }
  });

  test('chat offers a tool only in the agent modes that allow it: read tools always, the others by their when clause', () => {
    for (const tool of AGENT_TOOLS) {
      const entry = contributed.find((item) => item.name === tool.name);
      assert.equal(entry?.when, whenClauseFor(tool), `${tool.name} when`);
      assert.equal(entry?.when === undefined, tool.mode === 'read-only', `${tool.name}: only read tools are offered in every mode`);
      if (tool.mode === 'read-only') assert.equal(tool.hints.readOnlyHint, true, `${tool.name} in mode read-only changes nothing`);
    }
    const register = fs.readFileSync(path.join(root, 'extension/agentTools/register.ts'), 'utf8');
    assert.match(register, /setContext', AGENT_MODE_CONTEXT_KEY, settings\.agentMode/);
  });

  test('the extension registers every catalogue tool through vscode.lm.registerTool at activation', () => {
    const register = fs.readFileSync(path.join(root, 'extension/agentTools/register.ts'), 'utf8');
    assert.match(register, /for \(const tool of AGENT_TOOLS\)[\s\S]*vscode\.lm\.registerTool/);
    const activation = fs.readFileSync(path.join(root, 'extension/extension.ts'), 'utf8');
    assert.match(activation, /^\s+registerAgentTools\(context, services\);$/m);
  });
});
