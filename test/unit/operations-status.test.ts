import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseLogLine } from '../../daemon/operations/logs.js';
import type { Placement } from '../../daemon/operations/ports.js';
import { shellQuote } from '../../daemon/core/shell.js';
import { controlScript, engineSince, FIELD, logsScript, MARK, statusScript } from '../../daemon/operations/remote.js';
import { parseServerReport, projectStatusOf } from '../../daemon/operations/status.js';
import { execFileSync } from 'node:child_process';

const shop: Placement = { project: 'shop', server: 'vps1', host: '10.0.0.5', modules: [{ module: 'app', port: 8003 }], release: null };

/** A container line as the status script's docker template prints it. */
function container(fields: { project: string; service: string; state?: string; health?: string; ports?: string; image?: string; imageId?: string; started?: string }): string {
  return [
    'C',
    fields.project,
    fields.service,
    `/${fields.project}_${fields.service}_1`,
    fields.state ?? 'running',
    fields.health ?? '',
    '2',
    fields.image ?? '127.0.0.1:5000/acme/shop:1.0',
    fields.imageId ?? 'sha256:aaa',
    fields.started ?? '2026-12-06T18:00:00.123456789Z',
    '0001-01-01T00:00:00Z',
    '0',
    fields.ports ?? '',
    `id-${fields.service}`,
  ].join(FIELD);
}

test('status rows: module by published port, URL, digest of the named repository, engine "never" times as null', () => {
  const output = [
    `D${FIELD}shop`,
    container({ project: 'shop', service: 'backend', health: 'healthy', ports: '8003 ' }),
    container({ project: 'shop', service: 'db', state: 'exited' }),
    container({ project: 'other', service: 'web', ports: '8004 ' }),
    `I${FIELD}sha256:aaa${FIELD}mirror/acme/shop@sha256:111 127.0.0.1:5000/acme/shop@sha256:222 `,
  ].join('\n');
  const status = projectStatusOf(shop, parseServerReport(output));
  assert.equal(status.state, 'deployed');
  assert.deepEqual(
    status.services.map((service) => [service.service, service.module, service.state, service.health, service.url, service.digest, service.finishedAt, service.restarts]),
    [
      ['backend', 'app', 'running', 'healthy', 'http://10.0.0.5:8003', '127.0.0.1:5000/acme/shop@sha256:222', null, 2],
      ['db', null, 'exited', 'none', null, '127.0.0.1:5000/acme/shop@sha256:222', null, 2],
    ],
  );
});

test('a label or key the container lacks ("<no value>" from docker\'s template) is empty, not a name', () => {
  const line = container({ project: 'shop', service: '<no value>', health: '<no value>' });
  const [service] = projectStatusOf(shop, parseServerReport(line)).services;
  assert.equal(service?.service, '');
  assert.equal(service.health, 'none');
});

test('status of a project with no containers says whether it was ever deployed; no docker says to install it', () => {
  assert.match(projectStatusOf(shop, parseServerReport('')).error ?? '', /never deployed there \(no \/opt\/services\/shop\)/);
  assert.match(projectStatusOf(shop, parseServerReport(`D${FIELD}shop`)).error ?? '', /exists on vps1 but no container/);
  assert.equal(projectStatusOf(shop, parseServerReport(MARK.noDocker)).state, 'no-docker');
  assert.equal(projectStatusOf({ ...shop, host: '::1' }, parseServerReport(container({ project: 'shop', service: 'backend', ports: '8003' }))).services[0]?.url, 'http://[::1]:8003');
});

test('scripts are valid sh, quote every name, and read what they say', () => {
  for (const script of [
    statusScript(['shop', "it's"]),
    controlScript('shop', 'restart', ['backend']),
    logsScript({ containers: [{ id: 'abc', service: 'backend' }], tail: 10, since: '10m', follow: true }),
    logsScript({ containers: [{ id: 'abc', service: 'backend' }, { id: 'def', service: 'db' }], tail: 10, follow: false }),
  ]) {
    execFileSync('sh', ['-n', '-c', script]);
  }
  assert.equal(shellQuote("it's"), `'it'\\''s'`);
  assert.match(controlScript('shop', 'stop', []), /'-p' 'shop' '--env-file' '\.env' '-f' 'infra\/compose\.base\.yml' '-f' 'infra\/compose\.prod\.yml' 'stop' 2>&1$/);
});

test('--since in days becomes hours (the engine takes Go durations); other forms pass unchanged', () => {
  assert.equal(engineSince('2d'), '48h');
  assert.equal(engineSince('10m'), '10m');
  assert.equal(engineSince('2026-12-06T18:00:00Z'), '2026-12-06T18:00:00Z');
  assert.match(logsScript({ containers: [{ id: 'abc', service: 'backend' }], tail: 5, since: '1d', follow: false }), /'--since' '24h'/);
});

test('log lines: service, engine time and text', () => {
  assert.deepEqual(parseLogLine(`backend${FIELD}2026-12-06T18:00:00.1Z hello world`), { service: 'backend', at: '2026-12-06T18:00:00.1Z', text: 'hello world' });
  assert.deepEqual(parseLogLine(`db${FIELD}no time here`), { service: 'db', at: '', text: 'no time here' });
});
