/**
 * A daemon started from inside `zavhoz exec` (a script the command runs calls `zavhoz deploy`, and no daemon runs
 * yet) must not inherit the values exec put in that command's environment: the daemon would hold them for its
 * whole life (its /proc/PID/environ), and pass them on to every command it runs for agents, of any project.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { CommandContext } from '../../daemon/cli/command.js';
import { execCommands } from '../../daemon/cli/commands/exec.js';
import type { DaemonClient } from '../../daemon/client/client.js';
import { spawnDaemon } from '../../daemon/client/spawn.js';
import { READY_LINE } from '../../daemon/core/startup.js';

const VALUE = 'canary-exec-env-T6yH3qP8';

describe('zavhoz exec → a daemon started by its command', () => {
  let folder: string;
  before(() => {
    folder = fs.mkdtempSync(path.join(os.tmpdir(), 'zavhoz-leak-exec-env-'));
  });
  after(() => fs.rmSync(folder, { recursive: true, force: true }));

  test("exec's command: the values are in its environment, and so is which variables hold them", async () => {
    const envFile = path.join(folder, 'command-env.json');
    const client = {
      request: () => Promise.resolve({ secrets: [{ name: 'API_TOKEN', handle: 'sec_aaaaaaaa', value: VALUE }] }),
      close: () => undefined,
    } as unknown as DaemonClient;
    const context: CommandContext = {
      flags: { secret: ['API_TOKEN=sec_aaaaaaaa'] },
      positionals: [process.execPath, '-e', `require('fs').writeFileSync(${JSON.stringify(envFile)}, JSON.stringify(process.env))`],
      json: false,
      connect: () => Promise.resolve(client),
      readStdin: () => Promise.resolve(''),
      interactive: false,
      promptSecret: () => Promise.reject(new Error('no prompt in this test')),
      print: () => undefined,
      folder,
    };
    const [exec] = execCommands;
    assert.equal(await exec?.run(context), 0);
    const env = JSON.parse(fs.readFileSync(envFile, 'utf8')) as Record<string, string>;
    assert.equal(env.API_TOKEN, VALUE, 'the command gets the value');
    assert.equal(env.ZAVHOZ_EXEC_VALUES, 'API_TOKEN', 'the command is told which of its variables hold vault values');
  });

  test('a daemon started from that command does not get those variables', async () => {
    const envFile = path.join(folder, 'daemon-env.json');
    const daemonScript = path.join(folder, 'fake-daemon.cjs');
    fs.writeFileSync(daemonScript, `require('fs').writeFileSync(${JSON.stringify(envFile)}, JSON.stringify(process.env));\nconsole.log(${JSON.stringify(READY_LINE)});\n`);
    // The command's environment, as exec made it (this test process stands for the `zavhoz deploy` it ran).
    process.env.API_TOKEN = VALUE;
    process.env.ZAVHOZ_EXEC_VALUES = 'API_TOKEN';
    process.env.PLAIN_SETTING = 'kept-as-it-is';
    try {
      assert.equal(await spawnDaemon({ folder, daemonScript }), 'started');
    } finally {
      delete process.env.API_TOKEN;
      delete process.env.ZAVHOZ_EXEC_VALUES;
      delete process.env.PLAIN_SETTING;
    }
    const env = JSON.parse(fs.readFileSync(envFile, 'utf8')) as Record<string, string>;
    assert.equal(env.PLAIN_SETTING, 'kept-as-it-is', 'the rest of the environment is passed on');
    assert.ok(!Object.values(env).includes(VALUE), "the daemon's environment holds the value");
    assert.equal(env.ZAVHOZ_EXEC_VALUES, undefined);
  });
});
