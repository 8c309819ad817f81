// Import boundaries of the house (ARCHITECTURE.md, "Folders"), checked by `npm run deps` and by
// test/unit/boundaries.test.ts, which also proves that each rule catches a planted violation.
// Paths are relative to the folder depcruise runs in (the repository root, or the test's throwaway tree).

/** Folders under daemon/ that are not capabilities: everything else under daemon/<folder>/ is a domain folder. */
const NOT_DOMAIN = '^daemon/(protocol|core|store|server|handlers|wiring|cli|client|transport|agent)/';

/** The RPC layer and the composition root: what domain code must never reach. */
const RPC_AND_WIRING = [
  '^daemon/(server|handlers|wiring|transport|cli|client|agent)/',
  '^daemon/[^/]+\\.ts$',
  '(^|/)node_modules/vscode-jsonrpc/',
];

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-cycle',
      comment: 'Imports form no cycle: each folder builds on the ones below it.',
      severity: 'error',
      from: { path: '^(daemon|extension|webview)/' },
      to: { circular: true },
    },
    {
      name: 'no-folder-cycle',
      comment:
        "Nor do the folders of the daemon and the extension: when allocation/ uses inventory/, inventory/ must not use " +
        "allocation/ (the wiring joins them through a port that inventory/ declares); the extension's commands use its " +
        'views, and both name commands through extension/commandIds.ts.',
      severity: 'error',
      scope: 'folder',
      from: { path: '^(daemon|extension)/' },
      to: { circular: true },
    },
    {
      name: 'domain-below-rpc',
      comment:
        'A capability (daemon/<capability>/) never imports the RPC layer (server/, handlers/, vscode-jsonrpc), the ' +
        'clients (cli/, client/, agent/) or the composition root (wiring/, daemon/*.ts): handlers call it, not the other way.',
      severity: 'error',
      from: { path: '^daemon/[^/]+/', pathNot: NOT_DOMAIN },
      to: { path: RPC_AND_WIRING },
    },
    {
      name: 'core-knows-no-domain',
      comment: 'daemon/core/ is cross-cutting and knows no capability and not the store: it imports only core/ and protocol/.',
      severity: 'error',
      from: { path: '^daemon/core/' },
      to: { path: '^daemon/', pathNot: '^daemon/(core|protocol)/' },
    },
    {
      name: 'store-knows-no-capability',
      comment: 'daemon/store/ (sql.js, journal, migrations) imports only store/, core/ and protocol/.',
      severity: 'error',
      from: { path: '^daemon/store/' },
      to: { path: '^daemon/', pathNot: '^daemon/(store|core|protocol)/' },
    },
    {
      name: 'extension-through-client',
      comment:
        'The extension reaches the daemon only through daemon/protocol/, daemon/client/ and the shared agent ' +
        'catalogue (the files directly in daemon/agent/: catalogue.ts, link.ts, tool.ts; not agent/tools/).',
      severity: 'error',
      from: { path: '^extension/' },
      to: { path: '^daemon/', pathNot: ['^daemon/(protocol|client)/', '^daemon/agent/[^/]+\\.ts$'] },
    },
    {
      name: 'agent-through-protocol',
      comment:
        'The agent tool catalogue runs in the extension host and in `zavhoz mcp`: like any client it reaches the daemon ' +
        'through daemon/protocol/ and daemon/client/ only, never a capability or core/.',
      severity: 'error',
      from: { path: '^daemon/agent/' },
      to: { path: '^daemon/', pathNot: '^daemon/(agent|protocol|client)/' },
    },
    {
      name: 'webview-is-browser-code',
      comment: 'A webview talks only to the extension, by messages: it imports no extension/ or daemon/ code but the protocol shapes.',
      severity: 'error',
      from: { path: '^webview/' },
      to: { path: '^(daemon|extension)/', pathNot: '^daemon/protocol/' },
    },
    {
      name: 'webview-protocol-types-only',
      comment:
        "The webview bundle runs in a browser frame: it takes the protocol's shapes as types only, so no zod, " +
        'vscode-jsonrpc or protocol code lands in the bundle.',
      severity: 'error',
      from: { path: '^webview/' },
      to: { path: '^daemon/protocol/', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'daemon-not-extension',
      comment: 'The daemon runs without VS Code: nothing in daemon/ imports extension/ or webview/.',
      severity: 'error',
      from: { path: '^daemon/' },
      to: { path: '^(extension|webview)/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // Type-only imports count: a type is a dependency on another folder's shape, as much as a call is.
    tsPreCompilationDeps: true,
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.js', '.mjs', '.cjs', '.d.ts'],
    },
  },
};
