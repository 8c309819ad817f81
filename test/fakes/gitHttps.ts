/**
 * TEST DOUBLE of GitHub's git endpoint (`https://github.com/OWNER/NAME.git`) for a private repository, on
 * 127.0.0.1. It serves bare repositories of one folder over HTTPS with git's own smart-HTTP server
 * (`git http-backend`, run as CGI), behind HTTP Basic auth as GitHub does for a token: any username (e.g.
 * `x-access-token`), the token as password; anything else gets 401 with `WWW-Authenticate: Basic`, before git sees
 * the request. The certificate is self-signed, made at start; `caFile` is what a client must trust. Every request
 * is recorded (method, path, whether its credentials were missing, wrong or accepted), never the credentials.
 */
import { execFile, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/** What the fake made of a request's credentials. */
export type GitAuth = 'missing' | 'wrong' | 'accepted';

/** One request as the fake saw it. */
export interface GitHttpsRequest {
  readonly method: string;
  /** The URL path, without the query. */
  readonly path: string;
  readonly query: string;
  readonly auth: GitAuth;
  readonly status: number;
}

/** Options of {@link FakeGitHttps.start}. */
export interface FakeGitHttpsOptions {
  /** The folder whose bare repositories are served: `<root>/x.git` is `https://127.0.0.1:PORT/x.git`. */
  readonly projectRoot: string;
  /** The only password accepted. */
  readonly token: string;
}

/** A CGI answer: status, headers and body. */
interface CgiAnswer {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: Buffer;
}

/** Makes a self-signed certificate for 127.0.0.1 (a P-256 key, valid for a day) in `folder`. */
async function selfSignedCertificate(folder: string): Promise<{ key: string; cert: string }> {
  const key = path.join(folder, 'key.pem');
  const cert = path.join(folder, 'cert.pem');
  await execFileAsync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', key, '-out', cert, '-days', '1',
    '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
  ]);
  return { key, cert };
}

/** True when `supplied` equals `expected`, in time that does not depend on where they differ. */
function sameSecret(supplied: string, expected: string): boolean {
  const a = crypto.createHash('sha256').update(supplied).digest();
  const b = crypto.createHash('sha256').update(expected).digest();
  return crypto.timingSafeEqual(a, b);
}

/** Reads HTTP Basic credentials; undefined when there are none (or they are not Basic). */
function basicCredentials(request: IncomingMessage): { username: string; password: string } | undefined {
  const match = /^Basic +([A-Za-z0-9+/=]+)$/i.exec(request.headers.authorization ?? '');
  if (!match?.[1]) return undefined;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/** Splits CGI output into its header block (`Status:` and the rest) and body. */
function parseCgiOutput(output: Buffer): CgiAnswer {
  let end = output.indexOf('\r\n\r\n');
  let separator = 4;
  if (end < 0) {
    end = output.indexOf('\n\n');
    separator = 2;
  }
  if (end < 0) throw new Error('git http-backend wrote no header block');
  let status = 200;
  const headers: Record<string, string> = {};
  for (const line of output.subarray(0, end).toString('latin1').split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim();
    const value = line.slice(colon + 1).trim();
    if (name.toLowerCase() === 'status') status = Number.parseInt(value, 10) || 500;
    else headers[name] = value;
  }
  return { status, headers, body: output.subarray(end + separator) };
}

/** The fake git endpoint. */
export class FakeGitHttps {
  private readonly seen: GitHttpsRequest[] = [];

  private constructor(
    private readonly server: https.Server,
    private readonly folder: string,
    private readonly options: FakeGitHttpsOptions,
    /** `https://127.0.0.1:PORT`. */
    readonly url: string,
    /** The self-signed certificate (PEM) a client must trust, e.g. through `GIT_SSL_CAINFO`. */
    readonly caFile: string,
  ) {}

  /** Makes a certificate and starts the fake on a free loopback port. */
  static async start(options: FakeGitHttpsOptions): Promise<FakeGitHttps> {
    const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'zavhoz-git-https-'));
    try {
      const { key, cert } = await selfSignedCertificate(folder);
      const server = https.createServer({ key: fs.readFileSync(key), cert: fs.readFileSync(cert) });
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, '127.0.0.1', () => {
          server.off('error', reject);
          resolve();
        });
      });
      const { port } = server.address() as AddressInfo;
      const fake = new FakeGitHttps(server, folder, options, `https://127.0.0.1:${port}`, cert);
      server.on('request', (request: IncomingMessage, response: ServerResponse) => void fake.serve(request, response));
      return fake;
    } catch (error) {
      fs.rmSync(folder, { recursive: true, force: true });
      throw error;
    }
  }

  /** The clone URL of `<projectRoot>/<name>`. */
  repositoryUrl(name: string): string {
    return `${this.url}/${name}`;
  }

  /** Every request so far, oldest first. */
  requests(): GitHttpsRequest[] {
    return [...this.seen];
  }

  /** Stops the server (dropping open connections) and removes the certificate. */
  async stop(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
    fs.rmSync(this.folder, { recursive: true, force: true });
  }

  private async serve(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', this.url);
    const credentials = basicCredentials(request);
    const auth: GitAuth = credentials === undefined ? 'missing' : credentials.username !== '' && sameSecret(credentials.password, this.options.token) ? 'accepted' : 'wrong';
    let answer: CgiAnswer;
    if (auth !== 'accepted' || credentials === undefined) {
      // As GitHub does for a private repository: no hint whether the repository exists.
      request.resume();
      answer = { status: 401, headers: { 'WWW-Authenticate': 'Basic realm="GitHub"', 'Content-Type': 'text/plain' }, body: Buffer.from('Authentication required\n') };
    } else {
      try {
        answer = await this.runBackend(request, url, credentials.username);
      } catch (error) {
        answer = { status: 500, headers: { 'Content-Type': 'text/plain' }, body: Buffer.from(`${error instanceof Error ? error.message : String(error)}\n`) };
      }
    }
    this.seen.push({ method: request.method ?? '', path: url.pathname, query: url.search.replace(/^\?/, ''), auth, status: answer.status });
    response.writeHead(answer.status, { ...answer.headers, 'Content-Length': String(answer.body.length) });
    response.end(answer.body);
  }

  /**
   * Runs `git http-backend` for one request. Its answer is buffered whole: the repositories served are tiny, and
   * a complete answer makes the CGI header block simple to read.
   */
  private runBackend(request: IncomingMessage, url: URL, username: string): Promise<CgiAnswer> {
    const header = (name: string): string | undefined => {
      const value = request.headers[name];
      return Array.isArray(value) ? value.join(', ') : value;
    };
    const environment: NodeJS.ProcessEnv = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      // Neither the machine's nor the user's git config may change what the fake serves.
      HOME: this.folder,
      GIT_CONFIG_NOSYSTEM: '1',
      GIT_PROJECT_ROOT: this.options.projectRoot,
      GIT_HTTP_EXPORT_ALL: '1',
      GATEWAY_INTERFACE: 'CGI/1.1',
      SERVER_PROTOCOL: `HTTP/${request.httpVersion}`,
      REQUEST_METHOD: request.method ?? 'GET',
      PATH_INFO: decodeURIComponent(url.pathname),
      QUERY_STRING: url.search.replace(/^\?/, ''),
      REMOTE_USER: username,
      REMOTE_ADDR: request.socket.remoteAddress ?? '127.0.0.1',
    };
    const passed: [string, string | undefined][] = [
      ['CONTENT_TYPE', header('content-type')],
      ['CONTENT_LENGTH', header('content-length')],
      // git's client gzips large POST bodies and asks for protocol v2 in a header; http-backend reads both here.
      ['HTTP_CONTENT_ENCODING', header('content-encoding')],
      ['HTTP_GIT_PROTOCOL', header('git-protocol')],
    ];
    for (const [name, value] of passed) if (value !== undefined) environment[name] = value;

    return new Promise((resolve, reject) => {
      const child = spawn('git', ['http-backend'], { env: environment, stdio: ['pipe', 'pipe', 'pipe'] });
      const stdout: Buffer[] = [];
      const stderr: Buffer[] = [];
      child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
      child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
      // git may exit before it read the whole body (e.g. on a bad request); its answer says why.
      child.stdin.on('error', () => undefined);
      child.once('error', reject);
      child.once('close', (code) => {
        const output = Buffer.concat(stdout);
        try {
          resolve(parseCgiOutput(output));
        } catch (error) {
          reject(new Error(`git http-backend exited with ${String(code)}: ${Buffer.concat(stderr).toString('utf8').trim() || (error instanceof Error ? error.message : String(error))}`));
        }
      });
      request.pipe(child.stdin);
    });
  }
}
