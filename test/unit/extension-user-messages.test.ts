/**
 * Errors a person reads (a notification, a webview field, the CLI's stderr) are phrased for them: the field is
 * named as they saw it, they are told what to do, and neither the router's wording ("Invalid params") nor a
 * request's method name (`secrets/set`) reaches them. The daemon's own wording stays in the logs.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { CancellationTokenSource, RequestType, ResponseError } from 'vscode-jsonrpc';
import { describeDaemonError, userMessage, valueTooLargeText } from '../../daemon/client/userMessages.js';
import { Logger } from '../../daemon/core/logger.js';
import { Redactor } from '../../daemon/core/redactor.js';
import { ErrorCodes } from '../../daemon/protocol/errors.js';
import type { RequestDefinition } from '../../daemon/protocol/define.js';
import * as protocol from '../../daemon/protocol/index.js';
import { MAX_SECRET_BYTES } from '../../daemon/protocol/secretFields.js';
import { Router } from '../../daemon/server/router.js';

const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'zavhoz-user-messages-'));
after(() => fs.rmSync(folder, { recursive: true, force: true }));

const definitions = (Object.values(protocol) as unknown[]).filter(
  (value): value is RequestDefinition<unknown, unknown> => value !== null && typeof value === 'object' && 'type' in value && value.type instanceof RequestType,
);
const methods = (Object.values(protocol) as unknown[]).flatMap((value) => (value !== null && typeof value === 'object' && 'method' in value && typeof value.method === 'string' ? [value.method] : []));

/** Fails when a text meant for a person carries protocol wording. */
function assertForPeople(text: string, context: string): void {
  assert.doesNotMatch(text, /Invalid params/i, `${context}: ${text}`);
  assert.doesNotMatch(text, /Too (big|small): expected|Invalid input: expected|Unrecognized key/, `${context}: ${text}`);
  for (const method of methods) assert.ok(!text.includes(method), `${context} names the method ${method}: ${text}`);
}

/** What the real router answers to these params of this request (never reaching a handler). */
async function refusal(router: Router, method: string, params: unknown): Promise<ResponseError<unknown>> {
  try {
    await router.dispatch(method, params, { connectionId: 1, name: 'test', connectedAt: new Date().toISOString() }, new CancellationTokenSource().token);
  } catch (error) {
    assert.ok(error instanceof ResponseError);
    return error;
  }
  throw new Error(`${method} accepted the params`);
}

describe('errors shown to people', () => {
  const redactor = new Redactor();
  const router = new Router(redactor, new Logger({ file: path.join(folder, 'daemon.log'), redactor }).child({ component: 'rpc' }));
  const refusing = () => {
    throw new Error('the handler must not run');
  };
  for (const definition of definitions) router.handle(definition, refusing);

  test('an oversize secret value names the field, the limit in KiB and what to do instead', async () => {
    const error = await refusal(router, protocol.SecretsSet.method, { name: 'DEPLOY_SSH_KEY', type: 'text', value: 'x'.repeat(3 * MAX_SECRET_BYTES) });
    assert.match(error.message, /Invalid params for secrets\/set/, 'the wire keeps the protocol wording');
    const shown = userMessage(error);
    assert.equal(shown.field, 'value');
    assert.equal(shown.text, valueTooLargeText());
    assert.match(shown.text, /^Value is too large: at most 64 KiB\. Store large files/);
    assertForPeople(shown.text, 'oversize value');
  });

  test("the vault's own size refusal becomes the same plain sentence, on the value field", () => {
    const shown = describeDaemonError(ErrorCodes.InvalidInput, 'The value of BIG is 70000 bytes; the vault keeps values up to 65536 bytes (64 KiB).');
    assert.equal(shown.field, 'value');
    assert.match(shown.text, /^Value is too large: 68\.4 KiB, at most 64 KiB\. Store large files/);
  });

  test('a bad name says what a name must look like', async () => {
    const shown = userMessage(await refusal(router, protocol.SecretsSet.method, { name: 'bad name', type: 'token', value: 'x' }));
    assert.deepEqual(shown, { text: 'Name must be an environment variable name like TELEGRAM_BOT_TOKEN.', field: 'name' });
  });

  test('missing, out-of-range and unknown fields read as sentences', async () => {
    assert.equal(userMessage(await refusal(router, protocol.SecretsGenerate.method, { name: 'A', type: 'token', length: 4 })).text, 'Length must be at least 16.');
    assert.equal(userMessage(await refusal(router, protocol.SecretsSet.method, { type: 'token', value: 'x' })).text, 'Name is required.');
    assert.match(userMessage(await refusal(router, protocol.SecretsSet.method, { name: 'A', type: 'nope', value: 'x' })).text, /^Type must be one of password, token, text, private_key\.$/);
  });

  test('no request of the protocol, refused for any of its params, shows protocol wording or a method name', async () => {
    const bad: unknown[] = [{ unexpected: true }, { limit: -1, name: 5, handle: 'x', project: '', value: 7 }, 'not an object'];
    let checked = 0;
    for (const definition of definitions) {
      for (const params of bad) {
        let error: ResponseError<unknown>;
        try {
          error = await refusal(router, definition.method, params);
        } catch {
          continue; // a request with no params accepts anything object-shaped
        }
        assertForPeople(userMessage(error).text, `${definition.method} ${JSON.stringify(params)}`);
        checked++;
      }
    }
    assert.ok(checked > definitions.length, `checked ${checked} refusals of ${definitions.length} requests`);
  });

  test('unknown methods, crashes and oversize answers say what to do without naming the request', async () => {
    const unknown = await refusal(router, 'secrets/frobnicate', {});
    assert.match(userMessage(unknown).text, /Restart the daemon after updating/);
    const crash = describeDaemonError(ErrorCodes.InternalError, 'Internal error in secrets/set (request d-1a2b3c). The daemon log has the details; please report it.');
    assert.equal(crash.text, 'Something went wrong inside the Zavhoz daemon (request d-1a2b3c). Its log has the details; please report it.');
    const large = describeDaemonError(ErrorCodes.MessageTooLarge, 'The answer to runs/list would be 2000000 bytes, over the limit.');
    for (const shown of [userMessage(unknown), crash, large]) assertForPeople(shown.text, 'special codes');
  });

  test('no title, welcome text or walkthrough step of package.json names a request or says "Invalid params"', () => {
    const manifest = JSON.parse(fs.readFileSync(path.join(import.meta.dirname, '..', '..', 'package.json'), 'utf8')) as { contributes: Record<string, unknown> };
    const texts: string[] = [];
    const collect = (value: unknown, key: string): void => {
      if (typeof value === 'string' && ['title', 'contents', 'description', 'name', 'displayName'].includes(key)) texts.push(value);
      else if (Array.isArray(value)) for (const item of value) collect(item, key);
      else if (value && typeof value === 'object') for (const [inner, item] of Object.entries(value)) collect(item, inner);
    };
    const { languageModelTools: _tools, ...shown } = manifest.contributes;
    collect(shown, '');
    assert.ok(texts.length > 50, `found ${texts.length} texts`);
    for (const text of texts) assertForPeople(text, 'package.json');
  });

  test("a domain error keeps the daemon's sentence, less any method name; repository names are left alone", () => {
    assert.equal(describeDaemonError(ErrorCodes.NotFound, 'No secret sec_abcdefgh. Pick one from the Secrets view.').text, 'No secret sec_abcdefgh. Pick one from the Secrets view.');
    assert.equal(describeDaemonError(ErrorCodes.NotFound, 'Repository acme/shop-backend was not found.').text, 'Repository acme/shop-backend was not found.');
    assertForPeople(describeDaemonError(ErrorCodes.Conflict, 'Use secrets/rotate to replace DEPLOY_SSH_KEY.').text, 'domain error');
  });
});
