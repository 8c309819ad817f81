/**
 * Agent modes as the catalogue applies them: which tools each mode lists, what a refusal tells the human to do, and
 * how the CLI reads a grant's duration.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AGENT_TOOLS, whenClauseFor } from '../../daemon/agent/catalogue.js';
import { modeRefusal, toolsFor } from '../../daemon/agent/modes.js';
import { parseTtl } from '../../daemon/cli/commands/agent.js';
import { CliError } from '../../daemon/cli/command.js';
import { mcpToolList } from '../../daemon/cli/commands/mcp.js';
import { AGENT_MODES, commandLineText, lowerMode, modeAllows } from '../../daemon/protocol/agent.js';

const names = (mode: (typeof AGENT_MODES)[number]): string[] => toolsFor(AGENT_TOOLS, mode).map((tool) => tool.name);

describe('agent modes', () => {
  test('each mode lists what the one below it lists, and more; read-only lists only tools that change nothing', () => {
    assert.deepEqual(names('read-only'), ['zavhoz_list_managed_servers', 'zavhoz_env_plan', 'zavhoz_deploy_status', 'zavhoz_service_status', 'zavhoz_service_logs']);
    assert.deepEqual(
      names('operate').filter((name) => !names('read-only').includes(name)),
      ['zavhoz_request_secret', 'zavhoz_restart_service', 'zavhoz_exec_with_secrets'],
    );
    assert.deepEqual(names('deploy'), AGENT_TOOLS.map((tool) => tool.name));
    for (const tool of mcpToolList(toolsFor(AGENT_TOOLS, 'read-only'))) {
      assert.equal(tool.annotations?.readOnlyHint, true, tool.name);
      assert.notEqual(tool.annotations.destructiveHint, true, tool.name);
    }
    // Every tool that changes something needs more than read-only.
    for (const tool of AGENT_TOOLS.filter((item) => !item.hints.readOnlyHint)) assert.notEqual(tool.mode, 'read-only', tool.name);
  });

  test('modes order and cap as they should', () => {
    assert.ok(modeAllows('deploy', 'operate') && modeAllows('operate', 'operate') && !modeAllows('read-only', 'operate'));
    assert.equal(lowerMode('deploy', 'read-only'), 'read-only');
    assert.equal(lowerMode('read-only', 'deploy'), 'read-only');
    assert.equal(whenClauseFor({ mode: 'operate' }), "zavhoz.agentMode == 'operate' || zavhoz.agentMode == 'deploy'");
    assert.equal(whenClauseFor({ mode: 'read-only' }), undefined);
  });

  test('a refusal names the setting and value that allow the tool, or the --read-only flag that holds it back', () => {
    const deploy = { name: 'zavhoz_deploy', mode: 'deploy' } as const;
    assert.equal(modeRefusal(deploy, { mode: 'deploy', limited: false }), undefined);
    assert.match(modeRefusal(deploy, { mode: 'operate', limited: false }) ?? '', /zavhoz config set agentMode deploy$/);
    assert.match(modeRefusal(deploy, { mode: 'read-only', limited: true }) ?? '', /started with --read-only/);
  });

  test('grant durations and command lines as people type them', () => {
    assert.equal(parseTtl('90s'), 90);
    assert.equal(parseTtl('2h'), 7200);
    assert.equal(parseTtl('7d'), 604_800);
    for (const bad of ['2', '2w', '0s', '-1h', '91d', '']) assert.throws(() => parseTtl(bad), CliError, bad);
    assert.equal(commandLineText(['npm', 'run', 'migrate']), 'npm run migrate');
    assert.equal(commandLineText(['sh', '-c', "echo 'hi' there"]), "sh -c 'echo '\\''hi'\\'' there'");
  });
});
