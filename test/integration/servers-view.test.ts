/**
 * The extension's Servers view over a real daemon with more servers than its first page: it shows a first page at
 * once (its groups say so), then every server; a change in the daemon while the rest is read starts over rather than
 * show the older rows; a reveal of a server beyond the first page finds it. The provider runs in plain Node over the
 * bench's shape-only `vscode` stand-in (bench/vscode/stub.mjs); the daemon and its answers are real.
 */
import assert from 'node:assert/strict';
import { register } from 'node:module';
import { after, before, describe, test } from 'node:test';
import type { DaemonClient } from '../../daemon/client/client.js';
import { ServersAdd } from '../../daemon/protocol/servers.js';
import type { TreeNode } from '../../extension/views/tree.js';
import type { ServerNode, ServersProvider } from '../../extension/views/serversView.js';
import { startTestDaemon, type TestDaemon } from '../harness/daemon.js';

const SERVERS = 1_000;

function handleOf(index: number): string {
  return `view-${String(index).padStart(5, '0')}`;
}

/** Resolves at the provider's next onDidChangeTreeData (VS Code then reads the roots again). */
function nextChange(provider: ServersProvider): Promise<void> {
  return new Promise((resolve) => {
    const listener = provider.onDidChangeTreeData(() => {
      listener.dispose();
      resolve();
    });
  });
}

/** Group labels and the servers the roots hold. */
function shown(roots: readonly TreeNode[]): { labels: string[]; servers: number } {
  return { labels: roots.map((root) => (typeof root.label === 'string' ? root.label : (root.label?.label ?? ''))), servers: roots.reduce((sum, root) => sum + root.children.length, 0) };
}

describe('the Servers view with more servers than its first page', () => {
  let daemon: TestDaemon;
  let client: DaemonClient;
  let provider: ServersProvider;
  /** A provider that never loaded, as the view's is when a link asks for a server before the view was shown. */
  let freshProvider: () => ServersProvider;
  const revealed: TreeNode[] = [];

  before(async () => {
    daemon = await startTestDaemon();
    client = await daemon.connect();
    for (let start = 0; start < SERVERS; start += 500) {
      await Promise.all(
        Array.from({ length: 500 }, (_, offset) =>
          client.request(ServersAdd, { handle: handleOf(start + offset), host: `10.2.${(start + offset) >> 8}.${(start + offset) & 255}` }),
        ),
      );
    }
    // Before the extension's modules load, so their `import * as vscode from 'vscode'` finds the stand-in.
    register('../../bench/vscode/hooks.mjs', import.meta.url);
    const { ServersProvider: Provider } = await import('../../extension/views/serversView.js');
    const none = { dispose: () => undefined };
    const connection = {
      state: { kind: 'connected' },
      onDidChangeState: () => none,
      onNotification: () => none,
      request: (definition: never, params: never) => client.request(definition, params),
    };
    const memento = { get: <T>(_key: string, fallback?: T) => fallback, update: async () => undefined, keys: () => [] };
    freshProvider = () => {
      const made = new Provider({ connection } as never, memento);
      made.view = { reveal: (node: TreeNode) => (revealed.push(node), Promise.resolve()) } as never;
      return made;
    };
    provider = freshProvider();
  });

  after(async () => {
    /* eslint-disable @typescript-eslint/no-unnecessary-condition -- before() may have failed before it assigned these */
    provider?.dispose();
    client?.close();
    await daemon?.dispose();
    /* eslint-enable @typescript-eslint/no-unnecessary-condition */
  });

  test('a first page shows at once and says more are coming; then the view has every server', async () => {
    const changed = nextChange(provider);
    const first = shown(await provider.getChildren());
    assert.ok(first.servers > 0 && first.servers < SERVERS, `the first load showed ${first.servers} servers`);
    assert.match(first.labels.join(' | '), /\(\d+\+\)/, 'a group of a partial load says more follow');
    await changed;
    const whole = shown(await provider.getChildren());
    assert.equal(whole.servers, SERVERS);
    assert.doesNotMatch(whole.labels.join(' | '), /\+\)/);
    // Read once: VS Code asking again (a view shown again) gets the same rows, without a partial step.
    assert.equal(shown(await provider.getChildren()).servers, SERVERS);
  });

  test('a change while the rest is read starts over: the view ends with every server, counted once', async () => {
    provider.refresh();
    await nextChange(provider);
    const changed = nextChange(provider);
    await provider.getChildren();
    await client.request(ServersAdd, { handle: handleOf(SERVERS), host: '10.2.9.9' });
    // What servers/didChange does: the rows being read are of before the change.
    provider.refresh();
    await changed;
    const settled = nextChange(provider);
    const again = shown(await provider.getChildren());
    if (again.servers < SERVERS + 1) await settled;
    const whole = shown(await provider.getChildren());
    assert.equal(whole.servers, SERVERS + 1);
  });

  test('a reveal of a server past the first page, asked before the rest arrived, finds it', async () => {
    provider.refresh();
    await nextChange(provider);
    await provider.getChildren();
    const last = handleOf(SERVERS);
    const found = await provider.reveal((node) => node.id === `server/${last}`);
    assert.equal(found, true);
    assert.equal((revealed.at(-1) as ServerNode | undefined)?.server.handle, last);
  });

  test('a reveal asked before the view ever loaded (a link) finds a server past the first page', async () => {
    const unloaded = freshProvider();
    try {
      const last = handleOf(SERVERS - 1);
      assert.equal(await unloaded.reveal((node) => node.id === `server/${last}`), true);
      assert.equal((revealed.at(-1) as ServerNode | undefined)?.server.handle, last);
    } finally {
      unloaded.dispose();
    }
  });
});
