import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Duplex, PassThrough } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import ts from 'typescript';
import { z } from 'zod';
import { DaemonClient } from '../../daemon/client/client.js';
import { Logger } from '../../daemon/core/logger.js';
import { Redactor } from '../../daemon/core/redactor.js';
import type { RequestParams, ValidatedParams } from '../../daemon/protocol/define.js';
import * as protocol from '../../daemon/protocol/index.js';
import { DEFAULT_REF, DEFAULT_REGISTRY, DeployStart, RUN_LOG_PAGE, RUN_TIMEOUT, type RunDetail, RunsLog } from '../../daemon/protocol/runs.js';
import { DEFAULT_SSH_PORT, DEFAULT_SSH_USER, ServersAdd } from '../../daemon/protocol/servers.js';
import { Router } from '../../daemon/server/router.js';
import { Session } from '../../daemon/server/session.js';

// Clients send a request schema's input (defaulted fields may be left out); the daemon's router validates and its
// handler gets the schema's output, defaults applied. So a default is written once, in daemon/protocol/.

const TOKEN = 'b'.repeat(64);

function duplexPair(): [Duplex, Duplex] {
  const toServer = new PassThrough();
  const toClient = new PassThrough();
  return [Duplex.from({ readable: toClient, writable: toServer }), Duplex.from({ readable: toServer, writable: toClient })];
}

// Type-level checks, enforced by `tsc -b`: a client may leave defaulted fields out, a handler never sees them missing.
const sent: RequestParams<typeof DeployStart> = { folder: '/srv/shop', project: 'shop', repository: 'owner/shop' };
// @ts-expect-error a handler's params are the schema's output: `registry`, `timeoutSeconds`, `ref`… are always there
const _received: ValidatedParams<typeof DeployStart> = { folder: '/srv/shop', project: 'shop', repository: 'owner/shop' };
// @ts-expect-error a client still has to send what the schema requires
const _incomplete: RequestParams<typeof DeployStart> = { folder: '/srv/shop', project: 'shop' };

// The domain's inputs (DeployRequest, AllocationRequest, NewServer, ServerChanges, SecretDescription) are derived
// from the validated params (`ValidatedParams<typeof X>`), so a field can only be declared in the protocol schema.

describe('protocol defaults are applied by the daemon, not restated by clients', () => {
  let folder: string;
  let logger: Logger;
  let router: Router;
  const seen: { deploy?: ValidatedParams<typeof DeployStart>; server?: ValidatedParams<typeof ServersAdd>; log?: ValidatedParams<typeof RunsLog> } = {};
  const sessions: Session[] = [];

  before(() => {
    folder = fs.mkdtempSync(path.join(os.tmpdir(), 'zavhoz-single-source-'));
    const redactor = new Redactor();
    logger = new Logger({ file: path.join(folder, 'daemon.log'), redactor });
    router = new Router(redactor, logger.child({ component: 'rpc' }));
    router.handle(DeployStart, (params) => {
      // Typed as the schema's output: no `?? default` is needed (or allowed to creep back in) here.
      const timeout: number = params.timeoutSeconds;
      const registry: string = params.registry;
      seen.deploy = { ...params, timeoutSeconds: timeout, registry };
      return { id: 'run_aaaaaaaaaa' } as RunDetail;
    });
    router.handle(ServersAdd, (params) => {
      seen.server = params;
      throw new Error('not stored: the test only looks at the params');
    });
    router.handle(RunsLog, (params) => {
      seen.log = params;
      return { lines: [], next: params.from, total: 0, more: false, status: 'succeeded' as const };
    });
  });

  after(() => {
    for (const session of sessions) session.close();
    logger.close();
    fs.rmSync(folder, { recursive: true, force: true });
  });

  async function client(): Promise<DaemonClient> {
    const [clientEnd, serverEnd] = duplexPair();
    sessions.push(
      new Session(serverEnd, sessions.length + 1, {
        router,
        token: TOKEN,
        log: logger.child({ component: 'daemon' }),
        describe: () => ({ daemonVersion: 'test', pid: process.pid, dataFolder: folder }),
        onClose: () => undefined,
      }),
    );
    return DaemonClient.overStream(clientEnd, { clientName: 'test', token: TOKEN });
  }

  test('a deploy that names only folder, project and repository gets the schema defaults in the handler', async () => {
    const connected = await client();
    await connected.request(DeployStart, sent);
    assert.deepEqual(seen.deploy, {
      ...sent,
      ref: DEFAULT_REF,
      bindings: {},
      registry: DEFAULT_REGISTRY,
      timeoutSeconds: RUN_TIMEOUT.default,
      healthPaths: {},
      noRollback: false,
      confirmed: false,
      wait: false,
    });
    connected.close();
  });

  test('what a client does send wins over the default', async () => {
    const connected = await client();
    await connected.request(DeployStart, { ...sent, ref: 'v1.2.0', timeoutSeconds: 60, wait: false });
    assert.equal(seen.deploy?.ref, 'v1.2.0');
    assert.equal(seen.deploy.timeoutSeconds, 60);
    assert.equal(seen.deploy.registry, DEFAULT_REGISTRY);
    connected.close();
  });

  test('other areas behave the same: servers/add and runs/log', async () => {
    const connected = await client();
    await assert.rejects(connected.request(ServersAdd, { handle: 'web-1', host: '203.0.113.10' }));
    assert.deepEqual(seen.server, { handle: 'web-1', host: '203.0.113.10', sshPort: DEFAULT_SSH_PORT, sshUser: DEFAULT_SSH_USER, labels: [] });
    await connected.request(RunsLog, { id: 'run_aaaaaaaaaa' });
    assert.deepEqual(seen.log, { id: 'run_aaaaaaaaaa', from: 0, limit: RUN_LOG_PAGE.default, follow: false });
    connected.close();
  });
});

// A static check of the source: a request sent with a field set to exactly the schema's default restates that
// default (`registry: 'ghcr.io'`, `timeoutSeconds: input.timeoutSeconds ?? 1800`, `force: false`). Leave the field
// out and the daemon applies the default; a value the user chose is an expression, never the default's literal.

const root = path.resolve(import.meta.dirname, '../..');
const scanned = ['daemon', 'extension', 'webview'];
const protocolFolder = path.join(root, 'daemon', 'protocol');

/** Request export name → defaulted field → default value, read from the schemas themselves. */
function defaultsByRequest(): Map<string, Map<string, unknown>> {
  const found = new Map<string, Map<string, unknown>>();
  for (const [name, value] of Object.entries(protocol)) {
    if (typeof value !== 'object' || !('method' in value) || !('params' in value)) continue;
    const params: unknown = value.params;
    if (!(params instanceof z.ZodObject)) continue;
    const defaults = new Map<string, unknown>();
    for (const [field, schema] of Object.entries(params.shape)) {
      if (schema instanceof z.ZodDefault) defaults.set(field, schema.parse(undefined));
    }
    if (defaults.size > 0) found.set(name, defaults);
  }
  return found;
}

function sourceFiles(folder: string): string[] {
  return fs.readdirSync(folder, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(folder, entry.name);
    if (entry.isDirectory()) return full === protocolFolder || entry.name === 'node_modules' ? [] : sourceFiles(full);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [full] : [];
  });
}

/** The value an expression stands for when it is a literal or names a protocol constant (`RUN_TIMEOUT.default`). */
function constantValue(expression: ts.Expression): { readonly known: boolean; readonly value?: unknown } {
  if (ts.isParenthesizedExpression(expression)) return constantValue(expression.expression);
  if (ts.isStringLiteral(expression) || ts.isNoSubstitutionTemplateLiteral(expression)) return { known: true, value: expression.text };
  if (ts.isNumericLiteral(expression)) return { known: true, value: Number(expression.text.replace(/_/g, '')) };
  if (expression.kind === ts.SyntaxKind.TrueKeyword) return { known: true, value: true };
  if (expression.kind === ts.SyntaxKind.FalseKeyword) return { known: true, value: false };
  if (ts.isObjectLiteralExpression(expression) && expression.properties.length === 0) return { known: true, value: {} };
  if (ts.isArrayLiteralExpression(expression) && expression.elements.length === 0) return { known: true, value: [] };
  if (ts.isIdentifier(expression) && expression.text in protocol) return { known: true, value: (protocol as Record<string, unknown>)[expression.text] };
  if (ts.isPropertyAccessExpression(expression) && ts.isIdentifier(expression.expression) && expression.expression.text in protocol) {
    const owner = (protocol as Record<string, unknown>)[expression.expression.text];
    if (typeof owner === 'object' && owner !== null) return { known: true, value: (owner as Record<string, unknown>)[expression.name.text] };
  }
  return { known: false };
}

/** The values a field's expression may restate: itself, or the fallback of `x ?? fallback` / `x || fallback`. */
function restatedValues(expression: ts.Expression): unknown[] {
  if (ts.isBinaryExpression(expression) && [ts.SyntaxKind.QuestionQuestionToken, ts.SyntaxKind.BarBarToken].includes(expression.operatorToken.kind)) {
    return restatedValues(expression.right);
  }
  const constant = constantValue(expression);
  return constant.known ? [constant.value] : [];
}

/** The object literals a params argument is built from: itself, a same-file `const` it names, and what it spreads. */
function paramObjects(expression: ts.Expression, declared: ReadonlyMap<string, ts.Expression>, depth = 0): ts.ObjectLiteralExpression[] {
  if (depth > 3) return [];
  const target = ts.isIdentifier(expression) ? declared.get(expression.text) : expression;
  if (!target || !ts.isObjectLiteralExpression(target)) return [];
  const spread = target.properties.filter(ts.isSpreadAssignment).flatMap((item) => paramObjects(item.expression, declared, depth + 1));
  return [target, ...spread];
}

/** Every `field: default` sent with a request definition, as `file:line Request.field`. */
function restatedDefaults(files: readonly { readonly name: string; readonly text: string }[]): string[] {
  const defaults = defaultsByRequest();
  // A finding needs a request with defaults named by an identifier in the file: a file that never names one is not
  // parsed (most of the tree; parsing every file was most of this test's 2-5 s).
  const named = new RegExp(`\\b(?:${[...defaults.keys()].join('|')})\\b`);
  const findings: string[] = [];
  for (const file of files) {
    if (!named.test(file.text)) continue;
    const source = ts.createSourceFile(file.name, file.text, ts.ScriptTarget.ES2022, true);
    const declared = new Map<string, ts.Expression>();
    const collect = (node: ts.Node): void => {
      if (ts.isVariableDeclaration(node) && ts.isIdentifier(node.name) && node.initializer) declared.set(node.name.text, node.initializer);
      ts.forEachChild(node, collect);
    };
    collect(source);
    const visit = (node: ts.Node): void => {
      if (ts.isCallExpression(node)) {
        node.arguments.forEach((argument, index) => {
          const request = ts.isIdentifier(argument) ? defaults.get(argument.text) : undefined;
          const params = node.arguments[index + 1];
          if (!request || !params) return;
          for (const property of paramObjects(params, declared).flatMap((object) => [...object.properties])) {
            if (!ts.isPropertyAssignment(property) || !ts.isIdentifier(property.name) || !request.has(property.name.text)) continue;
            const fallback = request.get(property.name.text);
            if (restatedValues(property.initializer).some((value) => JSON.stringify(value) === JSON.stringify(fallback))) {
              const { line } = source.getLineAndCharacterOfPosition(property.getStart());
              findings.push(`${file.name}:${line + 1} ${(argument as ts.Identifier).text}.${property.name.text}`);
            }
          }
        });
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  return [...new Set(findings)];
}

describe('no client restates a protocol default', () => {
  test('the check knows the defaults and catches planted restatements', () => {
    const defaults = defaultsByRequest();
    assert.equal(defaults.get('DeployStart')?.get('timeoutSeconds'), RUN_TIMEOUT.default);
    assert.equal(defaults.get('ServersAdd')?.get('sshUser'), DEFAULT_SSH_USER);
    const planted = [
      'const base = { ref: input.ref ?? "main", registry: DEFAULT_REGISTRY };',
      'void client.request(DeployStart, { ...base, timeoutSeconds: chosen ?? 1800, wait: false, repoUrl: url });',
      'void call(context, ServersAdd, { handle, host, sshPort: port, sshUser: "root", labels: [] });',
      'void client.request(RunsLog, { id, from: 0, follow });',
    ].join('\n');
    assert.deepEqual(restatedDefaults([{ name: 'planted.ts', text: planted }]), [
      'planted.ts:2 DeployStart.timeoutSeconds',
      'planted.ts:2 DeployStart.wait',
      'planted.ts:1 DeployStart.ref',
      'planted.ts:1 DeployStart.registry',
      'planted.ts:3 ServersAdd.sshUser',
      'planted.ts:3 ServersAdd.labels',
      'planted.ts:4 RunsLog.from',
    ]);
  });

  test('daemon/, extension/ and webview/ send no defaulted field set to its default', () => {
    const files = scanned.flatMap((folder) => sourceFiles(path.join(root, folder)));
    assert.deepEqual(restatedDefaults(files.map((file) => ({ name: path.relative(root, file), text: fs.readFileSync(file, 'utf8') }))), []);
  });
});
