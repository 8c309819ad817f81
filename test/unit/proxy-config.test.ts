import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { normalizeDomain } from '../../daemon/domains/names.js';
import { caddyConfig } from '../../daemon/proxy/config.js';
import { parseOutcome } from '../../daemon/proxy/remote.js';
import { SettingSchemas } from '../../daemon/protocol/settings.js';

describe('proxy: domain names', () => {
  it('accepts host names and wildcards, lowercased and without a trailing dot', () => {
    assert.deepEqual(normalizeDomain('Shop.Example.COM.'), { domain: 'shop.example.com', wildcard: false });
    assert.deepEqual(normalizeDomain('*.example.com'), { domain: '*.example.com', wildcard: true });
    assert.deepEqual(normalizeDomain('a-b.c1.example.org'), { domain: 'a-b.c1.example.org', wildcard: false });
  });

  it('refuses what is not a routable name, saying why', () => {
    for (const bad of ['localhost', '10.0.0.1', 'shop..example.com', '-shop.example.com', 'shop-.example.com', 'sh*p.example.com', 'a.*.example.com', 'shop_1.example.com', `${'a'.repeat(64)}.com`, '']) {
      const result = normalizeDomain(bad);
      assert.ok('error' in result, `${bad} should be refused`);
    }
    assert.match((normalizeDomain('10.0.0.1') as { error: string }).error, /IP address/);
  });
});

describe('proxy: Caddy config', () => {
  it("routes each domain to its module's port, then its switchover slot, with retries while the container is replaced", () => {
    const config = caddyConfig({
      httpPort: 8080,
      httpsPort: 8443,
      tls: 'internal',
      routes: [
        { domain: '*.example.com', upstreams: ['10.0.0.5:8001', '10.0.0.5:28001'] },
        { domain: 'api.example.com', upstreams: ['10.0.0.5:8002', '10.0.0.5:28002'] },
      ],
    });
    const text = JSON.stringify(config);
    const http = (config.apps as { http: { http_port: number; https_port: number; servers: { zavhoz: { listen: string[]; routes: { match: { host: string[] }[]; handle: { upstreams: { dial: string }[]; load_balancing: { try_duration: string } }[] }[] } } } }).http;
    assert.equal(http.http_port, 8080);
    assert.equal(http.https_port, 8443);
    assert.deepEqual(http.servers.zavhoz.listen, [':8443']);
    assert.deepEqual(http.servers.zavhoz.routes.map((route) => route.match[0]?.host[0]), ['api.example.com', '*.example.com']);
    assert.deepEqual(http.servers.zavhoz.routes[0]?.handle[0]?.upstreams.map((upstream) => upstream.dial), ['10.0.0.5:8002', '10.0.0.5:28002']);
    // The module's own port first; the slot only while that one refuses (a deploy replacing its container).
    assert.match(text, /"policy":"first"/);
    assert.match(text, /"passive":\{"fail_duration":"2s"/);
    assert.ok(http.servers.zavhoz.routes[0].handle[0].load_balancing.try_duration);
    assert.match(text, /"module":"internal"/);
    assert.match(text, /"install_trust":false/);
    // The admin API never listens on TCP: a host-networked proxy would let any local user reconfigure it.
    assert.match((config.admin as { listen: string }).listen, /^unix\//);
  });

  it('uses ACME (no issuer policy) in production', () => {
    const text = JSON.stringify(caddyConfig({ httpPort: 80, httpsPort: 443, tls: 'acme', routes: [{ domain: 'shop.example.com', upstreams: ['10.0.0.5:8001'] }] }));
    assert.doesNotMatch(text, /internal"/);
  });

  it('reads what the remote script did, or why it failed', () => {
    assert.deepEqual(parseOutcome('ZAVHOZ_PROXY started\n'), { action: 'started', noDocker: false, noFolder: false });
    assert.equal(parseOutcome('ZAVHOZ_PROXY_NO_FOLDER\n').noFolder, true);
    assert.equal(parseOutcome('ZAVHOZ_PROXY_FAILED adapting config: bad\n').failure, 'adapting config: bad');
    assert.equal(parseOutcome('ZAVHOZ_NO_DOCKER\n').noDocker, true);
  });
});

describe('proxy and DNS settings', () => {
  it('the Cloudflare API base takes the token, so https or loopback http only, and no login in the URL', () => {
    assert.ok(SettingSchemas.cloudflareApiBase.safeParse('https://api.cloudflare.com/client/v4').success);
    assert.ok(SettingSchemas.cloudflareApiBase.safeParse('http://127.0.0.1:9999/client/v4').success);
    assert.ok(!SettingSchemas.cloudflareApiBase.safeParse('http://api.cloudflare.com/client/v4').success);
    assert.ok(!SettingSchemas.cloudflareApiBase.safeParse('https://user:pass@api.cloudflare.com/client/v4').success);
  });

  it('the proxy image is an image reference, its TLS acme or internal, its ports real ports', () => {
    assert.ok(SettingSchemas.proxyImage.safeParse('127.0.0.1:5000/zavhoz-proxy/caddy:test').success);
    assert.ok(!SettingSchemas.proxyImage.safeParse('caddy:2; rm -rf /').success);
    assert.ok(!SettingSchemas.proxyTls.safeParse('self-signed').success);
    assert.ok(!SettingSchemas.proxyHttpsPort.safeParse(0).success);
    assert.ok(SettingSchemas.dnsTokenSecret.safeParse('').success);
  });
});
