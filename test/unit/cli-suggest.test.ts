/**
 * "Did you mean …" for a mistyped command, group or flag: the distance behind it, and the built CLI's answers (exit
 * code 2, the suggestion on stderr, a flag's value never shown back).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { didYouMean, editDistance, suggest } from '../../daemon/cli/suggest.js';

const cliScript = path.resolve(import.meta.dirname, '../../dist/cli.cjs');
// A private data folder: a command that gets past parsing starts a daemon there, which the end of this file stops.
const home = fs.mkdtempSync(path.join(os.tmpdir(), 'zavhoz-cli-suggest-'));

function cli(args: readonly string[]): { code: number; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [cliScript, ...args], { encoding: 'utf8', env: { ...process.env, ZAVHOZ_HOME: home } });
  return { code: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

after(() => {
  cli(['daemon', 'stop']);
  fs.rmSync(home, { recursive: true, force: true });
});

describe('edit distance and suggestions', () => {
  test('counts insertions, deletions, substitutions, and a swap of neighbours as one', () => {
    assert.equal(editDistance('list', 'list'), 0);
    assert.equal(editDistance('lst', 'list'), 1);
    assert.equal(editDistance('lisst', 'list'), 1);
    assert.equal(editDistance('lost', 'list'), 1);
    assert.equal(editDistance('lsit', 'list'), 1);
    assert.equal(editDistance('', 'abc'), 3);
    assert.equal(editDistance('kitten', 'sitting'), 3);
  });

  test('suggests close words and words it starts, best first, none when nothing is close', () => {
    const groups = ['daemon', 'config', 'secret', 'server', 'allocation', 'run'];
    assert.deepEqual(suggest('secert', groups), ['secret']);
    assert.deepEqual(suggest('serv', groups), ['server']);
    assert.deepEqual(suggest('sever', groups), ['server']);
    assert.deepEqual(suggest('Secret', groups), ['secret']);
    assert.deepEqual(suggest('xyzzy', groups), []);
    assert.deepEqual(suggest('r', ['run', 'rm']), ['rm'], 'a one-letter word is not a prefix match');
    assert.equal(didYouMean('scret', groups), ' Did you mean "secret"?');
    assert.equal(didYouMean('lst', ['list', 'last', 'show']), ' Did you mean "last" or "list"?');
    assert.equal(didYouMean('nothing-like-it', groups), '');
  });
});

describe('did you mean, from the built CLI', () => {
  test('a mistyped group or one-word command', () => {
    const group = cli(['secert', 'list']);
    assert.equal(group.code, 2);
    assert.equal(group.stdout, '');
    assert.equal(group.stderr, 'zavhoz: unknown command "secert". Did you mean "secret"? Run `zavhoz --help` for the list.\n');
    const command = cli(['deplyo', '.']);
    assert.equal(command.code, 2);
    assert.match(command.stderr, /Did you mean "deploy"\?/);
    const nothing = cli(['frobnicate']);
    assert.equal(nothing.code, 2);
    assert.equal(nothing.stderr, 'zavhoz: unknown command "frobnicate". Run `zavhoz --help` for the list.\n');
  });

  test('a mistyped command of a group', () => {
    const result = cli(['server', 'lsit']);
    assert.equal(result.code, 2);
    assert.equal(result.stderr, 'zavhoz: "lsit" is not a server command. Did you mean "list"? Run `zavhoz server --help` for the list.\n');
  });

  test('a mistyped flag, without its value', () => {
    const result = cli(['secret', 'list', '--projcet', 'shop']);
    assert.equal(result.code, 2);
    assert.equal(result.stderr, 'zavhoz: secret list has no flag --projcet. Did you mean "--project"? Run `zavhoz secret list --help` for its flags.\n');
    const inline = cli(['deploy', '.', '--project', 'p', '--git-tokn=sec_private1']);
    assert.equal(inline.code, 2);
    assert.match(inline.stderr, /no flag --git-tokn\. Did you mean "--git-token"\?/);
    assert.ok(!inline.stderr.includes('sec_private1'), 'the value typed after = is not shown back');
  });

  test('a flag value that looks like a flag name is a value, and nothing after -- is a flag', () => {
    // --project takes the next word whatever it is; parseArgs then refuses the dash-led value with its own message.
    const valued = cli(['secret', 'list', '--tag', '--projcet']);
    assert.equal(valued.code, 2);
    assert.ok(!valued.stderr.includes('Did you mean'));
    const ended = cli(['secret', 'get', '--', '--not-a-flag']);
    assert.ok(!ended.stderr.includes('has no flag'), ended.stderr);
  });
});
