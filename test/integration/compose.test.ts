import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile, mkdtemp, rm } from 'node:fs/promises';
import { createServer, get as httpGet } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { TestDaemon, eventually, runCommand, type RunResult } from '../helpers/daemon.js';

// docker-compose 1.29 (Debian's) against berthd: the project network, service
// names resolved between services, a published port reached from the host.

const COMPOSE = '/usr/bin/docker-compose';

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

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

describe('docker-compose 1.29', () => {
  let d: TestDaemon;
  let dir: string;
  const project = `bp${randomBytes(3).toString('hex')}`;
  let compose: (args: string[]) => Promise<RunResult>;
  before(async () => {
    d = await TestDaemon.start();
    await d.loadBusybox();
    dir = await mkdtemp(join(tmpdir(), 'berth-compose-'));
    compose = (args) => runCommand(COMPOSE, ['-p', project, '-f', join(dir, 'docker-compose.yml'), ...args], { env: { DOCKER_HOST: d.host, COMPOSE_INTERACTIVE_NO_CLI: '1' }, timeoutMs: 120_000 });
  });
  after(async () => {
    await compose?.(['down', '-t', '1', '--remove-orphans']).catch(() => {});
    await d?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('up: services find each other by name on the project network; a published port answers on 127.0.0.1; down removes it all', async () => {
    const port = await freePort();
    await writeFile(join(dir, 'docker-compose.yml'), [
      "version: '2.4'",
      'services:',
      '  web:',
      '    image: busybox',
      '    command: ["httpd", "-f", "-p", "80", "-h", "/etc"]',
      '    ports:',
      `      - "127.0.0.1:${port}:80"`,
      '  client:',
      '    image: busybox',
      '    depends_on: ["web"]',
      '    command: ["sh", "-c", "for i in 1 2 3 4 5 6 7 8 9 10; do wget -qO- http://web/hostname && break; sleep 0.3; done; sleep 300"]',
      '    networks:',
      '      default:',
      '        aliases: ["probe"]',
      '',
    ].join('\n'));
    const up = await compose(['up', '-d']);
    assert.equal(up.code, 0, up.stdout + up.stderr);
    assert.match(up.stderr, new RegExp(`Creating network "${project}_default" with the default driver`));
    const nets = await d.docker(['network', 'ls', '--filter', `label=com.docker.compose.project=${project}`, '--format', '{{.Name}}']);
    assert.equal(nets.stdout.trim(), `${project}_default`);
    const ps = await compose(['ps']);
    assert.match(ps.stdout, new RegExp(`${project}_web_1 .* Up .*127\\.0\\.0\\.1:${port}->80/tcp`));
    // From the host, through the published port.
    const webId = (await d.docker(['inspect', '-f', '{{.Config.Hostname}}', `${project}_web_1`])).stdout.trim();
    assert.equal((await eventually(() => httpText(`http://127.0.0.1:${port}/hostname`).catch(() => undefined))).trim(), webId);
    // From one service to the other by service name.
    await eventually(async () => (await d.docker(['logs', `${project}_client_1`])).stdout.trim() === webId);
    // And from a one-off container on the project network (its exit code says every lookup worked).
    const run = await compose(['run', '--rm', 'client', 'sh', '-c', 'nslookup web && wget -qO- http://web/hostname && nslookup probe']);
    assert.equal(run.code, 0, run.stdout + run.stderr);
    // Aliases as compose reads them back.
    const aliases = await d.docker(['inspect', '-f', `{{json (index .NetworkSettings.Networks "${project}_default").Aliases}}`, `${project}_client_1`]);
    assert.match(aliases.stdout, /"probe"/);
    assert.match(aliases.stdout, /"client"/);
    const down = await compose(['down', '-t', '1']);
    assert.equal(down.code, 0, down.stdout + down.stderr);
    assert.match(down.stderr, new RegExp(`Removing network ${project}_default`));
    assert.equal((await d.docker(['network', 'ls', '-q', '--filter', `name=${project}`])).stdout.trim(), '');
    assert.equal((await d.docker(['ps', '-aq'])).stdout.trim(), '');
  });
});
