/** The Cloudflare DNS client against the loopback test double of Cloudflare's API (test/fakes/cloudflare.ts). */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ZavhozError } from '../../daemon/core/errors.js';
import { CloudflareDns, recordTypeOf } from '../../daemon/dns/cloudflare.js';
import { ErrorCodes } from '../../daemon/protocol/errors.js';
import { type FakeCloudflare, startFakeCloudflare } from '../fakes/cloudflare.js';

describe('dns: Cloudflare records through the API test double', () => {
  let cloudflare: FakeCloudflare;
  let dns: CloudflareDns;
  before(async () => {
    cloudflare = await startFakeCloudflare({ zones: ['example.com', 'eu.example.com'] });
    dns = new CloudflareDns({ apiBase: cloudflare.url, token: cloudflare.token });
  });
  after(() => cloudflare.stop());

  it('creates the record in the most specific zone, updates it when the address changes, then deletes it', async () => {
    assert.equal(await dns.upsert('shop.eu.example.com', 'A', '203.0.113.7'), 'created');
    assert.equal(cloudflare.records.length, 1);
    assert.equal(cloudflare.records[0]?.zoneId, cloudflare.zones.get('eu.example.com'));
    assert.equal(await dns.upsert('shop.eu.example.com', 'A', '203.0.113.7'), 'unchanged');
    assert.equal(await dns.upsert('shop.eu.example.com', 'A', '203.0.113.8'), 'updated');
    assert.equal(cloudflare.records[0]?.content, '203.0.113.8');
    assert.equal(cloudflare.records[0].proxied, false, 'not behind Cloudflare\'s proxy: the server answers HTTPS itself');
    assert.equal(await dns.remove('shop.eu.example.com', 'A'), true);
    assert.equal(cloudflare.records.length, 0);
    assert.equal(await dns.remove('shop.eu.example.com', 'A'), false);
  });

  it('waits out a 429 for as long as Retry-After says, then succeeds', async () => {
    cloudflare.rateLimitNext(2, 0.2);
    const started = Date.now();
    assert.equal(await dns.upsert('api.example.com', 'AAAA', '2001:db8::1'), 'created');
    assert.ok(Date.now() - started >= 350, 'waited twice');
    assert.equal(cloudflare.calls.filter((call) => call.status === 429).length, 2);
  });

  it('gives up on a wait longer than allowed, saying it is rate-limited', async () => {
    cloudflare.rateLimitNext(1, 120);
    await assert.rejects(dns.upsert('x.example.com', 'A', '203.0.113.9'), (error: unknown) => error instanceof ZavhozError && error.code === ErrorCodes.RateLimited);
  });

  it('a bad token is an authentication error that says what to do, and never shows the token', async () => {
    const bad = new CloudflareDns({ apiBase: cloudflare.url, token: 'not-the-token-123' });
    await assert.rejects(bad.upsert('shop.example.com', 'A', '203.0.113.7'), (error: unknown) => {
      assert.ok(error instanceof ZavhozError);
      assert.equal(error.code, ErrorCodes.AuthenticationFailed);
      assert.match(error.message, /dnsTokenSecret/);
      assert.ok(!error.message.includes('not-the-token-123'));
      return true;
    });
  });

  it('an unknown zone and a server error are clear errors', async () => {
    await assert.rejects(dns.upsert('shop.example.org', 'A', '203.0.113.7'), /no zone for shop\.example\.org/);
    cloudflare.failNext(500, 'Internal error');
    await assert.rejects(dns.upsert('shop.example.com', 'A', '203.0.113.7'), /500: Internal error/);
  });

  it('an address makes an A or AAAA record; a host name none', () => {
    assert.equal(recordTypeOf('203.0.113.7'), 'A');
    assert.equal(recordTypeOf('[2001:db8::1]'), 'AAAA');
    assert.equal(recordTypeOf('vps.example.net'), undefined);
  });
});
