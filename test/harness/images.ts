/**
 * Test images, built here from busybox-static (no registry on the internet is reachable, and none may be asked)
 * and pushed to the test engine's registry. test/fixtures/images/web/README.md says what the web image does and
 * which environment variables make it fail, slow down, log or exit.
 */
import { copyFileSync, cpSync, existsSync, mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Engine } from './engine.js';
import { removeFolder } from './processes.js';

/** An image in the test registry. */
export interface TestImage {
  /** `127.0.0.1:PORT/owner/name:tag`: what a compose file names. */
  reference: string;
  /** `127.0.0.1:PORT/owner/name`. */
  repository: string;
  tag: string;
  /** The release string the page and /health answer with. */
  version: string;
  /** `127.0.0.1:PORT/owner/name@sha256:…` as the registry knows it after the push. */
  digest: string;
  /** How long the build and the push took. */
  timings: { buildMs: number; pushMs: number };
}

const webFixture = fileURLToPath(new URL('../fixtures/images/web/', import.meta.url));
const busyboxCandidates = ['/bin/busybox', '/usr/bin/busybox'];

/** The host's static busybox: the only thing the test images are made of. */
function busyboxPath(): string {
  const found = busyboxCandidates.find((path) => existsSync(path));
  if (found === undefined) throw new Error('busybox is missing: install busybox-static (README.md, set-up)');
  return found;
}

/**
 * Builds the test web server as `REGISTRY/name:tag` answering with `version` (default: the tag), and pushes it.
 * `name` is `owner/name`; distinct test files should use distinct names or tags.
 */
export async function buildWebImage(engine: Engine, options: { name?: string; tag: string; version?: string }): Promise<TestImage> {
  const name = options.name ?? 'zavhoz-test/web';
  const version = options.version ?? options.tag;
  const repository = `${engine.registry.address}/${name}`;
  const reference = `${repository}:${options.tag}`;
  const context = mkdtempSync(join(engine.dir, 'build-'));
  const buildStarted = Date.now();
  try {
    cpSync(webFixture, context, { recursive: true });
    copyFileSync(busyboxPath(), join(context, 'busybox'));
    // --network none: the engine has no default bridge, and a build never needs the network here.
    await buildImage(engine, ['--build-arg', `VERSION=${version}`, '--build-arg', `IMAGE_NAME=${name}`, '--tag', reference, context]);
  } finally {
    removeFolder(context);
  }
  const pushStarted = Date.now();
  await pushImage(engine, reference);
  const timings = { buildMs: pushStarted - buildStarted, pushMs: Date.now() - pushStarted };
  const { stdout } = await engine.docker(['image', 'inspect', '--format', '{{range .RepoDigests}}{{println .}}{{end}}', reference]);
  const digest = stdout.split('\n').find((line) => line.startsWith(`${repository}@`));
  if (digest === undefined) throw new Error(`no registry digest for ${reference} after the push`);
  return { reference, repository, tag: options.tag, version, digest, timings };
}

/**
 * `docker build --quiet --network none ARGS…` on the run's engine. The engine is shared by test files running side by
 * side, and a deploy in one of them ends with `docker image prune --force`, which removes the dangling intermediate
 * images of a build under way in another ("No such image: sha256:…" at a later step, or "failed to get digest
 * sha256:…" when the finished image went before it was tagged). Only that failure is tried again, a few times; the
 * layers already built come from the cache.
 */
export async function buildImage(engine: Engine, args: readonly string[]): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await engine.docker(['build', '--quiet', '--network', 'none', ...args]);
      return;
    } catch (error) {
      if (attempt >= 4 || !/No such image: sha256:|failed to get digest sha256:/.test(String(error))) throw error;
    }
  }
}

/** Pushes an image of the engine to its registry, logged in with this file's docker config. */
export async function pushImage(engine: Engine, reference: string): Promise<void> {
  await engine.login();
  await engine.docker(['push', '--quiet', reference]);
}
