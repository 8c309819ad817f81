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

test("the playbook's own checks say what to do in a `Zavhoz: ` line, which becomes the reason", () => {
  const compose = 'fatal: [target]: FAILED! => {"changed": false, "msg": "Zavhoz: neither the compose v2 plugin (docker compose) nor docker-compose v1 is installed. Install one."}';
  assert.equal(explainTaskFailure(compose), 'neither the compose v2 plugin (docker compose) nor docker-compose v1 is installed. Install one.');
  // A script's output: the text up to the end of its line; the script itself (in "cmd", before it) holds no such line.
  const script = 'fatal: [target]: FAILED! => {"cmd": ["sh", "-c", "echo \\"$5 the service\\"", "Zavhoz:"], "stdout": "Zavhoz: the service backend (exit code 3) exited at start.\\nmore", "rc": 3}';
  assert.equal(explainTaskFailure(script), 'the service backend (exit code 3) exited at start.');
});

test('a pull refused for want of a login, and an image the registry does not have, are named with what to do', () => {
  const login = 'fatal: [target]: FAILED! => {"stderr": "ERROR: for backend  Head \\"http://127.0.0.1:5000/v2/acme/backend/manifests/1\\": no basic auth credentials"}';
  assert.match(explainTaskFailure(login) ?? '', /refused to serve an image without a login\. Deploy with --registry-token HANDLE/);
  const missing = 'fatal: [target]: FAILED! => {"stderr": "ERROR: for backend  manifest for 127.0.0.1:5000/acme/backend:9 not found: manifest unknown: manifest unknown"}';
  assert.match(explainTaskFailure(missing) ?? '', /could not be pulled \(127\.0\.0\.1:5000\/acme\/backend:9\): the registry does not have it.*push the image/);
});

test('a server without /usr/bin/python3 (ansible.cfg names it) is told to install Python 3', () => {
  const line = 'fatal: [target]: FAILED! => {"changed": false, "module_stderr": "/bin/sh: 1: /usr/bin/python3: not found\\n", "module_stdout": "", "msg": "MODULE FAILURE", "rc": 127}';
  assert.match(explainTaskFailure(line) ?? '', /^the server has no \/usr\/bin\/python3.*sudo apt-get install python3\), then deploy again\.$/);
});

test('a module that fails its health check is named, with its port and path but not the server address', () => {
  const line =
    'failed: [deploy_target] (item=admin http://127.31.4.5:8003/healthz) => {"ansible_loop_var": "item", "attempts": 20, "changed": false, ' +
    '"msg": "Status code was -1 and not [200]: Request failed: <urlopen error [Errno 111] Connection refused>", "url": "http://127.31.4.5:8003/healthz"}';
  const reason = explainTaskFailure(line) ?? '';
  assert.match(reason, /^module admin did not pass its health check at port 8003, path \/healthz\. .*zavhoz service logs --project P --module admin$/);
  assert.ok(!reason.includes('127.31.4.5'), reason);
  assert.match(explainTaskFailure('failed: [web] (item=app http://[fd00::5]:8000/) => {}') ?? '', /^module app did not pass its health check at port 8000, path \//);
});
