import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import Dockerode from 'dockerode';
import { TestDaemon } from '../helpers/daemon.js';
import { cgroupDirs } from '../../src/runtime/index.js';

// docker update on a live container: the limits land in its cgroups at once
// and in its HostConfig; dockerd's refusals for bad values.

describe('update against berthd', () => {
  let d: TestDaemon;
  const name = `up-${process.pid}`;
  before(async () => {
    d = await TestDaemon.start();
    await d.loadBusybox();
    assert.equal((await d.docker(['run', '-d', '--name', name, 'busybox', 'sleep', '1000'])).code, 0);
  });
  after(async () => {
    await d?.docker(['rm', '-f', name]);
    await d?.stop();
  });

  it('docker update: memory, cpus, cpu-shares, pids-limit and restart policy on a running container', async () => {
    const r = await d.docker(['update', '-m', '64m', '--cpus', '0.5', '--cpu-shares', '512', '--pids-limit', '50', '--restart', 'on-failure:3', name]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `${name}\n`);
    const pid = Number((await d.docker(['inspect', '-f', '{{.State.Pid}}', name])).stdout.trim());
    const dirs = await cgroupDirs(pid);
    if (!dirs.v1.has('memory')) {
      assert.equal((await readFile(`${dirs.v2}/memory.max`, 'utf8')).trim(), '67108864');
      assert.equal((await readFile(`${dirs.v2}/cpu.max`, 'utf8')).trim(), '50000 100000');
      assert.equal((await readFile(`${dirs.v2}/pids.max`, 'utf8')).trim(), '50');
    } else {
      assert.equal((await readFile(`${dirs.v1.get('memory')}/memory.limit_in_bytes`, 'utf8')).trim(), '67108864');
      assert.equal((await readFile(`${dirs.v1.get('cpu')}/cpu.cfs_quota_us`, 'utf8')).trim(), '50000');
      assert.equal((await readFile(`${dirs.v1.get('cpu')}/cpu.shares`, 'utf8')).trim(), '512');
      assert.equal((await readFile(`${dirs.v1.get('pids')}/pids.max`, 'utf8')).trim(), '50');
    }
    const hc = JSON.parse((await d.docker(['inspect', '-f', '{{json .HostConfig}}', name])).stdout);
    assert.equal(hc.Memory, 67108864);
    assert.equal(hc.NanoCpus, 500000000);
    assert.equal(hc.CpuShares, 512);
    assert.equal(hc.PidsLimit, 50);
    assert.deepEqual(hc.RestartPolicy, { Name: 'on-failure', MaximumRetryCount: 3 });
    const stats = await d.docker(['stats', '--no-stream', '--format', '{{.MemUsage}}', name]);
    assert.match(stats.stdout, / \/ 64MiB\n$/);
  });

  it('berth update and dockerode update; Docker\'s errors', async () => {
    assert.equal((await d.berth(['update', '-m', '128m', name])).code, 0);
    assert.equal(JSON.parse((await d.docker(['inspect', '-f', '{{json .HostConfig.Memory}}', name])).stdout), 134217728);
    const docker = new Dockerode({ socketPath: d.socket });
    const res = await docker.getContainer(name).update({ PidsLimit: 99 });
    assert.deepEqual(res, { Warnings: [] });
    const small = await d.docker(['update', '-m', '1m', name]);
    assert.equal(small.code, 1);
    assert.match(small.stderr, /Minimum memory limit allowed is 6MB/);
    const none = await d.berth(['update', name]);
    assert.equal(none.stderr, 'you must provide one or more flags when using this command\n');
    const bad = await d.request('POST', `/containers/${name}/update`, { NanoCpus: 1e9, CpuQuota: 50000 });
    assert.equal(bad.status, 400);
    const missing = await d.docker(['update', '-m', '64m', 'no-such-container']);
    assert.match(missing.stderr, /No such container: no-such-container/);
  });
});
