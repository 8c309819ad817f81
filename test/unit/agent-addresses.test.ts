/**
 * How agents see servers: every address a text names (with a `user@` before it and an SSH port after it, in the
 * shapes ssh, Ansible and URLs write them) becomes the server's handle, and an SSH key handle "the SSH key of" it;
 * an address several servers share, or a ghost's, becomes a neutral word, so no ghost is named either. The
 * end-to-end scan of every tool is in test/integration/agent-isolation.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { addressView, blindAddressView } from '../../daemon/agent/addresses.js';
import type { ServerInfo } from '../../daemon/protocol/servers.js';

function server(handle: string, host: string, more: Partial<ServerInfo> = {}): ServerInfo {
  return {
    handle,
    name: handle,
    host,
    sshPort: 2222,
    sshUser: 'deploy',
    sshKeySecret: null,
    ramMb: null,
    diskMb: null,
    cpuCores: null,
    availableRamMb: null,
    availableDiskMb: null,
    reservedRamMb: 0,
    services: 0,
    listeningPorts: [],
    labels: [],
    provider: null,
    providerId: null,
    providerStatus: null,
    os: null,
    managed: true,
    status: 'ready',
    missingSince: null,
    hostKeyFingerprint: null,
    offeredHostKeyFingerprint: null,
    lastCheckAt: null,
    lastCheckError: null,
    createdAt: '2026-01-01T00:00:00.000Z',
    updatedAt: '2026-01-01T00:00:00.000Z',
    ...more,
  };
}

const servers = [
  server('prod_vps_1', '203.0.113.7', { sshKeySecret: 'sec_abcdefgh', sshUser: 'root', sshPort: 22 }),
  server('web', 'web.example.com'),
  server('laptop', '192.0.2.10', { managed: false, sshKeySecret: 'sec_laptopk1' }),
  server('desktop', '192.0.2.11', { managed: false, sshKeySecret: 'sec_abcdefgh' }),
  server('old_box', '203.0.113.7', { managed: false }),
  server('shared_a', '198.51.100.5'),
  server('shared_b', '198.51.100.5'),
  server('v6', '2001:db8::5'),
];

describe('agent address view', () => {
  const view = addressView(servers, false);

  test('an address, with its user and any port, in the shapes ssh, Ansible and URLs write it, becomes the handle; an SSH port alone is hidden too', () => {
    const cases: [string, string][] = [
      ['ssh root@203.0.113.7:22', 'ssh prod_vps_1'],
      ['ssh: connect to host 203.0.113.7 port 22: Connection refused', 'ssh: connect to host prod_vps_1: Connection refused'],
      ['fatal: [zavhoz_target]: UNREACHABLE! => Failed to connect: root@203.0.113.7: Permission denied', 'fatal: [zavhoz_target]: UNREACHABLE! => Failed to connect: prod_vps_1: Permission denied'],
      ['url: http://203.0.113.7:8080/', 'url: http://prod_vps_1/'],
      ['host 203.0.113.7.', 'host prod_vps_1.'],
      ['deploy@WEB.example.com:2222 refused', 'web refused'],
      ['listening on [2001:db8::5]:8000', 'listening on v6'],
      ['key sec_abcdefgh, other sec_zzzzzzzz', 'key (the SSH key of prod_vps_1), other sec_zzzzzzzz'],
      ['Could not reach prod_vps_1 (203.0.113.7:45551)', 'Could not reach prod_vps_1 (prod_vps_1)'],
      ['ssh-keyscan -T 10 -p 2222 -t ed25519 web.example.com', 'ssh-keyscan -T 10 -p (SSH port) -t ed25519 web'],
      ['Check that sshd listens on port 2222, or use --ssh-port 2222', 'Check that sshd listens on port (SSH port), or use --ssh-port (SSH port)'],
      ['at 18:22:05 on port 8022, 22000 MB', 'at 18:22:05 on port 8022, 22000 MB'],
    ];
    for (const [text, expected] of cases) assert.equal(view.hide(text), expected, text);
  });

  test('a longer address or host name that contains one is left alone', () => {
    for (const text of ['203.0.113.70', '1203.0.113.7', 'www.web.example.com.au', 'web.example.community', 'sec_abcdefghi']) {
      assert.equal(view.hide(text), text);
    }
  });

  test('a ghost\'s address and key, and an address two managed servers share, name no server', () => {
    assert.equal(view.hide('root@192.0.2.10:2222 with sec_laptopk1'), "(hidden address) with (a server's SSH key)");
    assert.equal(view.hide('desktop 192.0.2.11'), 'desktop (hidden address)', 'a ghost is named only where the text already did');
    assert.equal(view.hide('198.51.100.5 port 2222'), '(hidden address)');
  });

  test('with agentSeesAddresses the text is unchanged', () => {
    const text = 'ssh root@203.0.113.7:22 with sec_abcdefgh';
    assert.equal(addressView(servers, true).hide(text), text);
  });

  test('when the servers could not be read, anything shaped like an address is hidden', () => {
    const blind = blindAddressView();
    assert.equal(blind.hide('root@10.1.2.3:22 and [fe80::1]:80 at 12:30:05, v1.2.3'), '(hidden address) and (hidden address):80 at 12:30:05, v1.2.3');
  });
});
