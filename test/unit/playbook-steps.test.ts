/**
 * A run's steps come from what each playbook task declares (a `step_<name>` tag, reported by the run's callback
 * plugin), never from what the task is called: renaming a task cannot break the steps.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { parse } from 'yaml';
import { childEnvironment, startPlaybook } from '../../daemon/deploy/ansible.js';
import { PLAYBOOK_STEPS, PlaybookProgress, type PlaybookStep, stepOfTag, STEP_TAG_PREFIX } from '../../daemon/deploy/playbookSteps.js';
import { playbooksFolder, RUN_FILES, RunFolder } from '../../daemon/deploy/runFolder.js';

/** A task as the playbook's YAML has it: a name, maybe tags, maybe nested tasks (a block) or an included file. */
interface TaskEntry {
  readonly name?: string;
  readonly tags?: string | string[];
  readonly block?: TaskEntry[];
  readonly rescue?: TaskEntry[];
  readonly always?: TaskEntry[];
  readonly 'ansible.builtin.include_tasks'?: string;
}

/**
 * Every task that runs a module, with the tags it has once its blocks' tags are added (as Ansible does), and the
 * tasks of the files it includes, where they run: those get the tags of the blocks around the include, not the
 * include's own (`include_tasks` passes its own tags on to nothing).
 */
function leafTasks(entries: readonly TaskEntry[], inherited: readonly string[] = []): { name: string; tags: string[] }[] {
  return entries.flatMap((entry) => {
    const tags = [...inherited, ...(typeof entry.tags === 'string' ? [entry.tags] : (entry.tags ?? []))];
    if (entry.block) return [...entry.block, ...(entry.rescue ?? []), ...(entry.always ?? [])].flatMap((child) => leafTasks([child], tags));
    const included = entry['ansible.builtin.include_tasks'];
    const own = { name: entry.name ?? '(unnamed)', tags };
    if (included === undefined) return [own];
    return [own, ...leafTasks(parse(fs.readFileSync(path.join(playbooksFolder(), included), 'utf8')) as TaskEntry[], inherited)];
  });
}

/** What a PlaybookProgress reported, as `step:status:detail` strings. */
function recorder(): { reports: string[]; progress: PlaybookProgress } {
  const reports: string[] = [];
  const progress = new PlaybookProgress((step, status, detail) => reports.push(`${step}:${status}:${detail ?? ''}`));
  return { reports, progress };
}

function event(task: string, step: PlaybookStep | null, kind = 'start', ignored = false): string {
  return `ZAVHOZ_EVENT ${JSON.stringify({ event: kind, task, step, ignored })}`;
}

describe('playbook steps', () => {
  test('every task of deploy_project.yml and of the files it includes declares exactly one step the daemon knows, in the order of the steps', () => {
    const plays = parse(fs.readFileSync(path.join(playbooksFolder(), RUN_FILES.playbook), 'utf8')) as { tasks?: TaskEntry[]; handlers?: TaskEntry[] }[];
    const tasks = plays.flatMap((play) => leafTasks([...(play.tasks ?? []), ...(play.handlers ?? [])]));
    assert.ok(tasks.length >= 8, `the playbook's tasks were found (${tasks.length})`);
    let previous = 0;
    for (const task of tasks) {
      const declared = task.tags.filter((tag) => tag.startsWith(STEP_TAG_PREFIX));
      assert.equal(declared.length, 1, `task "${task.name}" declares one ${STEP_TAG_PREFIX}<name> tag, not ${JSON.stringify(declared)}`);
      const step = stepOfTag(declared[0] ?? '');
      assert.ok(step, `task "${task.name}": ${declared[0]} is one of ${PLAYBOOK_STEPS.map((name) => STEP_TAG_PREFIX + name).join(', ')}`);
      const index = PLAYBOOK_STEPS.indexOf(step);
      assert.ok(index >= previous, `task "${task.name}" (${step}) does not go back to an earlier step`);
      previous = index;
    }
    assert.deepEqual([...new Set(tasks.map((task) => stepOfTag(task.tags.find((tag) => tag.startsWith(STEP_TAG_PREFIX)) ?? '')))], [...PLAYBOOK_STEPS]);
    // The tasks that change what runs on the server roll the release back when they fail, wherever they are included.
    for (const name of ['Start containers', 'Health check of each module']) {
      assert.ok(tasks.find((task) => task.name === name)?.tags.includes('zavhoz_rollback'), `task "${name}" is tagged zavhoz_rollback`);
    }
  });

  test("the run's ansible.cfg enables the plugin, and every run folder gets it beside the playbook", () => {
    const config = fs.readFileSync(path.join(playbooksFolder(), RUN_FILES.config), 'utf8');
    assert.match(config, /^callbacks_enabled = zavhoz_steps$/m);
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'zavhoz-steps-'));
    try {
      const folder = RunFolder.create(root, 'run_plugin');
      assert.equal(fs.readFileSync(folder.file(RUN_FILES.stepsPlugin), 'utf8'), fs.readFileSync(path.join(playbooksFolder(), RUN_FILES.stepsPlugin), 'utf8'));
      folder.removeSecrets();
      assert.ok(folder.has(RUN_FILES.stepsPlugin), 'the plugin is kept with the playbook after the run');
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  test('the step is the declared one, whatever the task is called; event lines stay out of the log', () => {
    const { reports, progress } = recorder();
    assert.equal(progress.take('TASK [Health check http://x] ***'), true, "Ansible's own lines go to the log");
    assert.equal(progress.take(event('Health check http://x', 'playbook')), false, 'event lines are for the daemon only');
    progress.take(event('Probe the app', 'health'));
    progress.take(event('Probe the app', 'health', 'ok'));
    progress.take(event('Undeclared', null));
    assert.deepEqual(reports, ['playbook:running:Health check http://x', 'playbook:succeeded:repository, .env and images ready', 'health:running:Probe the app']);
    assert.equal(progress.failedTask, undefined);
  });

  test("a clean-up task of a later step that runs after a failure does not move the run's step on", () => {
    const { reports, progress } = recorder();
    progress.take(event('Pull images', 'playbook'));
    progress.take(event('Pull images', 'playbook', 'failed'));
    progress.take(event('Remove registry credentials', 'health'));
    progress.take(event('Remove registry credentials', 'health', 'ok'));
    assert.deepEqual(reports, ['playbook:running:Pull images']);
    assert.equal(progress.failedTask?.task, 'Pull images');
  });

  test('the first failure that is not ignored names its task and, when known, its cause', () => {
    const { progress } = recorder();
    // Read through a call: an assertion on the property would narrow it for the rest of the test.
    const failure = (): PlaybookProgress['failedTask'] => progress.failedTask;
    progress.take(event('Try something', 'playbook'));
    progress.take('fatal: [target]: FAILED! => {"msg": "non-zero return code"}');
    progress.take('...ignoring');
    progress.take(event('Try something', 'playbook', 'failed', true));
    assert.equal(failure(), undefined, 'an ignored failure fails nothing');
    progress.take(event('Fetch the code', 'playbook'));
    progress.take(`fatal: [target]: FAILED! => {"stderr": "fatal: Authentication failed for 'https://git.example.test/a.git/'"}`);
    progress.take(event('Fetch the code', 'playbook', 'failed'));
    progress.take(event('Later', 'playbook', 'failed'));
    assert.equal(failure()?.task, 'Fetch the code');
    assert.match(failure()?.reason ?? '', /^git authentication failed/);
  });

  test('a real ansible-playbook in a run folder reports the declared steps of renamed tasks', async (t) => {
    if (spawnSync('ansible-playbook', ['--version']).error) { t.skip('ansible-playbook is not installed here'); return; }
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'zavhoz-steps-'));
    try {
      const folder = RunFolder.create(root, 'run_steps');
      const inventory = { all: { hosts: { target: { ansible_connection: 'local' } } } };
      folder.writePrivate(RUN_FILES.inventory, JSON.stringify(inventory));
      folder.writePrivate(RUN_FILES.extraVars, '{}');
      folder.writePrivate(
        RUN_FILES.playbook,
        [
          '- name: Steps',
          '  hosts: target',
          '  gather_facts: false',
          '  tasks:',
          '    - name: Health check in name only',
          '      tags: [step_playbook]',
          '      ansible.builtin.debug: { msg: one }',
          '    - name: A block of the health step',
          '      tags: [step_health]',
          '      block:',
          '        - name: Wait for the app',
          '          ansible.builtin.debug: { msg: two }',
          "        - name: Refused",
          "          ansible.builtin.fail: { msg: \"Authentication failed for 'https://git.example.test/a.git/'\" }",
        ].join('\n'),
      );
      const { reports, progress } = recorder();
      const logged: string[] = [];
      const started = startPlaybook(folder, childEnvironment(folder, { runId: 'run_steps', requestId: 'test' }), new AbortController().signal, (line) => {
        if (progress.take(line)) logged.push(line);
      });
      const exit = await started.exited;
      const output = logged.join('\n');
      assert.equal(exit.code, 2, output);
      assert.deepEqual(reports, [
        'playbook:running:Health check in name only',
        'playbook:succeeded:repository, .env and images ready',
        'health:running:Wait for the app',
        'health:running:Refused',
      ]);
      assert.equal(progress.failedTask?.task, 'Refused');
      assert.match(progress.failedTask.reason ?? '', /^git authentication failed/);
      assert.match(output, /TASK \[Wait for the app\]/);
      assert.doesNotMatch(output, /ZAVHOZ_EVENT/);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});
