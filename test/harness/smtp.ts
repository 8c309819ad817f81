/**
 * A real SMTP receiver on loopback: Debian's `python3-aiosmtpd` (the system Python, not a pyenv one), with STARTTLS
 * required before anything else, a throwaway self-signed certificate made with openssl, and a login required over
 * TLS. Each message it takes is written as one JSON line (envelope and raw content) to its output file.
 */
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freeLoopbackPort } from './net.js';
import { onProcessExit } from './processes.js';

/** The interpreter that has Debian's aiosmtpd (pyenv's shim may come first on PATH). */
const PYTHON = '/usr/bin/python3';

const SERVER = String.raw`
import asyncio, json, ssl, sys
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

port, cert, key, user, password, out = sys.argv[1:7]

class Authenticator:
    def __call__(self, server, session, envelope, mechanism, auth_data):
        if isinstance(auth_data, LoginPassword) and auth_data.login.decode() == user and auth_data.password.decode() == password:
            return AuthResult(success=True)
        return AuthResult(success=False, handled=False)

class Handler:
    async def handle_DATA(self, server, session, envelope):
        with open(out, 'a') as sink:
            sink.write(json.dumps({'from': envelope.mail_from, 'to': envelope.rcpt_tos, 'tls': session.ssl is not None,
                                   'content': envelope.content.decode('utf-8', 'replace')}) + '\n')
        return '250 Message accepted for delivery'

context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
context.load_cert_chain(cert, key)
controller = Controller(Handler(), hostname='127.0.0.1', port=int(port), server_hostname='localhost', tls_context=context,
                        require_starttls=True, auth_required=True, auth_require_tls=True, authenticator=Authenticator())
controller.start()
print('ready', flush=True)
try:
    asyncio.get_event_loop().run_forever()
except KeyboardInterrupt:
    pass
`;

/** One message the receiver took. */
export interface ReceivedMail {
  readonly from: string;
  readonly to: readonly string[];
  /** True when it came over the STARTTLS-upgraded connection. */
  readonly tls: boolean;
  /** The raw message: headers and body. */
  readonly content: string;
}

/** A running receiver. */
export interface SmtpReceiver {
  readonly port: number;
  /** The certificate (PEM file) a client must trust: the endpoint's `--ca-file`. */
  readonly certificate: string;
  messages(): ReceivedMail[];
  stop(): Promise<void>;
}

/** Starts aiosmtpd on a free loopback port, accepting the login `user` / `password` only. */
export async function startSmtpReceiver(user: string, password: string): Promise<SmtpReceiver> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zavhoz-smtp-'));
  const cert = path.join(dir, 'cert.pem');
  const key = path.join(dir, 'key.pem');
  const out = path.join(dir, 'messages.jsonl');
  const script = path.join(dir, 'server.py');
  fs.writeFileSync(script, SERVER);
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
  const port = await freeLoopbackPort();
  const child = spawn(PYTHON, [script, String(port), cert, key, user, password, out], { stdio: ['ignore', 'pipe', 'pipe'] });
  const unregister = onProcessExit(() => child.kill('SIGTERM'));
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`aiosmtpd did not start in 20 s: ${stderr}`)), 20_000);
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      if (chunk.includes('ready')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`aiosmtpd exited (${String(code)}): ${stderr}`));
    });
  });
  return {
    port,
    certificate: cert,
    messages: () =>
      fs.existsSync(out)
        ? fs
            .readFileSync(out, 'utf8')
            .split('\n')
            .filter((line) => line !== '')
            .map((line) => JSON.parse(line) as ReceivedMail)
        : [],
    async stop() {
      unregister();
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
