import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import Dockerode from 'dockerode';
import { TestDaemon } from '../helpers/daemon.js';

// container prune (stopped containers only, until and label filters) and port.

describe('container prune and port against berthd', () => {
  let d: TestDaemon;
  const tag = `pp${process.pid}`;
  before(async () => {
    d = await TestDaemon.start();
    await d.loadBusybox();
  });
  after(async () => {
    const left = (await d.docker(['ps', '-aq', '--filter', `label=${tag}`])).stdout.trim().split('\n').filter(Boolean);
    if (left.length) await d.docker(['rm', '-f', ...left]);
    await d?.stop();
  });

  it('docker container prune removes stopped containers only, honouring label, label! and until', async () => {
    const running = (await d.docker(['run', '-d', '--label', tag, 'busybox', 'sleep', '1000'])).stdout.trim();
    const keep = (await d.docker(['create', '--label', tag, '--label', 'keep=yes', 'busybox', 'true'])).stdout.trim();
    const exited = (await d.docker(['run', '--label', tag, 'busybox', 'true'])).code;
    assert.equal(exited, 0);
    const exitedId = (await d.docker(['ps', '-aq', '--no-trunc', '--filter', `label=${tag}`, '--filter', 'status=exited'])).stdout.trim();

    const young = await d.docker(['container', 'prune', '-f', '--filter', 'until=1h']);
    assert.equal(young.stdout, 'Total reclaimed space: 0B\n', 'nothing is an hour old');

    const r = await d.docker(['container', 'prune', '-f', '--filter', 'label!=keep']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^Deleted Containers:\\n${exitedId}\\n\\nTotal reclaimed space: \\S+\\n$`));
    const left = (await d.docker(['ps', '-aq', '--no-trunc', '--filter', `label=${tag}`])).stdout.trim().split('\n').sort();
    assert.deepEqual(left, [running, keep].sort());

    const berth = await d.berth(['container', 'prune', '-f', '--filter', `label=${tag}`]);
    assert.equal(berth.stdout, `Deleted Containers:\n${keep}\n\nTotal reclaimed space: 0B\n`);
    const docker = new Dockerode({ socketPath: d.socket });
    assert.deepEqual(await docker.pruneContainers(), { ContainersDeleted: null, SpaceReclaimed: 0 });
    assert.equal((await d.docker(['inspect', '-f', '{{.State.Running}}', running])).stdout, 'true\n');
    const bad = await d.request('POST', '/containers/prune?filters=%7B%22status%22%3A%5B%22x%22%5D%7D');
    assert.equal(bad.status, 400);
  });

  it('prune asks first; "n" keeps everything', async () => {
    const id = (await d.docker(['create', '--label', tag, 'busybox', 'true'])).stdout.trim();
    const r = await d.berth(['container', 'prune'], { input: 'n\n' });
    assert.equal(r.code, 0);
    assert.match(r.stdout, /WARNING! This will remove all stopped containers\.\nAre you sure you want to continue\? \[y\/N\] /);
    assert.equal((await d.docker(['inspect', '-f', '{{.Id}}', id])).stdout.trim(), id);
  });

  it('port: nothing published prints nothing; asking for one port is docker\'s error', async () => {
    const id = (await d.docker(['run', '-d', '--label', tag, 'busybox', 'sleep', '1000'])).stdout.trim();
    const all = await d.berth(['port', id]);
    assert.equal(all.code, 0);
    assert.equal(all.stdout, '');
    const one = await d.berth(['port', id, '80']);
    const viaDocker = await d.docker(['port', id, '80']);
    assert.equal(one.code, viaDocker.code);
    assert.equal(one.stderr.replace(id, 'X'), viaDocker.stderr.replace(id, 'X'));
  });
});
