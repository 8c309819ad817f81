/**
 * The proxy service's answers when the script on a server fails, with the SSH shell faked (the edge): each cause
 * the user can fix gets its own message and remedy.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ZavhozError } from '../../daemon/core/errors.js';
import { ErrorCodes } from '../../daemon/protocol/errors.js';
import { proxyRestartOf } from '../../daemon/proxy/restarts.js';
import { type ProxyOutcome, ProxyService } from '../../daemon/proxy/service.js';
import type { ProxySeen } from '../../daemon/proxy/status.js';

const USE = { client: 'cli', requestId: 'r-1', action: 'ssh', detail: {} };
const MODEL = { httpPort: 80, httpsPort: 443, tls: 'acme' as const, routes: [] };

/** What `apply` throws when the server's script answers with this. */
async function failureOf(answer: { stdout: string; stderr: string; code: number }): Promise<ZavhozError> {
  const proxy = new ProxyService({
    openShell: () => Promise.resolve({ exec: () => Promise.resolve(answer), close: () => undefined }),
    image: () => 'caddy:2',
  });
  try {
    await proxy.apply('alpha', () => MODEL, USE);
  } catch (error) {
    assert.ok(error instanceof ZavhozError, String(error));
    return error;
  }
  assert.fail('the apply succeeded');
}

describe('proxy: why a server did not take its config, and what to do', () => {
  test('the folder under /opt/zavhoz cannot be written: the SSH user needs root or sudo', async () => {
    const error = await failureOf({ stdout: 'ZAVHOZ_PROXY_NO_FOLDER\n', stderr: '', code: 1 });
    assert.equal(error.code, ErrorCodes.PreconditionFailed);
    assert.match(error.message, /cannot write the proxy's folder \/opt\/zavhoz\/proxy\/zavhoz-proxy-alpha on alpha: the SSH user needs root \(or sudo\).*sudo mkdir -p \/opt\/zavhoz/);
    assert.doesNotMatch(error.message, /proxyImage/);
  });

  test('Docker refuses the SSH user: root or the docker group', async () => {
    const error = await failureOf({
      stdout: '',
      stderr: 'docker: permission denied while trying to connect to the Docker daemon socket at unix:///var/run/docker.sock: Post "http://%2Fvar%2Frun%2Fdocker.sock/v1.45/containers/create": dial unix /var/run/docker.sock: connect: permission denied.',
      code: 5,
    });
    assert.equal(error.code, ErrorCodes.PreconditionFailed);
    assert.match(error.message, /SSH user on alpha may not use Docker.*docker group/);
    assert.doesNotMatch(error.message, /proxyImage/);
  });

  test('the image cannot be pulled: the proxyImage setting', async () => {
    const error = await failureOf({
      stdout: '',
      stderr: "Unable to find image 'caddy:9' locally\ndocker: Error response from daemon: manifest for caddy:9 not found: manifest unknown: manifest unknown.",
      code: 5,
    });
    assert.equal(error.code, ErrorCodes.PreconditionFailed);
    assert.match(error.message, /alpha could not pull the proxy image caddy:2: .*manifest unknown.*zavhoz config set proxyImage IMAGE/);
  });

  test('anything else: what the proxy said, and where its log is', async () => {
    const error = await failureOf({ stdout: 'ZAVHOZ_PROXY_FAILED adapting config: unknown module\n', stderr: '', code: 6 });
    assert.equal(error.code, ErrorCodes.Unreachable);
    assert.match(error.message, /The proxy on alpha did not take its configuration: adapting config: unknown module\. Look at `docker logs zavhoz-proxy-alpha`/);
  });
});

describe('proxy: a restart the daemon did is told as proxy.restarted', () => {
  /** What `acted` heard when the script on the server printed `ZAVHOZ_PROXY ACTION`. */
  async function acted(action: string, mode: 'apply' | 'check'): Promise<{ outcome: ProxyOutcome; mode: string }[]> {
    const heard: { outcome: ProxyOutcome; mode: string }[] = [];
    const proxy = new ProxyService({
      openShell: () => Promise.resolve({ exec: () => Promise.resolve({ stdout: `ZAVHOZ_PROXY ${action}\nZAVHOZ_PROXY_VERSION v2.6.2 h1:x=\n`, stderr: '', code: 0 }), close: () => undefined }),
      image: () => 'caddy:2',
      acted: (outcome, how) => heard.push({ outcome, mode: how }),
    });
    if (mode === 'apply') await proxy.apply('alpha', () => MODEL, USE);
    else await proxy.check('alpha', USE);
    return heard;
  }

  test('a check that brought the proxy back is a restart, whatever it had to do; one that found it running is not', async () => {
    for (const action of ['restarted', 'started', 'replaced'] as const) {
      const [heard] = await acted(action, 'check');
      assert.ok(heard);
      assert.deepEqual(heard, { outcome: { server: 'alpha', container: 'zavhoz-proxy-alpha', action, version: 'v2.6.2' }, mode: 'check' });
      const restart = proxyRestartOf(heard.outcome, 'check');
      assert.ok(restart, action);
      assert.equal(restart.title, 'Proxy restarted on alpha');
      assert.match(restart.text, /^The proxy on server alpha \(container zavhoz-proxy-alpha\) .* by a health check, with the routes it had \(Caddy v2\.6\.2\)\..*docker logs zavhoz-proxy-alpha/);
      assert.deepEqual(restart.detail, { server: 'alpha', container: 'zavhoz-proxy-alpha', action, cause: 'health check' });
    }
    const [running] = await acted('running', 'check');
    assert.ok(running);
    assert.equal(proxyRestartOf(running.outcome, 'check'), undefined);
  });

  test('an apply that found the proxy stopped or on another image restarted it; a first install and a reload did not', async () => {
    for (const action of ['restarted', 'replaced'] as const) {
      const [heard] = await acted(action, 'apply');
      assert.ok(heard);
      assert.equal(proxyRestartOf(heard.outcome, 'apply')?.detail.cause, 'domain change', action);
    }
    for (const action of ['started', 'reloaded'] as const) {
      const [heard] = await acted(action, 'apply');
      assert.ok(heard);
      assert.equal(proxyRestartOf(heard.outcome, 'apply'), undefined, action);
    }
  });

  test('a failed apply is no action at all', async () => {
    const heard: ProxyOutcome[] = [];
    const proxy = new ProxyService({
      openShell: () => Promise.resolve({ exec: () => Promise.resolve({ stdout: 'ZAVHOZ_PROXY_FAILED bad\n', stderr: '', code: 6 }), close: () => undefined }),
      image: () => 'caddy:2',
      acted: (outcome) => heard.push(outcome),
    });
    await assert.rejects(proxy.apply('alpha', () => MODEL, USE));
    assert.deepEqual(heard, []);
  });
});

describe('proxy: a check asks the proxy for a host it routes, and a proxy that gives no HTTP answer is unhealthy', () => {
  /** What a check recorded when the script printed `stdout`, and the command line it ran. */
  async function checked(stdout: string): Promise<{ seen: ProxySeen[]; outcome: ProxyOutcome; command: string }> {
    const seen: ProxySeen[] = [];
    let command = '';
    const proxy = new ProxyService({
      openShell: () =>
        Promise.resolve({
          exec: (line: string) => {
            command = line;
            return Promise.resolve({ stdout, stderr: '', code: 0 });
          },
          close: () => undefined,
        }),
      image: () => 'caddy:2',
      seen: (_server, what) => seen.push(what),
    });
    const outcome = await proxy.check('alpha', USE, undefined, { host: 'shop.example.com', port: 8443 });
    return { seen, outcome, command };
  }

  test('the host and port go to the script as arguments', async () => {
    const { command } = await checked('ZAVHOZ_PROXY running\nZAVHOZ_PROXY_SERVES 200\n');
    assert.match(command, /'check' '8443' 'shop\.example\.com'$/);
  });

  test('any HTTP answer, a 502 from a module that is down included, is a proxy that serves', async () => {
    const { seen, outcome } = await checked('ZAVHOZ_PROXY running\nZAVHOZ_PROXY_VERSION v2.7.6 h1:x=\nZAVHOZ_PROXY_SERVES 502\n');
    assert.deepEqual(outcome.probe, { serves: true, status: 502 });
    assert.deepEqual(seen, [{ state: 'running', version: 'v2.7.6', error: null }]);
  });

  test('nothing listening on the HTTPS port: unhealthy, saying so and what to look at', async () => {
    const { seen, outcome } = await checked(
      'ZAVHOZ_PROXY running\nZAVHOZ_PROXY_VERSION v2.7.6 h1:x=\nZAVHOZ_PROXY_NOT_SERVING 7 curl: (7) Failed to connect to shop.example.com port 8443 after 0 ms: Connection refused \n',
    );
    assert.equal(outcome.action, 'running', 'the container runs');
    assert.equal(outcome.probe?.serves, false);
    assert.equal(seen[0]?.state, 'unhealthy');
    assert.match(
      seen[0].error ?? '',
      /^The proxy on alpha runs but does not serve: a request for shop\.example\.com on its HTTPS port 8443 got curl: \(7\) Failed to connect .*Connection refused \(curl exit 7\)\. Nothing listens on port 8443: .*docker logs zavhoz-proxy-alpha/,
    );
  });

  test('a TLS handshake that fails: no certificate for the host, and what ACME needs', async () => {
    const { seen } = await checked('ZAVHOZ_PROXY running\nZAVHOZ_PROXY_NOT_SERVING 35 curl: (35) error:0A000438:SSL routines::tlsv1 alert internal error \n');
    assert.equal(seen[0]?.state, 'unhealthy');
    assert.match(seen[0].error ?? '', /It has no certificate for shop\.example\.com: with ACME \(proxyTls acme\) the name's DNS must point at alpha and ports 80 and 443 must be open/);
  });

  test('neither curl nor python3 on the server: the proxy is taken as running, as the container says', async () => {
    const { seen, outcome } = await checked('ZAVHOZ_PROXY running\nZAVHOZ_PROXY_UNPROBED neither curl nor python3 on the server\n');
    assert.deepEqual(outcome.probe, { serves: null, why: 'neither curl nor python3 on the server' });
    assert.equal(seen[0]?.state, 'running');
  });
});
