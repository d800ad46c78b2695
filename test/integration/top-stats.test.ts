import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import Dockerode from 'dockerode';
import { TestDaemon } from '../helpers/daemon.js';
import type { ContainerStats } from '../../src/types/stats.js';

// top and stats through the docker CLI, berth and dockerode: ps columns
// limited to the container's processes, and resource figures read from its
// cgroups, shaped as the API documents them.

describe('top and stats against berthd', () => {
  let d: TestDaemon;
  let docker: Dockerode;
  const name = `ts-${process.pid}`;
  const stopped = `ts-stopped-${process.pid}`;
  before(async () => {
    d = await TestDaemon.start();
    await d.loadBusybox();
    docker = new Dockerode({ socketPath: d.socket });
    // Three processes, and 24 MiB in /dev/shm, which the memory cgroup charges to the container.
    const r = await d.docker(['run', '-d', '--name', name, 'busybox', 'sh', '-c',
      'dd if=/dev/zero of=/dev/shm/fill bs=1M count=24 2>/dev/null; sleep 1001 & sleep 1002 & wait']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal((await d.docker(['create', '--name', stopped, 'busybox', 'true'])).code, 0);
    // Until the shm file is written and both sleeps run.
    for (let i = 0; i < 100; i++) {
      const top = await d.docker(['top', name]);
      if (top.stdout.includes('sleep 1002')) break;
      await new Promise((res) => setTimeout(res, 100));
    }
  });
  after(async () => {
    await d?.docker(['rm', '-f', name, stopped]);
    await d?.stop();
  });

  it('docker top lists the container\'s processes only, with ps\'s columns; berth prints the same', async () => {
    const top = await d.docker(['top', name]);
    assert.equal(top.code, 0, top.stderr);
    const lines = top.stdout.trimEnd().split('\n');
    assert.match(lines[0]!, /^UID\s+PID\s+PPID\s+C\s+STIME\s+TTY\s+TIME\s+CMD$/);
    const cmds = lines.slice(1).map((l) => l.split(/\s{2,}/).pop());
    assert.deepEqual(cmds.sort(), ['sh -c dd if=/dev/zero of=/dev/shm/fill bs=1M count=24 2>/dev/null; sleep 1001 & sleep 1002 & wait', 'sleep 1001', 'sleep 1002'].sort());
    // Same columns, same alignment (columns that do not move over time: C and TIME do).
    const stable = ['-o', 'pid,ppid,user,args'];
    const berth = await d.berth(['top', name, ...stable]);
    assert.equal(berth.code, 0, berth.stderr);
    assert.equal(berth.stdout, (await d.docker(['top', name, ...stable])).stdout);

    const custom = await d.docker(['top', name, '-o', 'pid,comm']);
    assert.match(custom.stdout, /^PID\s+COMMAND\n(\d+\s+(sh|sleep)\n){3}$/);
    const api = await d.request('GET', `/containers/${name}/top?ps_args=-o%20comm`);
    assert.equal(api.status, 500);
    assert.equal(api.json().message, 'Couldn\'t find PID field in ps output');
  });

  it('top of a stopped container: Docker\'s 409', async () => {
    const r = await d.docker(['top', stopped]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /Error response from daemon: Container [0-9a-f]{64} is not running/);
  });

  it('GET /stats?stream=false: one document with cgroup figures and a precpu sample', async () => {
    const r = await d.request('GET', `/containers/${name}/stats?stream=false`);
    assert.equal(r.status, 200);
    const s = r.json<ContainerStats>();
    assert.equal(s.name, `/${name}`);
    assert.notEqual(s.read, '0001-01-01T00:00:00Z');
    assert.notEqual(s.preread, '0001-01-01T00:00:00Z');
    assert.equal(s.pids_stats.current, 3);
    assert.ok(s.memory_stats.usage! >= 24 * 1024 * 1024, `usage ${s.memory_stats.usage}`);
    assert.ok(s.memory_stats.limit! > 0);
    assert.ok(s.cpu_stats.cpu_usage.total_usage > 0);
    assert.ok(s.cpu_stats.system_cpu_usage! > s.precpu_stats.system_cpu_usage!, 'a second sample a second later');
    assert.ok(s.cpu_stats.online_cpus! >= 1);
    assert.ok('io_service_bytes_recursive' in s.blkio_stats);
    // The default bridge gives it eth0 (loopback is not reported), counted from the start of this run.
    assert.deepEqual(Object.keys(s.networks ?? {}), ['eth0']);
    assert.equal(typeof s.networks!.eth0!.rx_bytes, 'number');

    const oneShot = (await d.request('GET', `/containers/${name}/stats?stream=false&one-shot=true`)).json<ContainerStats>();
    assert.equal(oneShot.preread, '0001-01-01T00:00:00Z');
    assert.equal(oneShot.pids_stats.current, 3);
    const bad = await d.request('GET', `/containers/${name}/stats?stream=true&one-shot=true`);
    assert.equal(bad.status, 400);

    const zero = (await d.request('GET', `/containers/${stopped}/stats?stream=false`)).json<ContainerStats>();
    assert.equal(zero.read, '0001-01-01T00:00:00Z');
    assert.deepEqual(zero.memory_stats, {});
    assert.equal((await d.request('GET', '/containers/no-such-one/stats?stream=false')).status, 404);
  });

  it('dockerode: a stats stream sends a document a second, each carrying the previous as precpu', async () => {
    const stream = (await docker.getContainer(name).stats({ stream: true })) as NodeJS.ReadableStream & { destroy(): void };
    const docs: ContainerStats[] = [];
    await new Promise<void>((resolve, reject) => {
      let buf = '';
      stream.on('data', (c: Buffer) => {
        buf += c.toString();
        for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
          docs.push(JSON.parse(buf.slice(0, nl)));
          buf = buf.slice(nl + 1);
          if (docs.length === 2) resolve();
        }
      });
      stream.on('error', reject);
    });
    stream.destroy();
    assert.equal(docs[1]!.preread, docs[0]!.read);
    assert.deepEqual(docs[1]!.precpu_stats, docs[0]!.cpu_stats);
    const once = await docker.getContainer(name).stats({ stream: false });
    assert.equal(once.pids_stats?.current, 3);
  });

  it('docker stats --no-stream and berth stats --no-stream show the same figures', async () => {
    const format = '{{.Name}}|{{.PIDs}}|{{.NetIO}}|{{.BlockIO}}';
    const dockerOut = await d.docker(['stats', '--no-stream', '--format', format, name, stopped]);
    assert.equal(dockerOut.code, 0, dockerOut.stderr);
    // On the default bridge the running one receives a little (neighbour discovery, multicast), as with Docker.
    assert.match(dockerOut.stdout, new RegExp(`^${name}\\|3\\|\\S+ / \\S+\\|\\S+ / \\S+\\n${stopped}\\|0\\|0B / 0B\\|0B / 0B\\n$`));
    const berthOut = await d.berth(['stats', '--no-stream', '--format', format, name, stopped]);
    assert.equal(berthOut.code, 0, berthOut.stderr);
    const figures = (out: string) => out.replace(/^([^|\n]+\|\d+)\|[^|]+\|[^|\n]+\n/, '$1|N|B\n');
    assert.equal(figures(berthOut.stdout), figures(dockerOut.stdout));

    const table = await d.berth(['stats', '--no-stream']);
    const lines = table.stdout.trimEnd().split('\n');
    assert.match(lines[0]!, /^CONTAINER ID\s+NAME\s+CPU %\s+MEM USAGE \/ LIMIT\s+MEM %\s+NET I\/O\s+BLOCK I\/O\s+PIDS$/);
    const row = lines.find((l) => l.includes(name))!;
    const mem = /\s(\d+(?:\.\d+)?)MiB \/ /.exec(row);
    assert.ok(mem && Number(mem[1]) >= 24, row);
    assert.ok(!lines.some((l) => l.includes(stopped)), 'without -a only running containers');
    const dockerTable = await d.docker(['stats', '--no-stream', '--format', '{{.Name}} {{.MemUsage}}', name]);
    assert.match(dockerTable.stdout, /^ts-\d+ \d+(\.\d+)?MiB \/ \d+(\.\d+)?[GM]iB\n$/);

    const missing = await d.berth(['stats', '--no-stream', 'no-such-container']);
    assert.equal(missing.code, 1);
    assert.equal(missing.stderr, 'Error response from daemon: No such container: no-such-container\n');
  });
});
