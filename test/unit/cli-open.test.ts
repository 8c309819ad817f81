/** `--open` hands the run's vscode:// link to VS Code (here: the program ZAVHOZ_OPEN_WITH names), or prints it. */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { openLink } from '../../daemon/cli/openLink.js';
import { waitUntil } from '../harness/processes.js';

describe('zavhoz … --open', () => {
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'zavhoz-open-'));
  const saved = process.env.ZAVHOZ_OPEN_WITH;
  after(() => {
    if (saved === undefined) delete process.env.ZAVHOZ_OPEN_WITH;
    else process.env.ZAVHOZ_OPEN_WITH = saved;
    fs.rmSync(folder, { recursive: true, force: true });
  });

  test('the link goes to the opener as its one argument', async () => {
    const received = path.join(folder, 'received');
    const opener = path.join(folder, 'opener.sh');
    fs.writeFileSync(opener, `#!/bin/sh\nprintf '%s|%s' "$#" "$1" > '${received}'\n`, { mode: 0o700 });
    process.env.ZAVHOZ_OPEN_WITH = opener;
    const said: string[] = [];
    assert.equal(await openLink('vscode://zavhoz.zavhoz/run/run_abcdefgh23', (line) => said.push(line)), true);
    const got = await waitUntil('the opener to run', () => (fs.existsSync(received) ? fs.readFileSync(received, 'utf8') || undefined : undefined), 10_000);
    assert.equal(got, '1|vscode://zavhoz.zavhoz/run/run_abcdefgh23');
    assert.deepEqual(said, ['opening vscode://zavhoz.zavhoz/run/run_abcdefgh23 in VS Code']);
  });

  test('when nothing can open it, the link is printed for the person', async () => {
    process.env.ZAVHOZ_OPEN_WITH = path.join(folder, 'no-such-program');
    const said: string[] = [];
    assert.equal(await openLink('vscode://zavhoz.zavhoz/run/apr_abcdefgh23', (line) => said.push(line)), false);
    assert.match(said[0] ?? '', /open this link in VS Code: vscode:\/\/zavhoz\.zavhoz\/run\/apr_abcdefgh23$/);
  });
});
