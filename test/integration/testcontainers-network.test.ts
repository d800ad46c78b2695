import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { get as httpGet } from 'node:http';
import { TestDaemon } from '../helpers/daemon.js';

// testcontainers-node (11.x) against berthd: it reads GET /networks/bridge
// before anything else, maps exposed ports through inspect, waits over HTTP,
// and makes networks with aliases.

function httpText(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = httpGet(url, { timeout: 3000 }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d)).on('end', () => resolve(body));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

describe('testcontainers', () => {
  let d: TestDaemon;
  let tc: typeof import('testcontainers');
  before(async () => {
    d = await TestDaemon.start();
    await d.loadBusybox();
    // Its runtime strategy is chosen once per process, from the environment: point it at berthd only.
    process.env.DOCKER_HOST = d.host;
    process.env.TESTCONTAINERS_RYUK_DISABLED = 'true';
    process.env.TESTCONTAINERS_HOST_OVERRIDE = '127.0.0.1';
    tc = await import('testcontainers');
  });
  after(async () => {
    await d?.stop();
  });

  it('GenericContainer with an exposed port and an HTTP wait strategy runs on berthd', async () => {
    const started = await new tc.GenericContainer('busybox:latest')
      .withCommand(['httpd', '-f', '-p', '80', '-h', '/etc'])
      .withExposedPorts(80)
      .withWaitStrategy(tc.Wait.forHttp('/hostname', 80))
      .start();
    try {
      const id = started.getId();
      // It is berthd's container: berthd knows its (random, 64-hex) ID, whatever else answers on /var/run/docker.sock.
      const known = await d.request('GET', `/containers/${id}/json`);
      assert.equal(known.status, 200);
      const port = started.getMappedPort(80);
      assert.equal(known.json().NetworkSettings.Ports['80/tcp'][0].HostPort, String(port));
      assert.equal((await httpText(`http://${started.getHost()}:${port}/hostname`)).trim(), id.slice(0, 12));
    } finally {
      await started.stop({ timeout: 1 });
    }
    assert.equal((await d.request('GET', '/containers/json?all=1')).json().length, 0, 'stopped and removed');
  });

  it('a Network with aliases: one container reaches another by its alias', async () => {
    const network = await new tc.Network().start();
    try {
      const server = await new tc.GenericContainer('busybox:latest')
        .withCommand(['httpd', '-f', '-p', '80', '-h', '/etc'])
        .withNetwork(network)
        .withNetworkAliases('api-server')
        .start();
      try {
        const client = await new tc.GenericContainer('busybox:latest')
          .withCommand(['sh', '-c', 'wget -qO- http://api-server/hostname | sed s/^/got-/; sleep 60'])
          .withNetwork(network)
          .withWaitStrategy(tc.Wait.forLogMessage(/got-[0-9a-f]{12}/))
          .start();
        await client.stop({ timeout: 1 });
        const net = (await d.request('GET', `/networks/${network.getId()}`)).json();
        assert.equal(net.Name, network.getName());
        assert.ok(server.getIpAddress(network.getName()).startsWith(net.IPAM.Config[0].Subnet.split('.').slice(0, 2).join('.')));
      } finally {
        await server.stop({ timeout: 1 });
      }
    } finally {
      await network.stop();
    }
    assert.equal((await d.request('GET', '/networks?filters=%7B%22type%22%3A%5B%22custom%22%5D%7D')).json().length, 0, 'network removed');
  });
});
