/**
 * package.json `contributes` against the extension's sources: a palette entry whose command is not registered
 * fails with "command not found" for the user, a registered command missing from package.json never shows in
 * the palette, and a menu `when` clause naming a contextValue no tree item sets never shows its entry.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { CommandIds } from '../../extension/commandIds.js';
import { ROOT } from '../harness/daemon.js';

interface MenuEntry {
  readonly command?: string;
  readonly when?: string;
}

interface Manifest {
  readonly contributes: {
    readonly commands?: readonly { readonly command: string; readonly title: string }[];
    readonly menus?: Readonly<Record<string, readonly MenuEntry[]>>;
  };
}

const manifest = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as Manifest;
const declared = (manifest.contributes.commands ?? []).map((entry) => entry.command);
const central: readonly string[] = Object.values(CommandIds);

/** Every TypeScript source of the extension, keyed by path relative to the repository. */
function extensionSources(): Map<string, string> {
  const folder = path.join(ROOT, 'extension');
  const sources = new Map<string, string>();
  for (const name of readdirSync(folder, { recursive: true })) {
    const file = String(name);
    if (file.endsWith('.ts')) sources.set(path.join('extension', file), readFileSync(path.join(folder, file), 'utf8'));
  }
  return sources;
}

const sources = extensionSources();

/**
 * Command ids passed to a `registerCommand(` call (VS Code's or the extension's helper): the arguments before the
 * handler, as a `CommandIds.name` reference or a `'zavhoz.…'` literal.
 */
function registeredCommandIds(): Map<string, string[]> {
  const found = new Map<string, string[]>();
  const add = (id: string, file: string): void => {
    found.set(id, [...(found.get(id) ?? []), file]);
  };
  for (const [file, text] of sources) {
    for (const match of text.matchAll(/registerCommand\(/g)) {
      // The arguments before the handler: up to the first arrow function or `function` keyword.
      const rest = text.slice(match.index + match[0].length, match.index + 400);
      const head = rest.split(/=>|\bfunction\b|\basync\b/)[0] ?? '';
      for (const reference of head.matchAll(/CommandIds\.(\w+)/g)) {
        const key = reference[1] as keyof typeof CommandIds;
        assert.ok(key in CommandIds, `${file} registers CommandIds.${key}, which extension/commandIds.ts does not define`);
        add(CommandIds[key], file);
      }
      for (const literal of head.matchAll(/['"`](zavhoz\.[\w.]+)['"`]/g)) add(literal[1] ?? '', file);
    }
  }
  return found;
}

/** String literals in the files that set `contextValue` (template placeholders become wildcards). */
function contextValuePatterns(): RegExp[] {
  const patterns: RegExp[] = [];
  for (const text of sources.values()) {
    if (!text.includes('contextValue')) continue;
    for (const match of text.matchAll(/'([\w.-]+)'|"([\w.-]+)"|`([\w.${}-]+)`/g)) {
      const literal = match[1] ?? match[2] ?? match[3] ?? '';
      const source = literal.split(/\$\{[^}]*\}/).map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('[\\w.-]*');
      patterns.push(new RegExp(`^${source}$`));
    }
  }
  return patterns;
}

/** An example string for a contextValue pattern: its literal text with wildcards filled in. */
function exampleOf(pattern: RegExp): string {
  return pattern.source.slice(1, -1).replaceAll('[\\w.-]*', 'x').replace(/\\(.)/g, '$1');
}

describe('package.json contributes', () => {
  test('declares exactly the commands of extension/commandIds.ts', () => {
    assert.deepEqual([...declared].sort(), [...central].sort());
    assert.equal(new Set(declared).size, declared.length, 'a command is declared twice');
  });

  test('every declared command is registered by the extension, and every registered one is declared', () => {
    const registered = registeredCommandIds();
    const unregistered = declared.filter((id) => !registered.has(id));
    assert.deepEqual(unregistered, [], `declared in package.json but never registered: ${unregistered.join(', ')}`);
    const undeclared = [...registered.keys()].filter((id) => !declared.includes(id));
    assert.deepEqual(undeclared, [], `registered but missing from package.json contributes.commands: ${undeclared.join(', ')}`);
    const twice = [...registered].filter(([, files]) => files.length > 1).map(([id, files]) => `${id} (${files.join(', ')})`);
    assert.deepEqual(twice, [], 'registering a command twice makes activation fail');
  });

  test('command ids follow zavhoz.<area>.<verb>', () => {
    const malformed = declared.filter((id) => !/^zavhoz\.[a-z]+\.[a-z][A-Za-z]*$/.test(id));
    assert.deepEqual(malformed, []);
  });

  test('menus name declared commands only', () => {
    const menus = manifest.contributes.menus ?? {};
    const unknown = Object.entries(menus).flatMap(([menu, entries]) =>
      entries.filter((entry) => entry.command !== undefined && !declared.includes(entry.command)).map((entry) => `${menu}: ${entry.command}`),
    );
    assert.deepEqual(unknown, []);
  });

  test('every viewItem in a view/item/context when clause matches a contextValue the extension sets', () => {
    const patterns = contextValuePatterns();
    const examples = patterns.map(exampleOf);
    const problems: string[] = [];
    for (const entry of manifest.contributes.menus?.['view/item/context'] ?? []) {
      const when = entry.when ?? '';
      for (const equal of when.matchAll(/viewItem\s*==\s*([\w.-]+)/g)) {
        const value = equal[1] ?? '';
        if (!patterns.some((pattern) => pattern.test(value))) problems.push(`${entry.command}: viewItem == ${value}`);
      }
      for (const regex of when.matchAll(/viewItem\s*=~\s*\/((?:[^/\\]|\\.)+)\/(\w*)/g)) {
        const expression = new RegExp(regex[1] ?? '', regex[2]);
        if (!examples.some((example) => expression.test(example))) problems.push(`${entry.command}: viewItem =~ ${expression}`);
      }
    }
    assert.deepEqual(problems, [], 'these menu entries can never show: no tree item sets a matching contextValue');
  });
});
