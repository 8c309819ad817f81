/**
 * The proxy service's answers when the script on a server fails, with the SSH shell faked (the edge): each cause
 * the user can fix gets its own message and remedy.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ZavhozError } from '../../daemon/core/errors.js';
import { ErrorCodes } from '../../daemon/protocol/errors.js';
import { ProxyService } from '../../daemon/proxy/service.js';

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
