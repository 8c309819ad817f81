/**
 * The health probe's parsers against this machine's real output: `ss -ltnH` and its fallback, /proc/net/tcp{,6},
 * must name the same listening ports, and /proc/meminfo and `df -Pm /` must give plausible figures.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { PROBE_COMMAND, parseDf, parseMeminfo, parseProbe, parseProcNetTcp, parseSs } from '../../daemon/inventory/probe.js';

const run = promisify(execFile);

test('ss and /proc/net/tcp both see a port we listen on', async () => {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  try {
    const ss = parseSs((await run('ss', ['-ltnH'])).stdout);
    const proc = parseProcNetTcp(`${fs.readFileSync('/proc/net/tcp', 'utf8')}${fs.existsSync('/proc/net/tcp6') ? fs.readFileSync('/proc/net/tcp6', 'utf8') : ''}`);
    assert.ok(ss.includes(port), `ss sees ${port}`);
    assert.ok(proc.includes(port), `/proc/net/tcp sees ${port}`);
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

test('the probe command runs under sh here and yields memory, disk, cores and ports', async () => {
  const { stdout } = await run('sh', ['-c', PROBE_COMMAND]);
  const probe = parseProbe(stdout);
  assert.ok((probe.memTotalMb ?? 0) > 0 && (probe.memAvailableMb ?? 0) > 0);
  assert.ok((probe.memAvailableMb ?? 0) <= (probe.memTotalMb ?? 0));
  assert.ok((probe.diskTotalMb ?? 0) > 0 && (probe.diskAvailableMb ?? -1) >= 0);
  assert.ok((probe.cpuCores ?? 0) >= 1);
  assert.ok(probe.listeningPorts.length > 0);
});

test('the fallback path is taken when ss is missing', () => {
  const tcp = fs.readFileSync('/proc/net/tcp', 'utf8');
  const output = `MemTotal: 2048000 kB\nMemAvailable: 1024000 kB\n@@zavhoz-df\nFilesystem 1048576-blocks Used Available Capacity Mounted on\n/dev/vda1 40000 10000 30000 25% /\n@@zavhoz-cpu\n2\n@@zavhoz-ports\n@@zavhoz-proc\n${tcp}`;
  const probe = parseProbe(output);
  assert.deepEqual(
    { memTotalMb: probe.memTotalMb, memAvailableMb: probe.memAvailableMb, diskTotalMb: probe.diskTotalMb, diskAvailableMb: probe.diskAvailableMb, cpuCores: probe.cpuCores },
    { memTotalMb: 2000, memAvailableMb: 1000, diskTotalMb: 40000, diskAvailableMb: 30000, cpuCores: 2 },
  );
  assert.deepEqual(probe.listeningPorts, parseProcNetTcp(tcp));
  assert.deepEqual(parseMeminfo('nothing'), { totalMb: null, availableMb: null });
  assert.deepEqual(parseDf(''), { totalMb: null, availableMb: null });
});
