import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { PortMap } from '../../daemon/allocation/ports.js';

describe('allocation at scale', () => {
  test('the port map keeps ports anywhere in the range, including below the first allocated port and the very last one', () => {
    const ports = new PortMap();
    ports.load([
      { server: 's', port: 22 },
      { server: 's', port: 8000 },
      { server: 's', port: 65_535 },
      { server: 's', port: 40_001 },
    ]);
    for (const port of [22, 8000, 40_001, 65_535]) assert.equal(ports.isTaken('s', port), true, String(port));
    for (const port of [23, 8001, 40_000, 65_534]) assert.equal(ports.isTaken('s', port), false, String(port));
    assert.equal(ports.firstFree('s', () => false), 8001);
    assert.equal(ports.firstFree('s', (port) => port < 40_001), 40_002);
    ports.free('s', 22);
    ports.free('s', 65_535);
    ports.free('s', 60_000); // never taken, past the end of what the map holds: nothing to do
    assert.equal(ports.isTaken('s', 22), false);
    assert.equal(ports.isTaken('s', 65_535), false);
    assert.equal(ports.firstFree('s', (port) => port !== 65_535), 65_535);
  });

});
