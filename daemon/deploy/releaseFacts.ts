import type { ReleaseImage } from '../protocol/releases.js';

/** What the playbook's `Release` task reports: the commit the ref resolved to and each service's image. */
export interface ReleaseFacts {
  readonly commit: string;
  readonly images: readonly ReleaseImage[];
}

const IMAGE_ID = /^sha256:[0-9a-f]{64}$/;
const COMMIT = /^[0-9a-f]{40}([0-9a-f]{24})?$/;

/**
 * Reads the report of the playbook's `zavhoz_report` task: `{commit, images}` where each image line is
 * `service|image as named|image id|registry digests`. Undefined when there is no commit (a report that never came).
 */
export function releaseFacts(report: unknown): ReleaseFacts | undefined {
  if (typeof report !== 'object' || report === null) return undefined;
  const { commit, images } = report as Record<string, unknown>;
  if (typeof commit !== 'string' || !COMMIT.test(commit)) return undefined;
  const lines = Array.isArray(images) ? images.filter((line): line is string => typeof line === 'string') : [];
  const byService = new Map<string, ReleaseImage>();
  for (const line of lines) {
    const [service = '', image = '', id = '', digests = ''] = line.split('|');
    if (service === '' || !IMAGE_ID.test(id)) continue;
    byService.set(service, { service, image, digest: pinnedDigest(image, id, digests.split(' ').filter(Boolean)) });
  }
  return { commit, images: [...byService.values()].sort((a, b) => a.service.localeCompare(b.service)) };
}

/**
 * The reference that names exactly this image: the registry digest in the repository the compose file named (so a
 * pull goes where the deploy's went), else the image id (an image built on the server has no registry digest).
 */
export function pinnedDigest(image: string, id: string, repoDigests: readonly string[]): string {
  // A container made from `repository@sha256:…` (a rollback's pins) runs exactly that: the engine does not always
  // list that digest among the image's RepoDigests when the image was already there under another reference.
  if (/@sha256:[0-9a-f]{64}$/.test(image)) return image;
  const repository = normalise(repositoryOf(image));
  return repoDigests.find((digest) => normalise(repositoryOf(digest)) === repository) ?? id;
}

/** `host/owner/name` of `host/owner/name:tag` or `…@sha256:…`. */
function repositoryOf(reference: string): string {
  const at = reference.indexOf('@');
  const named = at === -1 ? reference : reference.slice(0, at);
  const slash = named.lastIndexOf('/');
  const colon = named.lastIndexOf(':');
  return colon > slash ? named.slice(0, colon) : named;
}

/** Docker Hub's long forms as docker shows them short: `docker.io/library/postgres` is `postgres`. */
function normalise(repository: string): string {
  return repository.replace(/^(docker\.io|index\.docker\.io)\//, '').replace(/^library\//, '');
}
