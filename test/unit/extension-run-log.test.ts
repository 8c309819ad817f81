/**
 * A run's log document reads like a report: what was deployed where and how it ended, the steps with how long
 * each took and the failed one marked, then the log, with the lines that report a failure found for highlighting.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { RunDetail } from '../../daemon/protocol/runs.js';
import { isFailureLine, runLogText } from '../../extension/model/runLogText.js';

const now = new Date('2026-12-06T12:00:00Z');
const at = (seconds: number): string => new Date(now.getTime() - seconds * 1000).toISOString();

function run(changes: Partial<RunDetail> = {}): RunDetail {
  return {
    id: 'run_abcdefghij',
    project: 'shop',
    kind: 'deploy',
    releaseId: null,
    rollbackTo: null,
    status: 'failed',
    repository: 'me/shop',
    ref: 'main',
    createdAt: at(100),
    startedAt: at(95),
    finishedAt: at(10),
    exitCode: 2,
    error: 'The health check of web got no answer on port 8001 within 60 s. Look at its logs (Show Service Logs).',
    allocation: { server: 'vps_1', host: '203.0.113.10', port: 8000, modulePorts: {} },
    client: 'vscode',
    requestId: 'vscode-1',
    steps: [
      { name: 'allocate', status: 'succeeded', startedAt: at(95), finishedAt: at(94) },
      { name: 'plan', status: 'succeeded', startedAt: at(94), finishedAt: at(93) },
      { name: 'playbook', status: 'succeeded', startedAt: at(93), finishedAt: at(30) },
      { name: 'health', status: 'failed', startedAt: at(30), finishedAt: at(10), detail: 'no answer on port 8001' },
    ],
    plan: null,
    folder: '/tmp/run',
    timeoutSeconds: 1800,
    attempts: 1,
    ...changes,
  };
}

describe('run log document', () => {
  test('a failed run: heading, the failure and its step, the steps with durations, then the log', () => {
    const lines = ['PLAY [deploy] ***', 'TASK [health] ***', 'fatal: [vps_1]: FAILED! => {"msg": "timeout"}', 'PLAY RECAP ***'];
    const shown = runLogText('run_abcdefghij', run(), lines, now);
    const text = shown.text.split('\n');
    assert.equal(text[0], 'Deploy of shop from me/shop@main on vps_1 (203.0.113.10)');
    assert.equal(text[1], 'Failed after 1:25 · run_abcdefghij · started by vscode');
    assert.match(text[2] ?? '', /^✗ Failed at "Health check": The health check of web got no answer/);
    assert.equal(text[shown.stepsLine ?? -1], 'Steps');
    assert.match(shown.text, /^ {2}✓ Run playbook +1:03$/m);
    const failedStep = text.findIndex((line) => line.startsWith('  ✗ Health check'));
    assert.match(text[failedStep] ?? '', /0:20 {2}no answer on port 8001$/);
    const fatal = text.indexOf(lines[2] ?? '');
    assert.deepEqual(shown.failureLines, [2, failedStep, fatal]);
    assert.ok(text.indexOf('Log') > failedStep && text.indexOf('Log') < fatal);
  });

  test('step headings stand inside the log where each step starts; no section of steps above it', () => {
    const lines = ['[zavhoz] run run_abcdefghij: deploy shop', '[zavhoz] step: allocate', '[zavhoz] target vps_1', '[zavhoz] step: plan', '[zavhoz] step: playbook', 'PLAY [deploy] ***', '[zavhoz] step: health', 'fatal: [vps_1]: FAILED! => {"msg": "timeout"}'];
    const shown = runLogText('run_abcdefghij', run(), lines, now);
    const text = shown.text.split('\n');
    assert.ok(!text.includes('Steps'), 'no Steps section');
    assert.ok(!shown.text.includes('[zavhoz] step:'), 'the step lines became headings');
    const log = text.indexOf('Log');
    const heading = (title: string): number => text.findIndex((line) => line.startsWith(`✓ ${title}`) || line.startsWith(`✗ ${title}`));
    assert.equal(text[heading('Allocate server and ports') - 1], '', 'a blank line before each heading');
    assert.ok(log < heading('Allocate server and ports') && heading('Allocate server and ports') < text.indexOf('[zavhoz] target vps_1'));
    assert.equal(text[heading('Run playbook')], '✓ Run playbook  1:03');
    assert.equal(text[heading('Run playbook') + 1], 'PLAY [deploy] ***');
    assert.equal(text[heading('Health check')], '✗ Health check  0:20  no answer on port 8001');
    assert.equal(shown.stepsLine, heading('Allocate server and ports'));
    assert.deepEqual(shown.failureLines, [2, heading('Health check'), text.indexOf(lines[7] ?? '')]);
  });

  test('a running run shows the time so far and the step running now; nothing is marked as failed', () => {
    const shown = runLogText('run_abcdefghij', run({ status: 'running', finishedAt: null, error: null, steps: [
      { name: 'allocate', status: 'succeeded', startedAt: at(95), finishedAt: at(94) },
      { name: 'playbook', status: 'running', startedAt: at(94), detail: 'TASK [pull images]' },
      { name: 'health', status: 'pending' },
    ] }), [], now);
    assert.match(shown.text, /^Running, 1:35 so far · /m);
    assert.match(shown.text, /^ {2}▶ Run playbook +1:34 {2}TASK \[pull images\]$/m);
    assert.match(shown.text, /^ {2}· Health check +pending$/m);
    assert.match(shown.text, /\(waiting for output…\)/);
    assert.deepEqual(shown.failureLines, []);
  });

  test('before the daemon answers about the run, the id and the log', () => {
    const shown = runLogText('run_abcdefghij', undefined, ['[zavhoz] run run_abcdefghij: deploy shop'], now);
    assert.equal(shown.text, 'Deploy run_abcdefghij\n\nLog\n[zavhoz] run run_abcdefghij: deploy shop\n');
    assert.equal(shown.stepsLine, undefined);
  });

  test("Ansible's and the daemon's failure lines are recognised, ordinary ones are not", () => {
    for (const line of ['fatal: [web]: UNREACHABLE!', 'failed: [web] (item=x) => {"msg": "FAILED!"}', '[zavhoz] run failed: health', 'ERROR! the playbook could not be read']) {
      assert.ok(isFailureLine(line), line);
    }
    for (const line of ['ok: [web]', 'TASK [restart failed containers] ***', 'PLAY RECAP ***', 'web : ok=5 changed=1 failed=0']) assert.ok(!isFailureLine(line), line);
  });
});
