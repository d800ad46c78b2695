import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import Dockerode from 'dockerode';
import { TestDaemon } from '../helpers/daemon.js';

// docker diff (A/C/D from the overlay upper dir, whiteouts as deletions,
// mount points left out) and docker export (the flattened root as a tar).

describe('diff and export against berthd', () => {
  let d: TestDaemon;
  let tmp: string;
  const name = `de-${process.pid}`;
  before(async () => {
    d = await TestDaemon.start();
    await d.loadBusybox();
    tmp = await mkdtemp(join(tmpdir(), 'berth-diff-'));
    const r = await d.docker(['run', '--name', name, '-v', `${tmp}:/mnt/bound`, 'busybox', 'sh', '-c',
      'echo x > /newfile; rm /etc/group; echo y >> /etc/passwd; mkdir -p /a/b; rm -r /home']);
    assert.equal(r.code, 0, r.stderr);
  });
  after(async () => {
    await d?.docker(['rm', '-f', name, `${name}-clean`]);
    await d?.stop();
    await rm(tmp, { recursive: true, force: true });
  });

  it('docker diff and berth diff: added, changed and deleted paths, in order', async () => {
    // The bind's mount point is made in the container's layer, as dockerd makes it.
    const expected = 'A /a\nA /a/b\nC /etc\nD /etc/group\nC /etc/passwd\nD /home\nA /mnt\nA /mnt/bound\nA /newfile\n';
    const r = await d.docker(['diff', name]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, expected);
    assert.equal((await d.berth(['diff', name])).stdout, expected);
    const api = await d.request('GET', `/containers/${name}/changes`);
    assert.deepEqual(api.json()[0], { Path: '/a', Kind: 1 });
  });

  it('a container that changed nothing has no diff (its mount points do not count)', async () => {
    assert.equal((await d.docker(['run', '--name', `${name}-clean`, 'busybox', 'true'])).code, 0);
    const r = await d.docker(['diff', `${name}-clean`]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '');
    assert.equal((await d.request('GET', `/containers/${name}-clean/changes`)).body, 'null');
  });

  it('docker export, berth export -o and dockerode: the flattened filesystem with the changes applied', async () => {
    const viaDocker = execFileSync('/bin/sh', ['-c', `DOCKER_HOST=${d.host} docker export ${name} | tar -t`]).toString().split('\n');
    assert.ok(viaDocker.includes('newfile'));
    assert.ok(viaDocker.includes('a/b/'));
    assert.ok(viaDocker.includes('bin/sh'));
    assert.ok(!viaDocker.includes('etc/group'));
    assert.ok(!viaDocker.includes('home/'));
    const file = join(tmp, 'export.tar');
    const r = await d.berth(['export', '-o', file, name]);
    assert.equal(r.code, 0, r.stderr);
    const passwd = execFileSync('tar', ['-xOf', file, 'etc/passwd']).toString();
    assert.match(passwd, /\ny\n$/);
    const viaBerth = execFileSync('tar', ['-tf', file]).toString().split('\n');
    assert.deepEqual(viaBerth.sort(), viaDocker.sort());
    const docker = new Dockerode({ socketPath: d.socket });
    const stream = await docker.getContainer(name).export();
    const chunks: Buffer[] = [];
    for await (const c of stream as AsyncIterable<Buffer>) chunks.push(c);
    assert.ok(execFileSync('tar', ['-t'], { input: Buffer.concat(chunks) }).toString().includes('newfile\n'));
  });
});
