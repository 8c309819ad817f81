/** Notifications carry a `vscode://` link to what they are about: ids and handles only, never a value. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { messageLink, withLink } from '../../daemon/notify/links.js';
import { parseDeepLink } from '../../extension/model/deepLinks.js';

describe('links in notifications', () => {
  test('an approval, a run, a secret or a server gets the link the extension opens', () => {
    const cases = [
      [{ approval: 'apr_abcdefgh23', project: 'shop' }, { kind: 'run', id: 'apr_abcdefgh23' }],
      [{ run: 'run_abcdefgh23', project: 'shop', release: null }, { kind: 'run', id: 'run_abcdefgh23' }],
      [{ handle: 'sec_7f3k2x2m', name: 'API_TOKEN', version: 2 }, { kind: 'secret', handle: 'sec_7f3k2x2m' }],
      [{ project: 'shop', server: 'prod_vps_1', state: 'exited' }, { kind: 'server', handle: 'prod_vps_1' }],
    ] as const;
    for (const [detail, expected] of cases) {
      const link = messageLink(detail);
      assert.ok(link?.startsWith('vscode://zavhoz.zavhoz/'), link);
      assert.deepEqual(parseDeepLink(new URL(link ?? '').pathname), expected);
    }
  });

  test('a detail naming nothing known, or a redacted id, gets no link', () => {
    assert.equal(messageLink({ project: 'shop' }), undefined);
    assert.equal(messageLink({ run: '[REDACTED]' }), undefined);
    assert.equal(messageLink({ handle: 'not a handle' }), undefined);
    assert.equal(withLink('text', undefined), 'text');
    assert.equal(withLink('text', 'vscode://zavhoz.zavhoz/run/run_abcdefgh23'), 'text\nOpen in VS Code: vscode://zavhoz.zavhoz/run/run_abcdefgh23');
  });
});
