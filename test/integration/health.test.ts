import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import Dockerode from 'dockerode';
import { TestDaemon, eventually } from '../helpers/daemon.js';

// Healthchecks run by berthd's timers: --health-* flags, State.Health,
// "(healthy)" in ps, the health filter, health_status events, and the first
// check right at start (an hour-long interval still turns healthy at once).

describe('healthchecks against berthd', () => {
  let d: TestDaemon;
  const tag = `hc${process.pid}`;
  before(async () => {
    d = await TestDaemon.start();
    await d.loadBusybox();
  });
  after(async () => {
    const left = (await d.docker(['ps', '-aq', '--filter', `label=${tag}`])).stdout.trim().split('\n').filter(Boolean);
    if (left.length) await d.docker(['rm', '-f', ...left]);
    await d?.stop();
  });

  it('the first check runs at start: healthy long before the first interval', async () => {
    const since = Math.floor(Date.now() / 1000) - 1;
    const id = (await d.docker(['run', '-d', '--label', tag, '--health-cmd', 'echo fine', '--health-interval', '1h', 'busybox', 'sleep', '1000'])).stdout.trim();
    await eventually(async () => (await d.docker(['inspect', '-f', '{{.State.Health.Status}}', id])).stdout.trim() === 'healthy');
    const health = JSON.parse((await d.docker(['inspect', '-f', '{{json .State.Health}}', id])).stdout);
    assert.equal(health.FailingStreak, 0);
    assert.equal(health.Log.length, 1);
    assert.equal(health.Log[0].ExitCode, 0);
    assert.equal(health.Log[0].Output, 'fine\n');
    const ps = await d.docker(['ps', '--filter', `id=${id}`, '--format', '{{.Status}}']);
    assert.match(ps.stdout, /^Up .* \(healthy\)\n$/);
    const filtered = await d.docker(['ps', '-q', '--no-trunc', '--filter', 'health=healthy', '--filter', `label=${tag}`]);
    assert.equal(filtered.stdout.trim(), id);
    const ev = await d.docker(['events', '--since', String(since), '--until', String(Math.ceil(Date.now() / 1000) + 1), '--filter', `container=${id}`, '--format', '{{.Action}}']);
    assert.ok(ev.stdout.split('\n').includes('health_status: healthy'), ev.stdout);
    assert.equal((await d.docker(['exec', id, 'true'])).code, 0);
    assert.equal((await d.docker(['inspect', '-f', '{{json .ExecIDs}}', id])).stdout.trim(), 'null', 'probes are not listed as execs');
  });

  it('failures count up to --health-retries, then unhealthy; a later success is healthy again', async () => {
    const id = (await d.docker(['run', '-d', '--label', tag, '--health-cmd', 'test -f /tmp/ok', '--health-interval', '300ms', '--health-retries', '2',
      'busybox', 'sleep', '1000'])).stdout.trim();
    await eventually(async () => (await d.docker(['inspect', '-f', '{{.State.Health.Status}}', id])).stdout.trim() === 'unhealthy');
    const h = JSON.parse((await d.docker(['inspect', '-f', '{{json .State.Health}}', id])).stdout);
    assert.ok(h.FailingStreak >= 2);
    assert.ok(h.Log.length <= 5);
    assert.equal((await d.docker(['ps', '-q', '--no-trunc', '--filter', 'health=unhealthy', '--filter', `label=${tag}`])).stdout.trim(), id);
    assert.equal((await d.docker(['exec', id, 'touch', '/tmp/ok'])).code, 0);
    await eventually(async () => (await d.docker(['inspect', '-f', '{{.State.Health.Status}}', id])).stdout.trim() === 'healthy');
  });

  it('HEALTHCHECK through the API (dockerode), CMD form, timeouts, and --no-healthcheck', async () => {
    const docker = new Dockerode({ socketPath: d.socket });
    const c = await docker.createContainer({
      Image: 'busybox', Cmd: ['sleep', '1000'], Labels: { [tag]: '' },
      Healthcheck: { Test: ['CMD', 'sleep', '5'], Interval: 1e9, Timeout: 200e6, Retries: 1 },
    });
    await c.start();
    await eventually(async () => (await c.inspect()).State.Health?.Status === 'unhealthy');
    const h = (await c.inspect()).State.Health!;
    assert.equal(h.Log[0]!.ExitCode, -1);
    assert.match(h.Log[0]!.Output, /Health check exceeded timeout/);

    const none = (await d.docker(['run', '-d', '--label', tag, '--health-cmd', 'true', '--no-healthcheck', 'busybox', 'sleep', '1000'])).code;
    assert.equal(none, 125, 'docker refuses --no-healthcheck with --health-cmd');
    const plain = (await d.docker(['run', '-d', '--label', tag, 'busybox', 'sleep', '1000'])).stdout.trim();
    assert.equal((await d.docker(['inspect', '-f', '{{json .State.Health}}', plain])).stdout.trim(), 'null');
    assert.match((await d.docker(['ps', '--filter', `id=${plain}`, '--format', '{{.Status}}'])).stdout, /^Up [^(]*\n$/);
  });
});
