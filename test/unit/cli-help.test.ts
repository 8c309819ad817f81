/**
 * `--help` for every command and group of the CLI: each command has a usage line, a summary, at least one example
 * that uses only its own flags, and a description for every flag; the rendered help shows them all. Then the built
 * CLI itself: `--help` answers 0 on stdout, a group without a command shows its help with exit 2.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, test } from 'node:test';
import { GROUP_SUMMARIES } from '../../daemon/cli/groups.js';
import { commandHelp, GLOBAL_OPTIONS, groupCommands, groupHelp, overviewHelp, topLevel } from '../../daemon/cli/help.js';
import { CLI_COMMANDS } from '../../daemon/cli/table.js';

const cliScript = path.resolve(import.meta.dirname, '../../dist/cli.cjs');

/** Runs the built CLI (no daemon: help and usage errors never connect). */
function cli(args: readonly string[]): { code: number; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [cliScript, ...args], { encoding: 'utf8', env: { ...process.env, ZAVHOZ_HOME: '/nonexistent-zavhoz-home' } });
  return { code: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

/** The `--flag` words of an example, before any `# comment` (and before a ` -- `: what follows is not a flag). */
function flagsIn(example: string): string[] {
  const [command = ''] = example.split(' #')[0]!.split(' -- ');
  return command
    .split(/\s+/)
    .filter((word) => word.startsWith('--'))
    .map((word) => word.slice(2).split('=')[0] ?? '');
}

describe('help for every command', () => {
  for (const command of CLI_COMMANDS) {
    const name = command.path.join(' ');
    test(`zavhoz ${name}`, () => {
      assert.ok(command.usage.startsWith(`zavhoz ${name}`), `usage starts with the command: ${command.usage}`);
      assert.match(command.summary, /^\S.{10,}[.)]$/, 'the summary is a sentence');
      assert.ok(command.examples.length > 0, 'at least one example');
      const known = Object.keys({ ...command.options, ...GLOBAL_OPTIONS });
      for (const example of command.examples) {
        assert.ok(example.includes(`zavhoz ${name}`), `the example runs this command: ${example}`);
        for (const flag of flagsIn(example)) assert.ok(known.includes(flag), `the example's --${flag} is a flag of zavhoz ${name}`);
      }
      for (const [flag, option] of Object.entries(command.options ?? {})) {
        assert.match(option.description, /^[A-Z].{8,}[.)]$/, `--${flag} has a one-sentence description`);
        assert.ok(!option.description.includes('\n'), `--${flag}: one line`);
      }

      const help = commandHelp(command);
      assert.ok(help.startsWith(`Usage: ${command.usage}\n`));
      assert.ok(help.includes(command.summary));
      for (const [flag, option] of Object.entries({ ...command.options, ...GLOBAL_OPTIONS })) {
        assert.match(help, new RegExp(`^ {2}(-\\w, )?--${flag}\\b.* {3}${option.description.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'), `--${flag} with its description`);
      }
      for (const example of command.examples) assert.ok(help.includes(`\n  ${example}`), 'the example is shown');
    });
  }

  test('no two commands share a path, and every path is whole words', () => {
    const paths = CLI_COMMANDS.map((command) => command.path.join(' '));
    assert.equal(new Set(paths).size, paths.length);
    for (const commandPath of paths) assert.match(commandPath, /^[a-z][a-z-]*( [a-z][a-z-]*)?$/);
  });
});

describe('help for groups and the overview', () => {
  const { groups, single } = topLevel(CLI_COMMANDS);

  test('every group has a summary, and every summary a group', () => {
    assert.deepEqual([...groups].sort(), Object.keys(GROUP_SUMMARIES).sort());
  });

  test('a group lists each of its commands with its summary', () => {
    for (const group of groups) {
      const help = groupHelp(CLI_COMMANDS, group);
      assert.ok(help.startsWith(`Usage: zavhoz ${group} <command> [options]\n`));
      assert.ok(help.includes(GROUP_SUMMARIES[group] ?? '?'));
      for (const command of groupCommands(CLI_COMMANDS, group)) {
        assert.match(help, new RegExp(`^ {2}${command.path.slice(1).join(' ')} +${command.summary.slice(0, 20).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`, 'm'));
      }
    }
  });

  test('the overview lists the groups and the one-word commands', () => {
    const help = overviewHelp(CLI_COMMANDS, 'heading', 'footer');
    for (const group of groups) assert.match(help, new RegExp(`^ {2}${group} `, 'm'));
    for (const command of single) assert.match(help, new RegExp(`^ {2}${command.path[0] ?? '?'} `, 'm'));
    assert.ok(single.some((command) => command.path[0] === 'completion'));
  });
});

describe('help from the built CLI', () => {
  test('zavhoz --help, zavhoz <group> --help, zavhoz <command> --help and zavhoz help … answer 0 on stdout', () => {
    const overview = cli(['--help']);
    assert.equal(overview.code, 0);
    assert.match(overview.stdout, /^Groups:$/m);
    assert.match(overview.stdout, /^ {2}secret /m);

    const group = cli(['secret', '--help']);
    assert.equal(group.code, 0);
    assert.match(group.stdout, /^Usage: zavhoz secret <command> \[options\]$/m);
    assert.match(group.stdout, /^ {2}reveal +Print a secret value/m);

    const command = cli(['secret', 'set', '--help']);
    assert.equal(command.code, 0);
    assert.match(command.stdout, /^Usage: zavhoz secret set NAME/);
    assert.match(command.stdout, /^ {2}--type TYPE +What kind of value/m);
    assert.match(command.stdout, /^Examples:$/m);
    assert.equal(command.stderr, '');

    const short = cli(['server', 'list', '-h']);
    assert.match(short.stdout, /^Usage: zavhoz server list/);
    assert.equal(cli(['help', 'server', 'list']).stdout, short.stdout);
    assert.equal(cli(['help', 'secret']).stdout, group.stdout);
  });

  test('a group without a command prints its help on stderr and exits 2', () => {
    const result = cli(['server']);
    assert.equal(result.code, 2);
    assert.equal(result.stdout, '');
    assert.match(result.stderr, /^Usage: zavhoz server <command>/);
  });

  test('a wrong number of arguments points at the command help', () => {
    const result = cli(['secret', 'get']);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /wrong number of arguments\. Usage: zavhoz secret get HANDLE.*\nRun `zavhoz secret get --help`/);
  });
});
