import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { TestDaemon, BERTHD, runCommand, eventually } from '../helpers/daemon.js';

// berthd can die or be stopped at any moment; containers live on under conmon
// and nothing they did is lost.

/** A container that prints, then waits until the test drops a file into its rootfs. */
const GATED = ['sh', '-c', 'echo before; while [ ! -e /tmp/go ]; do sleep 0.05; done; echo after; exit 3'];

async function openGate(d: TestDaemon, id: string): Promise<void> {
  await writeFile(join(d.execRoot, 'bundles', id, 'rootfs', 'tmp', 'go'), '');
}

describe('daemon lifecycle', () => {
  let d: TestDaemon;
  before(async () => {
    d = await TestDaemon.start();
    await d.loadBusybox();
  });
  after(async () => {
    await d?.stop();
  });

  it('a container survives SIGKILL of berthd: still running, logs intact, wait gets its exit code', async () => {
    const run = await d.docker(['run', '-d', '--name', 'survivor', 'busybox', ...GATED]);
    assert.equal(run.code, 0, run.stderr);
    const id = run.stdout.trim();
    await eventually(async () => (await d.docker(['logs', id])).stdout === 'before\n');

    await d.kill9();
    await d.launch();

    const state = await d.docker(['inspect', '-f', '{{.State.Status}} {{.State.Pid}}', id]);
    assert.match(state.stdout.trim(), /^running [1-9]\d*$/);
    assert.equal((await d.docker(['logs', id])).stdout, 'before\n');

    const waiting = d.docker(['wait', id]);
    await new Promise((r) => setTimeout(r, 200));
    await openGate(d, id);
    const waited = await waiting;
    assert.equal(waited.stdout.trim(), '3');
    assert.equal((await d.docker(['logs', id])).stdout, 'before\nafter\n');
    assert.equal((await d.docker(['inspect', '-f', '{{.State.Status}} {{.State.ExitCode}}', id])).stdout.trim(), 'exited 3');
    await d.docker(['rm', id]);
  });

  it('records the exit code of a container that ended while berthd was down', async () => {
    const id = (await d.docker(['run', '-d', 'busybox', ...GATED])).stdout.trim();
    await eventually(async () => (await d.docker(['logs', id])).stdout === 'before\n');
    await d.kill9();
    await openGate(d, id);
    await eventually(async () => existsSync(join(d.execRoot, 'exits', id)));
    await d.launch();
    assert.equal((await d.docker(['inspect', '-f', '{{.State.Status}} {{.State.ExitCode}}', id])).stdout.trim(), 'exited 3');
    assert.equal((await d.docker(['wait', id])).stdout.trim(), '3');
    assert.equal((await d.docker(['logs', id])).stdout, 'before\nafter\n');
    // The run's mount was released on re-adoption.
    assert.equal(existsSync(join(d.execRoot, 'bundles', id)), false);
    await d.docker(['rm', id]);
  });

  it('SIGTERM shuts down cleanly and leaves containers running', async () => {
    const id = (await d.docker(['run', '-d', 'busybox', ...GATED])).stdout.trim();
    assert.equal(await d.terminate(), 0);
    assert.equal(existsSync(d.socket), false, 'socket removed on shutdown');
    await d.launch();
    assert.equal((await d.docker(['inspect', '-f', '{{.State.Running}}', id])).stdout.trim(), 'true');
    await openGate(d, id);
    assert.equal((await d.docker(['wait', id])).stdout.trim(), '3');
    await d.docker(['rm', id]);
  });

  it('a clean stop right after `run --rm` returns waits for that container\'s tear-down: no namespace, bridge or mount is left', async () => {
    for (let i = 0; i < 3; i++) {
      const own = await TestDaemon.start();
      try {
        await own.loadBusybox();
        const r = await own.docker(['run', '--rm', 'busybox', 'true']);
        assert.equal(r.code, 0, r.stderr);
      } finally {
        // stop() fails when a namespace, bridge, rule or mount outlives the daemon.
        await own.stop();
      }
    }
  });

  it('a second berthd on the same data root refuses to start', async () => {
    const r = await runCommand(process.execPath, [BERTHD, '--data-root', d.dataRoot, '--exec-root', join(d.dir, 'exec2'), '-H', `unix://${join(d.dir, 'other.sock')}`, '--config-file', join(d.dir, 'daemon.json')], { timeoutMs: 15_000 });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /another berthd \(pid \d+\) is already using data root/);
    // The first daemon is unaffected.
    assert.equal((await d.request('GET', '/_ping')).status, 200);
  });

  it('rejects conflicting flag and config-file settings like dockerd', async () => {
    const cfg = join(d.dir, 'conflict.json');
    await writeFile(cfg, JSON.stringify({ 'data-root': join(d.dir, 'x') }));
    const r = await runCommand(process.execPath, [BERTHD, '--data-root', join(d.dir, 'y'), '--config-file', cfg], { timeoutMs: 15_000 });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /specified both as a flag and in the configuration file: data-root/);
  });
});
