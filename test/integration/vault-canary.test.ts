/**
 * Canary suite: plants random marker values (and real multi-line private keys) through every vault operation,
 * from the CLI and over the protocol, on both backends, then scans everything that could leak for them: the
 * daemon log files, the log stream, every RPC result and error except `secrets/reveal`, every CLI output except
 * `secret reveal`, notifications, the store files on disk (snapshot, previous snapshot and the journal, which
 * records SQL params), the audit log, and `ps` output sampled while the operations ran. Zero occurrences, or fail.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import ssh2 from 'ssh2';
import { ResponseError } from 'vscode-jsonrpc';
import type { DaemonClient } from '../../daemon/client/client.js';
import type { RequestDefinition } from '../../daemon/protocol/define.js';
import { AuditList } from '../../daemon/protocol/audit.js';
import { DaemonLog, DaemonLogSubscribe } from '../../daemon/protocol/lifecycle.js';
import {
  type SecretMetadata,
  SecretsDelete,
  SecretsDidChange,
  SecretsGenerate,
  SecretsGet,
  SecretsImport,
  SecretsList,
  SecretsReveal,
  SecretsRotate,
  SecretsSet,
} from '../../daemon/protocol/secrets.js';
import { BACKENDS, type VaultDaemon, canary, startVaultDaemon } from './vault-support.js';

const execFileAsync = promisify(execFile);

/** Text captured from one place that must hold no secret. */
interface Sink {
  readonly where: string;
  readonly text: string;
}

/** Every form a value could leak in: as is, base64 variants, JSON-escaped, and each long line of a multi-line one. */
function formsOf(value: string): string[] {
  const forms = new Set<string>([value, JSON.stringify(value).slice(1, -1)]);
  for (const encoding of ['base64', 'base64url'] as const) {
    const encoded = Buffer.from(value).toString(encoding);
    forms.add(encoded);
    forms.add(encoded.replace(/=+$/, ''));
  }
  for (const line of value.split('\n')) {
    const trimmed = line.trim();
    if (trimmed.length >= 16 && !trimmed.startsWith('-----')) forms.add(trimmed);
  }
  return [...forms].filter((form) => form.length >= 8);
}

/** Where any of the values occurs in the sinks, as "sink: value label". */
function leaks(sinks: readonly Sink[], values: ReadonlyMap<string, string>): string[] {
  const found: string[] = [];
  for (const [label, value] of values) {
    const forms = formsOf(value);
    for (const sink of sinks) {
      if (forms.some((form) => sink.text.includes(form))) found.push(`${sink.where}: ${label}`);
    }
  }
  return found;
}

/** Samples `ps` (full width) until stopped, so argv of every process alive during the operations is captured. */
function samplePs(): { stop(): Promise<string[]> } {
  const samples: string[] = [];
  // `as boolean`: stop() clears it while the loop awaits, out of the checker's narrowing.
  let running = true as boolean;
  const loop = (async () => {
    while (running) {
      const { stdout } = await execFileAsync('ps', ['-eww', '-o', 'args'], { maxBuffer: 16 * 1024 * 1024 });
      samples.push(stdout);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return samples;
    },
  };
}

function filesUnder(folder: string): string[] {
  return fs.readdirSync(folder, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => path.join(entry.parentPath, entry.name));
}

for (const backend of BACKENDS) {
  describe(`canary secrets never leak (${backend} backend)`, () => {
    let vault: VaultDaemon;
    /** Label → value of everything planted (and learnt: generated values). */
    const planted = new Map<string, string>();
    /** Values only ever sent in refused requests: they must not be anywhere at all. */
    const refused = new Map<string, string>();
    const cliOutput: Sink[] = [];
    const rpcOutput: Sink[] = [];
    const revealOutput: string[] = [];
    const streamed: Sink[] = [];
    const storeBeforeStop: Sink[] = [];
    const filesAfterStop: Sink[] = [];
    let psSamples: string[] = [];
    let auditText = '';

    before(async () => {
      vault = await startVaultDaemon(backend);
      const home = vault.daemon.home;
      const ps = samplePs();
      const client: DaemonClient = await vault.daemon.connect('canary');
      await client.request(DaemonLogSubscribe, { level: 'debug' });
      client.onNotification(DaemonLog, (params) => streamed.push({ where: 'log stream', text: params.line }));
      client.onNotification(SecretsDidChange, (params) => streamed.push({ where: 'secrets/didChange', text: JSON.stringify(params) }));

      const cli = async (args: string[], input?: string): Promise<string> => {
        const result = await vault.daemon.cli(args, input === undefined ? {} : { input });
        cliOutput.push({ where: `cli ${args.slice(0, 2).join(' ')}`, text: result.stdout + result.stderr });
        return result.stdout;
      };
      const rpc = async <P, R>(definition: RequestDefinition<P, R>, params: P): Promise<R | undefined> => {
        try {
          const result = await client.request(definition, params);
          rpcOutput.push({ where: `${definition.method} result`, text: JSON.stringify(result) });
          return result;
        } catch (error) {
          const text = error instanceof ResponseError ? JSON.stringify({ code: error.code, message: error.message, data: error.data as unknown }) : String(error);
          rpcOutput.push({ where: `${definition.method} error`, text });
          return undefined;
        }
      };
      const reveal = async (handle: string): Promise<string> => {
        const result = await client.request(SecretsReveal, { handle, confirm: true });
        revealOutput.push(JSON.stringify(result));
        return result.value;
      };
      const plant = (label: string, value: string): string => {
        planted.set(label, value);
        return value;
      };

      // Through the CLI.
      const token = plant('cli token', canary('Token'));
      const tokenHandle = (await cli(['secret', 'set', 'CANARY_TOKEN', '--type', 'token', '--category', 'telegram_bot'], `${token}\n`)).trim();
      const text = plant('cli multi-line text', `${canary('LineOne')}\n${canary('LineTwo')}\n  ${canary('LineThree')}\n`);
      await cli(['secret', 'set', 'CANARY_TEXT', '--type', 'text', '--project', 'canary'], text);
      const pem = plant('cli PEM key', crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
      const pemHandle = (await cli(['secret', 'set', 'CANARY_PEM', '--type', 'private_key', '--category', 'server'], pem)).trim();
      const passphrase = plant('cli key passphrase', canary('Passphrase'));
      const openssh = plant('cli OpenSSH key', ssh2.utils.generateKeyPairSync('ed25519', { passphrase, cipher: 'aes256-ctr', rounds: 2 }).private);
      const passphraseFile = path.join(home, 'passphrase.txt');
      fs.writeFileSync(passphraseFile, `${passphrase}\n`, { mode: 0o600 });
      await cli(['secret', 'set', 'CANARY_SSH', '--type', 'private_key', '--passphrase-file', passphraseFile], openssh);
      fs.rmSync(passphraseFile);
      const generatedHandle = (await cli(['secret', 'set', 'CANARY_GENERATED', '--type', 'password', '--generate'])).trim();
      await cli(['secret', 'list']);
      await cli(['secret', 'list', '--json']);
      await cli(['secret', 'get', tokenHandle]);
      await cli(['secret', 'rotate', tokenHandle], `${plant('cli rotated token', canary('Rotated'))}\n`);
      await cli(['secret', 'rotate', generatedHandle]);
      const envFile = path.join(home, 'canary.env');
      fs.writeFileSync(envFile, `# canary import\r\nexport IMPORT_ONE=${plant('cli import plain', canary('ImportOne'))}\r\nIMPORT_TWO="${plant('cli import quoted', `${canary('ImportTwoA')}\n${canary('ImportTwoB')}`)}"\r\nIMPORT_THREE='${plant('cli import single', canary('ImportThree'))}'\r\n`);
      await cli(['secret', 'import', envFile, '--project', 'canary']);
      fs.rmSync(envFile);
      await cli(['secret', 'set', 'CANARY_TOKEN', '--type', 'token'], refused.set('cli duplicate name', canary('Duplicate')).get('cli duplicate name'));
      await cli(['secret', 'set', 'CANARY_BAD_KEY', '--type', 'private_key'], refused.set('cli non-key', canary('NotAKey')).get('cli non-key'));
      await cli(['secret', 'reveal', tokenHandle]);
      await cli(['secret', 'delete', pemHandle]);
      await cli(['audit', 'list']);

      // Over the protocol.
      const protocolValue = plant('rpc set', canary('Protocol'));
      const set = await rpc(SecretsSet, { name: 'RPC_SECRET', type: 'token', value: protocolValue, category: 'api_key', tags: ['canary'] });
      assert.ok(set, 'secrets/set over the protocol worked');
      await rpc(SecretsRotate, { handle: set.handle, value: plant('rpc rotated', canary('ProtocolRotated')) });
      const generated = await rpc(SecretsGenerate, { name: 'RPC_GENERATED', type: 'token', length: 64 });
      assert.ok(generated);
      await rpc(SecretsRotate, { handle: generated.handle });
      await rpc(SecretsImport, { content: `RPC_IMPORT=${plant('rpc import', canary('ProtocolImport'))}\n`, project: 'canary' });
      await rpc(SecretsList, {});
      await rpc(SecretsGet, { handle: set.handle });
      await rpc(SecretsSet, { name: 'RPC_HUGE', type: 'text', value: refused.set('rpc huge', canary('Huge')).get('rpc huge')?.repeat(2000) ?? '' });
      await rpc(SecretsSet, { name: 'bad name', type: 'text', value: refused.set('rpc bad name', canary('BadName')).get('rpc bad name') ?? '' });
      await rpc(SecretsSet, { name: 'RPC_NOT_A_KEY', type: 'private_key', value: refused.set('rpc non-key', canary('RpcNotAKey')).get('rpc non-key') ?? '' });
      await rpc(SecretsImport, { content: `GOOD_LINE=${refused.set('rpc import batch', canary('Batch')).get('rpc import batch')}\nbroken line ${refused.set('rpc import broken', canary('Broken')).get('rpc import broken')}\n` });
      await rpc(SecretsImport, { content: `UNCLOSED="${refused.set('rpc import unclosed', canary('Unclosed')).get('rpc import unclosed')}\n` });
      await rpc(SecretsSet, { name: 'RPC_SECRET', type: 'token', value: refused.set('rpc duplicate', canary('RpcDuplicate')).get('rpc duplicate') ?? '' });
      await rpc(SecretsReveal, { handle: set.handle, confirm: false as true });
      await rpc(SecretsReveal, { handle: 'sec_aaaaaaaa', confirm: true });
      const deleteMe = await rpc(SecretsSet, { name: 'RPC_DELETED', type: 'text', value: plant('rpc deleted', canary('Deleted')) });
      assert.ok(deleteMe);
      await rpc(SecretsDelete, { handle: deleteMe.handle });

      // The values Zavhoz made up, learnt through the one door meant for it; and proof the planted ones are real.
      const all = ((await client.request(SecretsList, {})).secrets as SecretMetadata[]);
      for (const secret of all.filter((candidate) => candidate.origin === 'generated')) plant(`generated ${secret.name}`, await reveal(secret.handle));
      assert.equal(await reveal(tokenHandle), planted.get('cli rotated token'));
      assert.equal(await reveal(set.handle), planted.get('rpc rotated'));

      const audit = await rpc(AuditList, { limit: 10_000 });
      auditText = JSON.stringify(audit);
      assert.ok(audit && audit.entries.some((entry) => entry.action === 'reveal'), 'the audit log recorded the reveals');

      psSamples = await ps.stop();
      for (const file of filesUnder(home)) storeBeforeStop.push({ where: path.relative(home, file), text: fs.readFileSync(file).toString('latin1') });
      client.close();
      await vault.daemon.stop();
      for (const file of filesUnder(home)) filesAfterStop.push({ where: `${path.relative(home, file)} (after stop)`, text: fs.readFileSync(file).toString('latin1') });
    });

    after(async () => {
      await vault.dispose();
    });

    const everything = (): Map<string, string> => new Map([...planted, ...refused]);

    test('the canaries were really stored: reveal gives them back, and the scan finds them there', () => {
      assert.ok(planted.size >= 15, `planted ${planted.size} values`);
      assert.ok(revealOutput.length > 0);
      assert.ok(leaks([{ where: 'reveal', text: revealOutput.join('\n') }], planted).length >= 2, 'the scanner sees values where they are');
    });

    test('daemon log files and the streamed log hold no value', () => {
      const logs = storeBeforeStop.filter((sink) => sink.where.startsWith('daemon.log'));
      assert.ok(logs.length > 0 && streamed.length > 0);
      assert.deepEqual(leaks([...logs, ...filesAfterStop.filter((sink) => sink.where.startsWith('daemon.log')), ...streamed], everything()), []);
    });

    test('no RPC result or error (reveal aside) and no CLI output (reveal aside) holds a value', () => {
      assert.ok(rpcOutput.length >= 18, `${rpcOutput.length} RPC answers`);
      assert.ok(cliOutput.length >= 15, `${cliOutput.length} CLI runs`);
      assert.deepEqual(leaks([...rpcOutput, ...cliOutput], everything()), []);
    });

    test('the store files on disk (snapshot, previous snapshot, journal of SQL params) hold no value', () => {
      const stores = [...storeBeforeStop, ...filesAfterStop].filter((sink) => /zavhoz\.(db|journal)/.test(sink.where));
      assert.ok(stores.some((sink) => sink.where === 'zavhoz.journal' && sink.text.length > 0), 'the journal was scanned while it held the session');
      assert.deepEqual(leaks(stores, everything()), []);
    });

    test('no file in the data folder holds a value in clear or base64 (vault.enc included)', () => {
      assert.deepEqual(leaks([...storeBeforeStop, ...filesAfterStop], everything()), []);
    });

    test('the audit log holds no value', () => {
      assert.ok(auditText.length > 0);
      assert.deepEqual(leaks([{ where: 'audit/list', text: auditText }], everything()), []);
    });

    test('no process argument list seen while the operations ran holds a value', () => {
      assert.ok(psSamples.length > 3, `${psSamples.length} ps samples`);
      assert.ok(psSamples.some((sample) => sample.includes('cli.cjs secret')), 'ps caught CLI processes at work');
      assert.deepEqual(leaks(psSamples.map((text, index) => ({ where: `ps sample ${index}`, text })), everything()), []);
    });
  });
}
