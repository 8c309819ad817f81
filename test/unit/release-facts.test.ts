/**
 * What the daemon makes of the playbook's release report: the commit, and for each service the reference that names
 * exactly the image it ran (the registry digest in the repository the compose files named, else the image id).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { pinnedDigest, releaseFacts } from '../../daemon/deploy/releaseFacts.js';

const ID = `sha256:${'a'.repeat(64)}`;
const DIGEST = `sha256:${'b'.repeat(64)}`;
const COMMIT = 'c'.repeat(40);

describe('release facts', () => {
  test('the digest in the repository the compose file named wins over other registries and the image id', () => {
    const digests = [`registry.example:5000/acme/shop@${DIGEST}`, `mirror.example/acme/shop@sha256:${'d'.repeat(64)}`];
    assert.equal(pinnedDigest('registry.example:5000/acme/shop:1.0', ID, digests), digests[0]);
    assert.equal(pinnedDigest('mirror.example/acme/shop', ID, digests), digests[1]);
    assert.equal(pinnedDigest('postgres:16-alpine', ID, [`postgres@${DIGEST}`]), `postgres@${DIGEST}`);
    assert.equal(pinnedDigest('docker.io/library/redis:7', ID, [`redis@${DIGEST}`]), `redis@${DIGEST}`);
    assert.equal(pinnedDigest('shop-backend:dev', ID, []), ID, 'an image built on the server: its id');
    assert.equal(pinnedDigest(`registry.example:5000/acme/shop@${DIGEST}`, ID, []), `registry.example:5000/acme/shop@${DIGEST}`, 'run by digest');
  });

  test('a report becomes the commit and one image per service; anything else is no release', () => {
    const facts = releaseFacts({
      commit: COMMIT,
      images: [`web|acme/web:1|${ID}|acme/web@${DIGEST}`, `db|postgres:16|${ID}|`, 'garbage', `x|y|not-an-id|`],
    });
    assert.deepEqual(facts, {
      commit: COMMIT,
      images: [
        { service: 'db', image: 'postgres:16', digest: ID },
        { service: 'web', image: 'acme/web:1', digest: `acme/web@${DIGEST}` },
      ],
    });
    assert.equal(releaseFacts({ commit: '', images: [] }), undefined);
    assert.equal(releaseFacts(undefined), undefined);
    assert.equal(releaseFacts('text'), undefined);
  });
});
