/**
 * `zavhoz completion bash|zsh`: the scripts are generated from the command table. The bash one runs for real: it is
 * sourced in `bash -c` and its completion function called with COMP_WORDS/COMP_CWORD set, as bash does on Tab. The
 * zsh one is checked the same way when zsh is installed (its compadd and _files stood in for by functions that print).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { bashCompletion, zshCompletion } from '../../daemon/cli/completion.js';
import { GLOBAL_OPTIONS, groupCommands, topLevel } from '../../daemon/cli/help.js';
import { CLI_COMMANDS } from '../../daemon/cli/table.js';

const cliScript = path.resolve(import.meta.dirname, '../../dist/cli.cjs');
const hasZsh = spawnSync('zsh', ['-fc', 'true']).status === 0;

/**
 * The candidates of each line in the output of a shell that completed `lines` one after the other: each line's
 * candidates, one a line, then `@@` and the status of the subshell that completed it, which must be 0.
 */
function repliesOf(stdout: string, lines: readonly (readonly string[])[]): string[][] {
  const replies = stdout.split(/^@@ (\d+)\n/m);
  assert.equal(replies.pop(), '', 'nothing after the last line');
  assert.equal(replies.length, lines.length * 2, stdout);
  return lines.map((words, index) => {
    assert.equal(replies[index * 2 + 1], '0', `status of ${words.join(' ')}`);
    return replies[index * 2]!.split('\n').filter((line) => line !== '');
  });
}

describe('shell completion', () => {
  let folder: string;
  let bashScript: string;
  let zshScript: string;

  before(() => {
    folder = fs.mkdtempSync(path.join(os.tmpdir(), 'zavhoz-completion-'));
    bashScript = path.join(folder, 'zavhoz.bash');
    zshScript = path.join(folder, 'zavhoz.zsh');
    fs.writeFileSync(bashScript, bashCompletion(CLI_COMMANDS));
    fs.writeFileSync(zshScript, zshCompletion(CLI_COMMANDS));
    fs.writeFileSync(path.join(folder, 'app.env'), '');
  });
  after(() => fs.rmSync(folder, { recursive: true, force: true }));

  /**
   * What bash offers for each command line of `lines`, the last word of each being completed. One bash sources the
   * script once and completes every line in a subshell of its own (a fork: each starts from the state right after
   * `source`, as a fresh `bash -c` per line would, so no line sees another's variables), instead of a bash process per
   * line: starting bash and sourcing the script took ~0.15 s a line, over 20 s for the ~150 lines here.
   */
  function bashAll(lines: readonly (readonly string[])[]): string[][] {
    const program = `source "$0"
while (($#)); do
  count=$1; shift
  (COMP_WORDS=("\${@:1:count}"); COMP_CWORD=$((count - 1)); _zavhoz; printf '%s\\n' "\${COMPREPLY[@]}")
  printf '@@ %s\\n' "$?"
  shift "$count"
done`;
    const args = lines.flatMap((words) => [String(words.length), ...words]);
    const result = spawnSync('bash', ['-c', program, bashScript, ...args], {
      cwd: folder,
      encoding: 'utf8',
      // Not a socket on stdin (Node's pipes are socket pairs): bash would take itself for a remote shell and read
      // ~/.bashrc, whose own output (a pyenv rehash racing another process) is not the completion's.
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stderr, '');
    return repliesOf(result.stdout, lines);
  }

  /** What bash offers for the command line `words`, the last one being completed. */
  function bash(...words: string[]): string[] {
    return bashAll([words])[0]!;
  }

  test('the built CLI prints the same scripts, and refuses another shell with exit 2', () => {
    const printed = spawnSync(process.execPath, [cliScript, 'completion', 'bash'], { encoding: 'utf8' });
    assert.equal(printed.status, 0);
    assert.equal(printed.stdout, fs.readFileSync(bashScript, 'utf8'));
    assert.equal(spawnSync(process.execPath, [cliScript, 'completion', 'zsh'], { encoding: 'utf8' }).stdout, fs.readFileSync(zshScript, 'utf8'));
    const fish = spawnSync(process.execPath, [cliScript, 'completion', 'fish'], { encoding: 'utf8' });
    assert.equal(fish.status, 2);
    assert.match(fish.stderr, /bash, zsh/);
  });

  test('bash: groups and one-word commands first, filtered by what is typed', () => {
    const { groups, single } = topLevel(CLI_COMMANDS);
    assert.deepEqual(bash('zavhoz', ''), [...groups, ...single.map((command) => command.path.join(' ')), 'help']);
    assert.deepEqual(bash('zavhoz', 'se'), ['secret', 'server', 'service']);
    assert.deepEqual(bash('zavhoz', '--'), ['--help', '--version']);
  });

  test("bash: a group's commands", () => {
    const { groups } = topLevel(CLI_COMMANDS);
    const offered = bashAll(groups.map((group) => ['zavhoz', group, '']));
    groups.forEach((group, index) => {
      assert.deepEqual(offered[index], groupCommands(CLI_COMMANDS, group).map((command) => command.path.slice(1).join(' ')));
    });
    assert.deepEqual(bash('zavhoz', 'secret', 'r'), ['reveal', 'rotate', 'rotate-due']);
  });

  test("bash: every command's flags, after words and flag values", () => {
    const offered = bashAll(CLI_COMMANDS.map((command) => ['zavhoz', ...command.path, '--']));
    CLI_COMMANDS.forEach((command, index) => {
      const flags = Object.keys({ ...command.options, ...GLOBAL_OPTIONS }).map((name) => `--${name}`);
      assert.deepEqual(offered[index], flags, command.path.join(' '));
    });
    // --project's value is not taken for a command word; --generate takes none.
    assert.deepEqual(bash('zavhoz', 'secret', 'set', 'NAME', '--project', 'shop', '--generate', '--t'), ['--tag', '--team', '--type']);
    assert.deepEqual(bash('zavhoz', '--json', 'server', '--all', 'li'), ['list'], 'flags do not count as words');
    assert.deepEqual(bash('zavhoz', 'server', 'list', '--a'), ['--all']);
  });

  test('bash: the values of flags with a fixed list, and positional words', () => {
    assert.deepEqual(bash('zavhoz', 'secret', 'set', 'NAME', '--type', ''), ['password', 'token', 'text', 'private_key']);
    assert.deepEqual(bash('zavhoz', 'secret', 'list', '--category', 'te'), ['telegram_bot']);
    assert.deepEqual(bash('zavhoz', 'completion', ''), ['bash', 'zsh']);
    assert.ok(bash('zavhoz', 'config', 'get', 'agent').includes('agentDeployProjects'), 'setting names');
    assert.deepEqual(bash('zavhoz', 'secret', 'get', ''), [], 'a handle has nothing to complete from');
    assert.deepEqual(bash('zavhoz', 'help', 'ser'), ['server', 'service']);
  });

  test('zsh: the same candidates', { skip: hasZsh ? false : 'zsh is not installed' }, () => {
    // As for bash: one zsh runs compinit and sources the script once (compinit alone took ~0.5 s a process), then
    // completes each line in a subshell of its own.
    const lines = [
      ['zavhoz', 'secret', ''],
      ['zavhoz', 'secret', 'set', 'X', '--type', ''],
      ['zavhoz', 'deploy', '--'],
      ['zavhoz', 'deploy', ''],
    ];
    const program = `autoload -U compinit && compinit -u -d "$1/zcompdump"; source "$1/zavhoz.zsh"
compadd() { [[ "$1" == -- ]] && shift; print -rl -- "$@"; }
_files() { print -r -- '(files)'; }
shift
while (($#)); do
  count=$1; shift
  (words=("\${@[1,count]}"); CURRENT=$count; _zavhoz)
  print -r -- "@@ $?"
  shift "$count"
done`;
    const result = spawnSync('zsh', ['-fc', program, 'zsh', folder, ...lines.flatMap((words) => [String(words.length), ...words])], { encoding: 'utf8' });
    assert.equal(result.status, 0, result.stderr);
    const [secretCommands, types, deployFlags, deployWords] = repliesOf(result.stdout, lines);
    assert.deepEqual(secretCommands, groupCommands(CLI_COMMANDS, 'secret').map((command) => command.path[1]));
    assert.deepEqual(types, ['password', 'token', 'text', 'private_key']);
    assert.ok(deployFlags!.includes('--wait'));
    assert.deepEqual(deployWords, ['(files)']);
  });
});
