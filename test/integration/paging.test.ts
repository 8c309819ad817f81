/**
 * Lists at scale against a real daemon process: 3,000 servers come back whole through `server list --json` (one
 * answer of them would be over the 1 MiB message limit), page by page, and a daemon killed in the middle of a list
 * leaves the CLI with one line on stderr and exit code 1, never a stack trace.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { DaemonConnectionLostError } from '../../daemon/client/client.js';
import { ErrorCodes } from '../../daemon/protocol/errors.js';
import { DaemonPing } from '../../daemon/protocol/lifecycle.js';
import { type ServerInfo, ServersAdd, ServersList } from '../../daemon/protocol/servers.js';
import { CLI_SCRIPT, type TestDaemon, startTestDaemon } from '../harness/daemon.js';
import { startMcp } from './agent-support.js';

const SERVERS = 3_000;

function handleOf(index: number): string {
  return `srv-${String(index).padStart(5, '0')}`;
}

/** Asserts that stderr is one line of explanation, with nothing that looks like a stack trace. */
function assertOneLine(stderr: string): void {
  const lines = stderr.trim().split('\n');
  assert.equal(lines.length, 1, stderr);
  assert.match(lines[0] ?? '', /^zavhoz: /);
  assert.doesNotMatch(stderr, /\n\s+at |Error \[|node:internal/);
}

describe('lists with 3,000 servers', () => {
  let daemon: TestDaemon;

  before(async () => {
    daemon = await startTestDaemon();
    const client = await daemon.connect();
    // In batches: all at once is fine for the daemon, but keeps 3,000 promises and their answers alive at once.
    for (let start = 0; start < SERVERS; start += 500) {
      await Promise.all(
        Array.from({ length: 500 }, (_, offset) =>
          client.request(ServersAdd, { handle: handleOf(start + offset), host: `10.1.${(start + offset) >> 8}.${(start + offset) & 255}`, labels: ['scale', 'paging-test'] }),
        ),
      );
    }
    client.close();
  });

  after(async () => {
    await daemon.dispose();
  });

  test('server list --json returns every server as one JSON array', async () => {
    const result = await daemon.cli(['server', 'list', '--json']);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stderr, '');
    assert.ok(Buffer.byteLength(result.stdout) > 1024 * 1024, 'the whole list is larger than one message may be');
    const servers = JSON.parse(result.stdout) as ServerInfo[];
    assert.equal(servers.length, SERVERS);
    assert.deepEqual(
      servers.map((server) => server.handle),
      Array.from({ length: SERVERS }, (_, index) => handleOf(index)),
    );
  });

  test('server list prints a table of every server, page by page', async () => {
    const result = await daemon.cli(['server', 'list']);
    assert.equal(result.code, 0, result.stderr);
    const lines = result.stdout.trimEnd().split('\n');
    assert.equal(lines.filter((line) => line.startsWith('HANDLE')).length, 1, 'one header');
    assert.equal(lines.length, SERVERS + 1);
    assert.match(lines.at(-1) ?? '', new RegExp(`^${handleOf(SERVERS - 1)} `));
  });

  test('servers/list answers in pages, each under the message limit, that add up to the inventory', async () => {
    const client = await daemon.connect();
    try {
      let pages = 0;
      const handles: string[] = [];
      for await (const page of client.pages(ServersList, {})) {
        pages++;
        assert.ok(Buffer.byteLength(JSON.stringify(page)) < 1024 * 1024);
        handles.push(...page.servers.map((server) => server.handle));
      }
      assert.ok(pages > 1, `${pages} page(s)`);
      assert.equal(new Set(handles).size, SERVERS);
      await assert.rejects(client.request(ServersList, { limit: 5_000 }), (error: { code?: number }) => error.code === ErrorCodes.InvalidParams);
    } finally {
      client.close();
    }
  });

  test('a client refuses to send an oversize request, and its connection goes on', async () => {
    const client = await daemon.connect();
    try {
      await assert.rejects(client.request(DaemonPing, { payload: 'x'.repeat(2 * 1024 * 1024) }), (error: { code?: number; message: string }) => {
        assert.equal(error.code, ErrorCodes.MessageTooLarge);
        assert.match(error.message, /over the \d+-byte limit/);
        return true;
      });
      assert.deepEqual(await client.request(DaemonPing, { payload: 'still here' }), { payload: 'still here' });
    } finally {
      client.close();
    }
  });

  test('a daemon killed in the middle of a list: the CLI prints one line and exits 1', async () => {
    const child = spawn(process.execPath, [CLI_SCRIPT, 'server', 'list', '--json'], { env: daemon.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const exited = new Promise<number | null>((resolve) => child.once('close', resolve));
    await new Promise<void>((resolve) =>
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
        // At the first page the CLI is held still, so the daemon dies while the list is half-way, whatever the timing.
        if (stdout === '') {
          child.kill('SIGSTOP');
          resolve();
        }
        stdout += chunk;
      }),
    );
    await daemon.kill9();
    child.kill('SIGCONT');
    const code = await exited;
    assert.equal(code, 1, `stdout: ${stdout.slice(-200)}\nstderr: ${stderr}`);
    assertOneLine(stderr);
    assert.match(stderr, /connection to the Zavhoz daemon was lost/);
    await daemon.start();
  });

  test('the MCP server lists every managed server, and survives a killed daemon', async () => {
    const mcp = await startMcp(daemon, daemon.home);
    try {
      const listed = await mcp.call('zavhoz_list_managed_servers', {});
      assert.equal(listed.isError, false, listed.text.slice(0, 300));
      assert.match(listed.text, new RegExp(`^${SERVERS} managed server\\(s\\)`));
      assert.ok(listed.text.includes(handleOf(SERVERS - 1)));
      await daemon.kill9();
      // The link notices the lost connection: the next call starts the daemon again (or, if that failed, says so in
      // one line); either way the server stays up and prints no stack trace.
      const after = await mcp.call('zavhoz_list_managed_servers', {});
      if (after.isError) assert.equal(after.text.split('\n').length, 1, after.text);
      else assert.match(after.text, new RegExp(`^${SERVERS} managed server\\(s\\)`));
      assert.doesNotMatch(mcp.stderr(), /\n\s+at |Error \[/);
      assert.deepEqual(mcp.protocolErrors, []);
    } finally {
      await mcp.close();
      await daemon.start();
    }
  });

  test('a client paging when the daemon dies gets DaemonConnectionLostError, not a hang or a crash', async () => {
    const client = await daemon.connect();
    const pages = client.pages(ServersList, { limit: 100 });
    assert.ok(!(await pages.next()).done);
    await daemon.kill9();
    await assert.rejects(pages.next(), (error) => error instanceof DaemonConnectionLostError && !error.message.includes('\n'));
    client.close();
    await daemon.start();
  });
});
