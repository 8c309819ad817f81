/**
 * A step's heading stands where the step starts in a run's log: before the banner of the task that starts it, not
 * after it. Ansible prints a task's banner from its stdout callback before the step plugin's start event, so the run
 * log holds a banner back until it knows whether a step starts with it (StepOrderedOutput). Checked with lines as
 * Ansible prints them, with a real ansible-playbook, and in the log document the extension shows.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { childEnvironment, startPlaybook } from '../../daemon/deploy/ansible.js';
import { PlaybookProgress, type PlaybookStep, StepOrderedOutput } from '../../daemon/deploy/playbookSteps.js';
import { RUN_FILES, RunFolder } from '../../daemon/deploy/runFolder.js';
import { RUN_LOG_STEP_PREFIX, type RunDetail, RUN_STEPS } from '../../daemon/protocol/runs.js';
import { runLogText } from '../../extension/model/runLogText.js';

/** A run log as the run driver writes it: playbook lines, and a step line when a step starts. */
function runLog(): { lines: string[]; output: StepOrderedOutput } {
  const lines: string[] = [];
  const begun = new Set<string>();
  const progress = new PlaybookProgress((step, status) => {
    if (status === 'running' && !begun.has(step)) {
      begun.add(step);
      lines.push(`${RUN_LOG_STEP_PREFIX}${step}`);
    }
  });
  return { lines, output: new StepOrderedOutput(progress, (line) => lines.push(line)) };
}

function start(task: string, step: PlaybookStep): string {
  return `ZAVHOZ_EVENT ${JSON.stringify({ event: 'start', task, step, ignored: false })}`;
}

/** The line after each step line, and the one after that. */
function afterStepLines(lines: readonly string[]): string[][] {
  return lines.flatMap((line, index) => (line.startsWith(RUN_LOG_STEP_PREFIX) ? [[line, lines[index + 1] ?? '', lines[index + 2] ?? '']] : []));
}

describe('step headings where the steps start', () => {
  test("each step line comes before the banner of the task that starts the step, Ansible's other lines keep their order", () => {
    const { lines, output } = runLog();
    for (const line of [
      '',
      'PLAY [Deploy] ***',
      '',
      'TASK [Check compose] ***',
      start('Check compose', 'preflight'),
      'ok: [target]',
      '',
      'TASK [Check disk] ***',
      start('Check disk', 'preflight'),
      'ok: [target]',
      '',
      'TASK [Start containers] ***',
      start('Start containers', 'playbook'),
      'changed: [target]',
      '',
      'TASK [Probe] ***',
      '[WARNING]: a line of stderr between banner and event',
      start('Probe', 'health'),
      'ok: [target]',
      '',
      'PLAY RECAP ***',
    ]) {
      output.take(line);
    }
    output.end();
    assert.deepEqual(lines, [
      '',
      'PLAY [Deploy] ***',
      '[zavhoz] step: preflight',
      '',
      'TASK [Check compose] ***',
      'ok: [target]',
      '',
      'TASK [Check disk] ***',
      'ok: [target]',
      '[zavhoz] step: playbook',
      '',
      'TASK [Start containers] ***',
      'changed: [target]',
      '',
      'TASK [Probe] ***',
      '[WARNING]: a line of stderr between banner and event',
      '[zavhoz] step: health',
      'ok: [target]',
      '',
      'PLAY RECAP ***',
    ]);
  });

  test('in the log document, a step heading stands right above the banner of its first task', () => {
    const { lines, output } = runLog();
    for (const line of ['', 'TASK [Check compose] ***', start('Check compose', 'preflight'), 'ok: [target]', '', 'TASK [Start] ***', start('Start', 'playbook'), 'changed: [target]']) output.take(line);
    output.end();
    const run = {
      id: 'run_order00001',
      kind: 'deploy',
      project: 'shop',
      repository: 'acme/shop',
      ref: 'main',
      status: 'running',
      client: 'vscode',
      createdAt: '2026-12-07T06:00:00Z',
      startedAt: '2026-12-07T06:00:00Z',
      finishedAt: null,
      error: null,
      allocation: null,
      steps: RUN_STEPS.map((name) => ({ name, status: name === 'playbook' ? 'running' : name === 'preflight' ? 'succeeded' : 'pending', startedAt: '2026-12-07T06:00:00Z' })),
    } as unknown as RunDetail;
    const text = runLogText(run.id, run, lines, new Date('2026-12-07T06:01:00Z')).text.split('\n');
    const preflight = text.findIndex((line) => line.includes('Pre-flight') || line.startsWith('✓ '));
    const playbook = text.findIndex((line) => line.startsWith('▶ '));
    assert.ok(preflight > 0 && playbook > preflight, text.join('\n'));
    assert.deepEqual(text.slice(preflight + 1, preflight + 3), ['', 'TASK [Check compose] ***']);
    assert.deepEqual(text.slice(playbook + 1, playbook + 3), ['', 'TASK [Start] ***']);
  });

  test('with a real ansible-playbook, every step line is followed by the banner of the task that started the step', async (t) => {
    if (spawnSync('ansible-playbook', ['--version']).error) {
      t.skip('ansible-playbook is not installed here');
      return;
    }
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'zavhoz-step-order-'));
    try {
      const folder = RunFolder.create(root, 'run_order');
      folder.writePrivate(RUN_FILES.inventory, JSON.stringify({ all: { hosts: { target: { ansible_connection: 'local' } } } }));
      folder.writePrivate(RUN_FILES.extraVars, '{}');
      folder.writePrivate(
        RUN_FILES.playbook,
        [
          '- name: Steps',
          '  hosts: target',
          '  gather_facts: false',
          '  tasks:',
          '    - name: First check',
          '      tags: [step_preflight]',
          '      ansible.builtin.debug: { msg: one }',
          '    - name: Second check',
          '      tags: [step_preflight]',
          '      ansible.builtin.debug: { msg: two }',
          '    - name: Start the app',
          '      tags: [step_playbook]',
          '      ansible.builtin.debug: { msg: three }',
          '    - name: Probe the app',
          '      tags: [step_health]',
          '      ansible.builtin.debug: { msg: four }',
        ].join('\n'),
      );
      const { lines, output } = runLog();
      const started = startPlaybook(folder, childEnvironment(folder, { runId: 'run_order', requestId: 'test' }), new AbortController().signal, (line) => output.take(line));
      const exit = await started.exited;
      output.end();
      assert.equal(exit.code, 0, lines.join('\n'));
      const after = afterStepLines(lines);
      assert.deepEqual(
        after.map(([step, blank, banner]) => [step, blank, banner?.replace(/ \*+$/, '')]),
        [
          ['[zavhoz] step: preflight', '', 'TASK [First check]'],
          ['[zavhoz] step: playbook', '', 'TASK [Start the app]'],
          ['[zavhoz] step: health', '', 'TASK [Probe the app]'],
        ],
        lines.join('\n'),
      );
      assert.equal(lines.filter((line) => line.startsWith('TASK [')).length, 4, 'no banner is lost');
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});
