/**
 * The extension's package.json against its code: every declared command is registered and every registered one is
 * declared; menus, welcome views and activation events point at things that exist. No VS Code needed: the
 * command ids come from extension/commandIds.ts and registrations are read from the sources.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { CommandIds } from '../../extension/commandIds.js';

const root = path.resolve(import.meta.dirname, '../..');

interface MenuItem {
  readonly command: string;
  readonly when?: string;
  readonly group?: string;
}

interface Manifest {
  readonly activationEvents: readonly string[];
  readonly contributes: {
    readonly commands: readonly { readonly command: string; readonly title: string; readonly category?: string }[];
    readonly views: Record<string, readonly { readonly id: string; readonly name: string }[]>;
    readonly viewsWelcome: readonly { readonly view: string; readonly contents: string; readonly when?: string }[];
    readonly menus: Record<string, readonly MenuItem[]>;
    readonly configuration: { readonly properties: Record<string, unknown> };
  };
}

const manifest = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as Manifest;
const declared = manifest.contributes.commands.map((entry) => entry.command);
const ids = Object.values(CommandIds) as string[];

function sources(folder: string): { file: string; text: string }[] {
  return fs
    .readdirSync(path.join(root, folder), { recursive: true })
    .map(String)
    .filter((name) => name.endsWith('.ts'))
    .map((name) => ({ file: path.join(folder, name), text: fs.readFileSync(path.join(root, folder, name), 'utf8') }));
}

const extensionSources = sources('extension');

/** Command keys passed to a registerCommand call (ours or VS Code's) anywhere in extension/. */
function registeredKeys(): string[] {
  const keys: string[] = [];
  for (const { text } of extensionSources) {
    for (const match of text.matchAll(/registerCommand\(\s*(?:[\w.]+,\s*)*CommandIds\.(\w+)/g)) keys.push(match[1] ?? '');
  }
  return keys;
}

describe('extension manifest', () => {
  test('package.json declares exactly the command ids the extension knows, each once, with a Zavhoz category', () => {
    assert.deepEqual([...declared].sort(), [...ids].sort());
    assert.equal(new Set(declared).size, declared.length, 'a command is declared twice');
    for (const entry of manifest.contributes.commands) assert.equal(entry.category, 'Zavhoz', `${entry.command} has no Zavhoz category`);
  });

  test('every command id is registered exactly once in the extension sources, and nothing else is', () => {
    const keys = registeredKeys();
    const registered = keys.map((key) => (CommandIds as Record<string, string>)[key]);
    assert.ok(!registered.includes(undefined), `registerCommand with an unknown CommandIds key: ${keys.join(', ')}`);
    assert.deepEqual([...registered].sort(), [...ids].sort());
    for (const { file, text } of extensionSources) {
      assert.doesNotMatch(text, /registerCommand\(\s*['"`]/, `${file} registers a command by a literal id instead of CommandIds`);
    }
  });

  test('the issue\'s palette commands are there with their titles', () => {
    const titles = new Map(manifest.contributes.commands.map((entry) => [entry.command, entry.title]));
    const expected: Record<string, string> = {
      [CommandIds.deployProject]: 'Deploy Project…',
      [CommandIds.allocateResources]: 'Allocate Resources…',
      [CommandIds.addServer]: 'Add Server…',
      [CommandIds.syncServers]: 'Sync Servers',
      [CommandIds.checkServerHealth]: 'Check Server Health',
      [CommandIds.addSecret]: 'Add Secret…',
      [CommandIds.importEnv]: 'Import .env…',
      [CommandIds.rotateSecret]: 'Rotate Secret…',
      [CommandIds.pushCiSecrets]: 'Push CI Secrets…',
      [CommandIds.showDeployLog]: 'Show Deploy Log',
      [CommandIds.cancelDeploy]: 'Cancel Deploy',
      [CommandIds.restartDaemon]: 'Restart Daemon',
      [CommandIds.showLog]: 'Show Log',
    };
    for (const [id, title] of Object.entries(expected)) assert.equal(titles.get(id), title, id);
    for (const id of ids) assert.match(id, /^zavhoz\.[a-z]+\.[a-z][A-Za-z]*$/, `${id} is not zavhoz.<area>.<verb>`);
  });

  test('menus use declared commands, existing views and context values the tree items set', () => {
    const views = new Set(Object.values(manifest.contributes.views).flat().map((view) => view.id));
    const allSource = extensionSources.map((entry) => entry.text).join('\n');
    const contextValues = new Set([...allSource.matchAll(/contextValue = (?:[^;]*?)'([a-zA-Z.]+)'/g)].map((match) => match[1] ?? ''));
    for (const match of allSource.matchAll(/contextValue = [^;]*\? '([a-zA-Z.]+)' : '([a-zA-Z.]+)'/g)) {
      contextValues.add(match[1] ?? '');
      contextValues.add(match[2] ?? '');
    }
    for (const [menu, items] of Object.entries(manifest.contributes.menus)) {
      for (const item of items) {
        assert.ok(declared.includes(item.command), `${menu}: ${item.command} is not declared`);
        for (const view of item.when?.matchAll(/view == ([\w.]+)/g) ?? []) assert.ok(views.has(view[1] ?? ''), `${menu}: unknown view ${view[1]}`);
        const exact = /viewItem == ([\w.]+)/.exec(item.when ?? '');
        if (exact) assert.ok(contextValues.has(exact[1] ?? ''), `${menu}: no tree item sets contextValue ${exact[1]}`);
        const pattern = /viewItem =~ \/(.+?)\/(?:\s|$)/.exec(item.when ?? '');
        if (pattern) {
          const regex = new RegExp(pattern[1] ?? '');
          assert.ok([...contextValues].some((value) => regex.test(value)), `${menu}: no contextValue matches ${regex}`);
        }
      }
    }
  });

  test('every Zavhoz tree view has a welcome for a daemon that is down and one with the next action when empty', () => {
    const trees = ['zavhoz.servers', 'zavhoz.services', 'zavhoz.allocations', 'zavhoz.secrets', 'zavhoz.runs'];
    for (const view of trees) {
      const entries = manifest.contributes.viewsWelcome.filter((entry) => entry.view === view);
      assert.ok(entries.some((entry) => entry.when?.includes('zavhoz.daemonState == down') && entry.contents.includes('command:zavhoz.daemon.restart')), `${view}: no daemon-down welcome`);
      assert.ok(entries.some((entry) => entry.when?.includes('zavhoz.daemonState == connected') && /\]\(command:zavhoz\./.test(entry.contents)), `${view}: no empty-state action`);
    }
    for (const entry of manifest.contributes.viewsWelcome) {
      for (const link of entry.contents.matchAll(/\(command:([\w.]+)\)/g)) assert.ok(declared.includes(link[1] ?? ''), `welcome links to undeclared ${link[1]}`);
    }
    const names = Object.values(manifest.contributes.views).flat().map((view) => view.name);
    for (const name of ['Servers', 'Allocations', 'Secrets', 'Deploy Runs']) assert.ok(names.includes(name), `view ${name} missing`);
  });

  test('each webview panel type the code creates activates the extension when VS Code restores it', () => {
    const viewTypes = [...extensionSources.map((entry) => entry.text).join('\n').matchAll(/_VIEW_TYPE = '([\w.]+)'/g)].map((match) => match[1]);
    assert.ok(viewTypes.length >= 2);
    for (const viewType of viewTypes) assert.ok(manifest.activationEvents.includes(`onWebviewPanel:${viewType}`), `no activation event for ${viewType}`);
  });

  test('every zavhoz.* setting the code reads is declared', () => {
    const workspace = fs.readFileSync(path.join(root, 'extension/workspace.ts'), 'utf8');
    const keys = [...workspace.matchAll(/text\('([\w.]+)'\)/g)].map((match) => `zavhoz.${match[1]}`);
    assert.ok(keys.length >= 3);
    for (const key of keys) assert.ok(key in manifest.contributes.configuration.properties, `${key} is not declared`);
  });

  test('webview entries carry the @entry marker the build bundles, and each has a stylesheet', () => {
    for (const entry of ['secretForm', 'deploy']) {
      const text = fs.readFileSync(path.join(root, 'webview', `${entry}.ts`), 'utf8');
      assert.match(text, /@entry/);
      assert.match(text, /import '\.\/forms\.css';/);
    }
  });
});
