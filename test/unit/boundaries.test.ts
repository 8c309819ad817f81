/**
 * The import boundaries of ARCHITECTURE.md are checked by dependency-cruiser (.dependency-cruiser.cjs): the real
 * tree passes, and each rule fails a small throwaway tree in which one import breaks it.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { cruise } from 'dependency-cruiser';
import extractDepcruiseOptions from 'dependency-cruiser/config-utl/extract-depcruise-options';

const root = path.resolve(import.meta.dirname, '../..');
const config = path.join(root, '.dependency-cruiser.cjs');

interface Violation {
  readonly from: string;
  readonly to: string;
  readonly rule: { readonly name: string; readonly severity: string };
}

/**
 * Runs depcruise's engine with the project's rules over daemon/, extension/ and webview/ of `folder`, in this process:
 * the same options the command line reads from the config file, and the same report (compared module by module). A
 * `depcruise` process per tree started Node and loaded TypeScript (9 MB) twice; in-process, the file takes ~1 s less
 * CPU (8-9 s against 9-10 s on a busy machine), most of it TypeScript parsing the real tree.
 */
async function violationsIn(folder: string): Promise<Violation[]> {
  const options = await extractDepcruiseOptions(config);
  const { output } = await cruise(['daemon', 'extension', 'webview'], { ...options, baseDir: folder, outputType: 'json' });
  const text = typeof output === 'string' ? output : JSON.stringify(output);
  assert.ok(text.startsWith('{'), `depcruise printed no report: ${text.slice(0, 200)}`);
  return (JSON.parse(text) as { summary: { violations: Violation[] } }).summary.violations;
}

function describeViolations(violations: readonly Violation[]): string {
  return violations.map((violation) => `${violation.rule.name}: ${violation.from} → ${violation.to}`).join('\n');
}

/**
 * A tree that keeps every rule: the layers as they are meant to be used (handlers over the RPC server and a domain
 * folder, the wiring over everything, the extension over protocol/, client/ and the agent catalogue, the webview over
 * protocol shapes). `vscode-jsonrpc` is a stand-in package so the fixture resolves it the way the real tree does.
 */
const LEGAL_TREE: Record<string, string> = {
  'node_modules/vscode-jsonrpc/package.json': JSON.stringify({ name: 'vscode-jsonrpc', version: '0.0.0', main: 'index.js' }),
  'node_modules/vscode-jsonrpc/index.js': 'exports.ResponseError = class {};\n',
  'daemon/protocol/errors.ts': 'export const ErrorCodes = { NotFound: 1 };\n',
  'daemon/core/errors.ts': "import { ErrorCodes } from '../protocol/errors.js';\nexport const notFound = ErrorCodes.NotFound;\n",
  'daemon/core/paths.ts': "export const folder = '/tmp';\n",
  'daemon/store/store.ts': "import { ErrorCodes } from '../protocol/errors.js';\nexport class Store { code = ErrorCodes.NotFound; }\n",
  'daemon/settings/settings.ts': 'export class SettingsService {}\n',
  'daemon/vault/vault.ts': "import { notFound } from '../core/errors.js';\nimport type { Store } from '../store/store.js';\nexport class Vault { constructor(readonly store: Store, readonly code = notFound) {} }\n",
  'daemon/vault/records.ts': "import { Vault } from './vault.js';\nexport const made = Vault;\n",
  'daemon/inventory/inventory.ts': 'export interface ServerAllocations { release(server: string): void }\nexport class Inventory {}\n',
  'daemon/inventory/records.ts': 'export const columns = 1;\n',
  'daemon/allocation/allocator.ts':
    "import type { ServerAllocations } from '../inventory/inventory.js';\nimport { columns } from '../inventory/records.js';\nexport class Allocator implements ServerAllocations { width = columns; release(): void {} }\n",
  'daemon/deploy/service.ts': "import type { Vault } from '../vault/vault.js';\nexport class DeployService { constructor(readonly vault: Vault) {} }\n",
  'daemon/github/service.ts': 'export class GithubService {}\n',
  'daemon/providers/provider.ts': 'export interface Provider { name: string }\n',
  'daemon/server/router.ts': "import { ResponseError } from 'vscode-jsonrpc';\nexport class Router { error = ResponseError; }\n",
  'daemon/wiring/services.ts':
    "import type { Vault } from '../vault/vault.js';\nimport type { Allocator } from '../allocation/allocator.js';\nexport interface Services { vault: Vault; allocator: Allocator }\n",
  'daemon/wiring/index.ts':
    "import { Allocator } from '../allocation/allocator.js';\nimport { Store } from '../store/store.js';\nimport { Vault } from '../vault/vault.js';\nimport type { Services } from './services.js';\nexport function wire(): Services { return { vault: new Vault(new Store()), allocator: new Allocator() }; }\n",
  'daemon/handlers/settings.ts': "import type { Router } from '../server/router.js';\nexport function registerSettings(router: Router): Router { return router; }\n",
  'daemon/handlers/vault.ts':
    "import type { Router } from '../server/router.js';\nimport type { Services } from '../wiring/services.js';\nexport function registerVault(router: Router, services: Services): unknown { return [router, services.vault]; }\n",
  'daemon/daemon.ts': "import { registerVault } from './handlers/vault.js';\nimport { Router } from './server/router.js';\nimport { wire } from './wiring/index.js';\nregisterVault(new Router(), wire());\n",
  'daemon/client/client.ts': "import { ErrorCodes } from '../protocol/errors.js';\nexport class DaemonClient { codes = ErrorCodes; }\n",
  'daemon/agent/tool.ts': 'export interface AgentTool { name: string }\n',
  'daemon/agent/tools/secrets.ts': "import type { AgentTool } from '../tool.js';\nexport const secretTools: AgentTool[] = [];\n",
  'daemon/agent/catalogue.ts':
    "import { DaemonClient } from '../client/client.js';\nimport { secretTools } from './tools/secrets.js';\nexport const AGENT_TOOLS = [...secretTools, DaemonClient];\n",
  'extension/panel.ts': 'export const panel = 1;\n',
  'extension/extension.ts':
    "import { AGENT_TOOLS } from '../daemon/agent/catalogue.js';\nimport { DaemonClient } from '../daemon/client/client.js';\nimport { ErrorCodes } from '../daemon/protocol/errors.js';\nimport { panel } from './panel.js';\nexport const parts = [AGENT_TOOLS, DaemonClient, ErrorCodes, panel];\n",
  'webview/form.ts': "import type { ErrorCodes } from '../daemon/protocol/errors.js';\nexport type Codes = typeof ErrorCodes;\n",
};

/** Imports that break one rule, and the violation (an edge of the cycle, for cycle rules) the rule must report. */
interface Plant {
  readonly rule: string;
  readonly files: Record<string, string>;
  readonly from: string;
  readonly to: string;
}

/** At least one plant for every rule. */
const PLANTED: readonly Plant[] = [
  { rule: 'no-cycle', files: { 'daemon/vault/vault.ts': "import './records.js';\n" }, from: 'daemon/vault/records.ts', to: 'daemon/vault/vault.ts' },
  { rule: 'no-cycle', files: { 'webview/a.ts': "import './b.js';\n", 'webview/b.ts': "import './a.js';\n" }, from: 'webview/a.ts', to: 'webview/b.ts' },
  { rule: 'no-folder-cycle', files: { 'daemon/inventory/service.ts': "import '../allocation/allocator.js';\n" }, from: 'daemon/inventory', to: 'daemon/allocation' },
  { rule: 'domain-below-rpc', files: { 'daemon/deploy/handlers.ts': "import '../server/router.js';\n" }, from: 'daemon/deploy/handlers.ts', to: 'daemon/server/router.ts' },
  { rule: 'domain-below-rpc', files: { 'daemon/github/reply.ts': "import '../handlers/settings.js';\n" }, from: 'daemon/github/reply.ts', to: 'daemon/handlers/settings.ts' },
  // A capability the config does not name (billing/) is a domain folder all the same.
  { rule: 'domain-below-rpc', files: { 'daemon/billing/invoice.ts': "import 'vscode-jsonrpc';\n" }, from: 'daemon/billing/invoice.ts', to: 'node_modules/vscode-jsonrpc/index.js' },
  { rule: 'domain-below-rpc', files: { 'daemon/providers/wired.ts': "import '../wiring/index.js';\n" }, from: 'daemon/providers/wired.ts', to: 'daemon/wiring/index.ts' },
  { rule: 'core-knows-no-domain', files: { 'daemon/core/audit.ts': "import '../store/store.js';\n" }, from: 'daemon/core/audit.ts', to: 'daemon/store/store.ts' },
  { rule: 'core-knows-no-domain', files: { 'daemon/core/settings.ts': "import '../settings/settings.js';\n" }, from: 'daemon/core/settings.ts', to: 'daemon/settings/settings.ts' },
  { rule: 'store-knows-no-capability', files: { 'daemon/store/seed.ts': "import '../settings/settings.js';\n" }, from: 'daemon/store/seed.ts', to: 'daemon/settings/settings.ts' },
  { rule: 'extension-through-client', files: { 'extension/paths.ts': "import '../daemon/core/paths.js';\n" }, from: 'extension/paths.ts', to: 'daemon/core/paths.ts' },
  { rule: 'extension-through-client', files: { 'extension/tools.ts': "import '../daemon/agent/tools/secrets.js';\n" }, from: 'extension/tools.ts', to: 'daemon/agent/tools/secrets.ts' },
  { rule: 'agent-through-protocol', files: { 'daemon/agent/tools/github.ts': "import '../../github/service.js';\n" }, from: 'daemon/agent/tools/github.ts', to: 'daemon/github/service.ts' },
  { rule: 'webview-is-browser-code', files: { 'webview/host.ts': "import '../extension/panel.js';\n" }, from: 'webview/host.ts', to: 'extension/panel.ts' },
  { rule: 'webview-is-browser-code', files: { 'webview/client.ts': "import '../daemon/client/client.js';\n" }, from: 'webview/client.ts', to: 'daemon/client/client.ts' },
  { rule: 'webview-protocol-types-only', files: { 'webview/limits.ts': "import { ErrorCodes } from '../daemon/protocol/errors.js';\nexport const codes = ErrorCodes;\n" }, from: 'webview/limits.ts', to: 'daemon/protocol/errors.ts' },
  { rule: 'daemon-not-extension', files: { 'daemon/cli/panel.ts': "import '../../extension/panel.js';\n" }, from: 'daemon/cli/panel.ts', to: 'extension/panel.ts' },
];

function writeTree(folder: string, files: Record<string, string>): void {
  for (const [name, text] of Object.entries(files)) {
    const file = path.join(folder, name);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.appendFileSync(file, text);
  }
}

describe('import boundaries', () => {
  let fixtures: string;
  before(() => {
    fixtures = fs.mkdtempSync(path.join(os.tmpdir(), 'zavhoz-boundaries-'));
    writeTree(fixtures, LEGAL_TREE);
    for (const plant of PLANTED) writeTree(fixtures, plant.files);
  });
  after(() => fs.rmSync(fixtures, { recursive: true, force: true }));

  test('the real tree keeps every rule', async () => {
    const violations = await violationsIn(root);
    assert.deepEqual(violations, [], describeViolations(violations));
  });

  // The legal tree with the plants added: every rule must report its plant, and nothing in the legal part may be
  // reported (so the rules allow what the layers are for, as well as refusing what they are not).
  test('each rule reports the import planted to break it, and nothing else', async () => {
    const violations = await violationsIn(fixtures);
    const reports = (plant: Plant, violation: Violation): boolean =>
      plant.rule === violation.rule.name &&
      ((plant.from === violation.from && plant.to === violation.to) || (plant.rule.endsWith('cycle') && plant.from === violation.to && plant.to === violation.from));
    const { forbidden } = createRequire(import.meta.url)(config) as { forbidden: readonly { name: string }[] };
    for (const rule of forbidden) assert.ok(PLANTED.some((plant) => plant.rule === rule.name), `rule ${rule.name} has a planted violation`);
    for (const plant of PLANTED) {
      assert.ok(
        violations.some((violation) => reports(plant, violation)),
        `${plant.rule} reports ${plant.from} → ${plant.to}; reported:\n${describeViolations(violations)}`,
      );
    }
    const unexpected = violations.filter((violation) => !PLANTED.some((plant) => reports(plant, violation)));
    assert.deepEqual(unexpected, [], describeViolations(unexpected));
  });
});
