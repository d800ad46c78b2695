import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import Dockerode from 'dockerode';
import { TestDaemon } from '../helpers/daemon.js';

// commit: the container's changes (new files, deletions as whiteouts, new
// directories) as one new layer on its image, with -m, -a, --change and the
// request's config filled in from the container's; paused during the commit
// by default; through the docker CLI, berth and dockerode.

describe('commit', () => {
  let d: TestDaemon;
  let docker: Dockerode;
  const u = `${process.pid}`;
  before(async () => {
    d = await TestDaemon.start();
    await d.loadBusybox();
    docker = new Dockerode({ socketPath: d.socket });
  });
  after(async () => {
    await d?.stop();
  });

  it('docker commit: files, a deletion and a new directory travel; -m, -a, --change land in the image', async () => {
    const name = `src${u}`;
    const run = await d.docker(['run', '-d', '--name', name, '-e', 'FROM_RUN=1', '-w', '/w', 'busybox', 'sh', '-c', 'echo hi > /new; rm /bin/ls; mkdir -p /d/e; touch /d/e/f; sleep 1000']);
    assert.equal(run.code, 0, run.stderr);
    const { eventually } = await import('../helpers/daemon.js');
    await eventually(async () => (await d.docker(['exec', name, 'test', '-f', '/d/e/f'])).code === 0);
    const events = d.docker(['events', '--since', String(Math.floor(Date.now() / 1000) - 1), '--until', String(Math.floor(Date.now() / 1000) + 3), '--filter', `container=${name}`, '--filter', 'event=pause', '--filter', 'event=unpause', '--filter', 'event=commit', '--format', '{{.Action}}']);
    const r = await d.docker(['commit', '-m', 'my message', '-a', 'Jane <j@example.test>', '-c', 'ENV ADDED=2', '-c', 'CMD ["cat", "/new"]', name, `snap${u}:v1`]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^sha256:[0-9a-f]{64}\n$/);
    const imageId = r.stdout.trim();
    assert.equal((await d.docker(['inspect', '-f', '{{.State.Status}}', name])).stdout, 'running\n', 'unpaused again after the commit');
    assert.deepEqual((await events).stdout.trim().split('\n'), ['pause', 'unpause', 'commit'], 'paused while read, as dockerd (with its events)');

    const out = await d.docker(['run', '--rm', `snap${u}:v1`]);
    assert.equal(out.stdout, 'hi\n', 'CMD from --change, the file from the container');
    const check = await d.docker(['run', '--rm', `snap${u}:v1`, 'sh', '-c', 'test -e /bin/ls && echo ls-there; test -f /d/e/f && echo f-there; echo $ADDED $FROM_RUN; pwd']);
    assert.equal(check.stdout, 'f-there\n2 1\n/w\n', 'deletion kept, new dir kept, Env merged, WorkingDir from the container');

    const img = JSON.parse((await d.docker(['image', 'inspect', `snap${u}:v1`])).stdout)[0];
    assert.equal(img.Id, imageId);
    assert.equal(img.Author, 'Jane <j@example.test>');
    assert.equal(img.Comment, 'my message');
    assert.deepEqual(img.Config.Env, ['ADDED=2', 'FROM_RUN=1']);
    assert.deepEqual(img.Config.Cmd, ['cat', '/new']);
    const base = JSON.parse((await d.docker(['image', 'inspect', 'busybox'])).stdout)[0];
    assert.equal(img.RootFS.Layers.length, base.RootFS.Layers.length + 1, 'one new layer');
    assert.deepEqual(img.RootFS.Layers.slice(0, -1), base.RootFS.Layers);
    const history = await d.docker(['history', '--format', '{{.CreatedBy}}|{{.Comment}}', `snap${u}:v1`]);
    assert.match(history.stdout.split('\n')[0]!, /^sh -c echo hi > \/new.*\|my message$/);

    // The image outlives the container.
    assert.equal((await d.docker(['rm', '-f', name])).code, 0);
    assert.equal((await d.docker(['run', '--rm', `snap${u}:v1`])).stdout, 'hi\n');
  });

  it('berth commit: --pause=false, a stopped container, untagged result; docker\'s errors', async () => {
    const id = (await d.docker(['run', '--name', `b${u}`, 'busybox', 'sh', '-c', 'echo berth > /b'])).stdout;
    assert.equal(id, '');
    const r = await d.berth(['commit', '--pause=false', `b${u}`]);
    assert.equal(r.code, 0, r.stderr);
    const imageId = r.stdout.trim();
    assert.match(imageId, /^sha256:[0-9a-f]{64}$/);
    assert.equal((await d.docker(['run', '--rm', imageId, 'cat', '/b'])).stdout, 'berth\n');
    assert.equal((await d.docker(['image', 'inspect', '-f', '{{.RepoTags}}', imageId])).stdout, '[]\n');
    const tagged = await d.berth(['commit', `b${u}`, `berthsnap${u}`]);
    assert.equal(tagged.code, 0, tagged.stderr);
    assert.equal((await d.docker(['image', 'inspect', '-f', '{{.Id}}', `berthsnap${u}:latest`])).stdout.trim(), tagged.stdout.trim());

    const missing = await d.berth(['commit', `nope${u}`]);
    assert.equal(missing.code, 1);
    assert.equal(missing.stderr, `Error response from daemon: No such container: nope${u}\n`);
    const badChange = await d.docker(['commit', '-c', 'FROBNICATE x', `b${u}`]);
    assert.equal(badChange.code, 1);
    assert.match(badChange.stderr, /frobnicate is not a valid change command/i);
    const badRef = await d.request('POST', `/commit?container=b${u}&repo=UPPER`);
    assert.equal(badRef.status, 400);
  });

  it('dockerode: commit with a config body, paused by default while running', async () => {
    const c = await docker.createContainer({ Image: 'busybox', Cmd: ['sh', '-c', 'echo dockerode > /x; sleep 1000'], Labels: { from: 'container' } });
    await c.start();
    const { eventually } = await import('../helpers/daemon.js');
    await eventually(async () => (await d.docker(['exec', c.id, 'test', '-f', '/x'])).code === 0);
    const since = Math.floor(Date.now() / 1000) - 1;
    const res = (await c.commit({ repo: `dockerode${u}`, tag: 't', comment: 'c', changes: 'LABEL added=yes', Labels: { body: 'yes' } } as never)) as unknown as { Id: string };
    assert.match(res.Id, /^sha256:/);
    const img = await docker.getImage(`dockerode${u}:t`).inspect();
    assert.deepEqual(img.Config.Labels, { from: 'container', added: 'yes', body: 'yes' });
    const ev = await d.docker(['events', '--since', String(since), '--until', String(Math.floor(Date.now() / 1000) + 1), '--filter', `container=${c.id}`, '--format', '{{.Action}} {{.Actor.Attributes.imageID}}']);
    assert.ok(ev.stdout.includes(`commit ${res.Id}`), ev.stdout);
    const run = await d.docker(['run', '--rm', `dockerode${u}:t`, 'cat', '/x']);
    assert.equal(run.stdout, 'dockerode\n');
    await c.remove({ force: true });
  });
});
