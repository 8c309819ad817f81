/** What a failed run says: the task, and the cause in the user's terms when Ansible's output shows one we know. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { explainTaskFailure, playbookOutcome } from '../../daemon/deploy/outcome.js';

test('a refused git token is named as such, with what to do', () => {
  const line = `fatal: [target]: FAILED! => {"msg": "Failed to checkout main", "stderr": "fatal: Authentication failed for 'https://git.example.test/acme/shop.git/'"}`;
  const reason = explainTaskFailure(line);
  assert.match(reason ?? '', /^git authentication failed: the repository refused the git token\..*zavhoz secret rotate HANDLE/);
  const outcome = playbookOutcome('run_1', 2, 'Clone or update the repository', reason);
  assert.equal(outcome.status, 'failed');
  assert.match(outcome.error ?? '', /^The task "Clone or update the repository" failed \(ansible-playbook exit 2\): git authentication failed.*zavhoz run log run_1$/);
});

test('a private repository deployed without a token says to pass --git-token', () => {
  const line = `fatal: [target]: FAILED! => {"stderr": "fatal: could not read Username for 'https://git.example.test': terminal prompts disabled"}`;
  assert.match(explainTaskFailure(line) ?? '', /none were given.*--git-token HANDLE/);
});

test('other failures keep the plain message', () => {
  assert.equal(explainTaskFailure('fatal: [target]: FAILED! => {"msg": "non-zero return code"}'), undefined);
  assert.equal(playbookOutcome('run_2', 2, 'Start containers').error, 'The task "Start containers" failed (ansible-playbook exit 2). Its output is in the run log: zavhoz run log run_2');
  assert.deepEqual(playbookOutcome('run_3', 0, undefined), { status: 'succeeded', error: null, exitCode: 0 });
});
