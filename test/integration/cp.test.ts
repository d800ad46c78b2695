import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile, readFile, mkdir, symlink, readdir, readlink, lstat } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import Dockerode from 'dockerode';
import { TestDaemon, eventually } from '../helpers/daemon.js';

// docker cp through /containers/{id}/archive: the docker CLI, berth and
// dockerode, both directions, running and stopped containers, docker's path
// rules, and never a write outside the container's root.

describe('cp against berthd', () => {
  let d: TestDaemon;
  let docker: Dockerode;
  let tmp: string;
  const run = `cp-run-${process.pid}`;
  const stopped = `cp-stopped-${process.pid}`;
  before(async () => {
    d = await TestDaemon.start();
    await d.loadBusybox();
    docker = new Dockerode({ socketPath: d.socket });
    tmp = await mkdtemp(join(tmpdir(), 'berth-cp-'));
    await mkdir(join(tmp, 'src/dir/sub'), { recursive: true });
    await writeFile(join(tmp, 'src/file.txt'), 'a file\n');
    await writeFile(join(tmp, 'src/dir/one'), '1\n');
    await writeFile(join(tmp, 'src/dir/sub/two'), '2\n');
    await symlink('one', join(tmp, 'src/dir/link'));
    await mkdir(join(tmp, 'bind'));
    assert.equal((await d.docker(['run', '-d', '--name', run, '-v', `${join(tmp, 'bind')}:/bound`, 'busybox', 'sh', '-c',
      'mkdir -p /data && echo inside > /data/in.txt && ln -s / /data/to-root && ln -s ../../../../../.. /data/up && ln -s /data/in.txt /data/in-link && sleep 1000'])).code, 0);
    assert.equal((await d.docker(['create', '--name', stopped, 'busybox', 'true'])).code, 0);
    for (let i = 0; i < 100 && (await d.docker(['exec', run, 'test', '-L', '/data/in-link'])).code !== 0; i++) await new Promise((r) => setTimeout(r, 50));
  });
  after(async () => {
    await d?.docker(['rm', '-f', run, stopped]);
    await d?.stop();
    await rm(tmp, { recursive: true, force: true });
  });

  it('docker cp into a running container: a file, a directory, a renamed file, dir/. contents', async () => {
    assert.equal((await d.docker(['cp', join(tmp, 'src/file.txt'), `${run}:/data/`])).code, 0);
    assert.equal((await d.docker(['cp', join(tmp, 'src/dir'), `${run}:/data/newdir`])).code, 0);
    assert.equal((await d.docker(['cp', join(tmp, 'src/file.txt'), `${run}:/data/renamed.txt`])).code, 0);
    assert.equal((await d.docker(['cp', `${join(tmp, 'src/dir')}/.`, `${run}:/data/`])).code, 0);
    const r = await d.docker(['exec', run, 'sh', '-c', 'cd /data && cat file.txt renamed.txt newdir/one newdir/sub/two one sub/two && readlink newdir/link && stat -c %u:%g file.txt']);
    assert.equal(r.stdout, 'a file\na file\n1\n2\n1\n2\none\n0:0\n', r.stderr);
    const notDir = await d.docker(['cp', join(tmp, 'src/dir'), `${run}:/data/file.txt`]);
    assert.equal(notDir.code, 1);
    assert.match(notDir.stderr, /cannot copy directory/);
    const missing = await d.docker(['cp', join(tmp, 'src/file.txt'), `${run}:/no/such/dir/`]);
    assert.equal(missing.code, 1);
  });

  it('docker cp out of a running container: file, directory, dir/., symlinks kept or followed with -L, tar on stdout', async () => {
    const out = join(tmp, 'out1');
    await mkdir(out);
    assert.equal((await d.docker(['cp', `${run}:/data/in.txt`, out])).code, 0);
    assert.equal(await readFile(join(out, 'in.txt'), 'utf8'), 'inside\n');
    assert.equal((await d.docker(['cp', `${run}:/data/newdir`, join(out, 'copied')])).code, 0);
    assert.deepEqual((await readdir(join(out, 'copied'))).sort(), ['link', 'one', 'sub']);
    assert.equal(await readlink(join(out, 'copied/link')), 'one');
    assert.equal((await d.docker(['cp', `${run}:/data/newdir/.`, join(out, 'contents')])).code, 0);
    assert.deepEqual((await readdir(join(out, 'contents'))).sort(), ['link', 'one', 'sub']);
    assert.equal((await d.docker(['cp', `${run}:/data/in-link`, join(out, 'as-link')])).code, 0);
    assert.ok((await lstat(join(out, 'as-link'))).isSymbolicLink());
    assert.equal((await d.docker(['cp', '-L', `${run}:/data/in-link`, join(out, 'followed')])).code, 0);
    assert.equal(await readFile(join(out, 'followed'), 'utf8'), 'inside\n');
    const tar = execFileSync('/bin/sh', ['-c', `DOCKER_HOST=${d.host} docker cp ${run}:/data/in.txt - | tar -t`]).toString();
    assert.equal(tar, 'in.txt\n');
    const missing = await d.docker(['cp', `${run}:/no-such-path`, out]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /Could not find the file \/no-such-path in container/);
  });

  it('symlinks in the container resolve inside its root: writes through / and ../.. links stay in the container', async () => {
    const marker = `berth-cp-escape-${process.pid}.txt`;
    await writeFile(join(tmp, marker), 'x\n');
    assert.equal((await d.docker(['cp', join(tmp, marker), `${run}:/data/to-root/`])).code, 0);
    assert.equal((await d.docker(['cp', join(tmp, marker), `${run}:/data/up/tmp/`])).code, 0);
    assert.ok(!existsSync(`/${marker}`), 'nothing written to the host root');
    assert.ok(!existsSync(`/tmp/${marker}`), 'nothing written to the host /tmp');
    const inside = await d.docker(['exec', run, 'sh', '-c', `cat /${marker} /tmp/${marker}`]);
    assert.equal(inside.stdout, 'x\nx\n');
    // Reading through the same links reads the container's files, not the host's.
    const through = execFileSync('/bin/sh', ['-c', `DOCKER_HOST=${d.host} docker cp ${run}:/data/up/data/in.txt - | tar -xO`]).toString();
    assert.equal(through, 'inside\n');
  });

  it('binds and the /etc files: cp reads and writes their sources', async () => {
    assert.equal((await d.docker(['cp', join(tmp, 'src/file.txt'), `${run}:/bound/`])).code, 0);
    assert.equal(await readFile(join(tmp, 'bind/file.txt'), 'utf8'), 'a file\n');
    const hosts = await d.docker(['cp', `${run}:/etc/hosts`, '-']);
    assert.match(hosts.stdout, /127\.0\.0\.1\tlocalhost/);
  });

  it('a stopped container: both directions, and its snapshot is unmounted afterwards', async () => {
    assert.equal((await d.docker(['cp', join(tmp, 'src/file.txt'), `${stopped}:/`])).code, 0);
    const out = join(tmp, 'out2');
    assert.equal((await d.docker(['cp', `${stopped}:/file.txt`, out])).code, 0);
    assert.equal(await readFile(out, 'utf8'), 'a file\n');
    const hostname = await d.docker(['cp', `${stopped}:/etc/hostname`, '-']);
    assert.equal(hostname.code, 0, hostname.stderr);
    // The answer ends before the mount goes: wait for it.
    await eventually(async () => !(await readFile('/proc/self/mounts', 'utf8')).includes(join(d.execRoot, 'mounts')));
    const started = await d.docker(['start', '-a', stopped]);
    assert.equal(started.code, 0, started.stderr);
  });

  it('berth cp: the same rules in both directions', async () => {
    assert.equal((await d.berth(['cp', join(tmp, 'src/dir'), `${run}:/data/berthdir`])).code, 0);
    assert.equal((await d.berth(['cp', join(tmp, 'src/file.txt'), `${run}:/data/berthdir/renamed`])).code, 0);
    const ls = await d.docker(['exec', run, 'sh', '-c', 'cd /data/berthdir && ls && cat renamed && readlink link']);
    assert.equal(ls.stdout, 'link\none\nrenamed\nsub\na file\none\n');
    const out = join(tmp, 'out3');
    assert.equal((await d.berth(['cp', `${run}:/data/berthdir/.`, out])).code, 0);
    assert.deepEqual((await readdir(out)).sort(), ['link', 'one', 'renamed', 'sub']);
    assert.equal((await d.berth(['cp', `${run}:/data/in.txt`, join(tmp, 'out3/sub/')])).code, 0);
    assert.equal(await readFile(join(out, 'sub/in.txt'), 'utf8'), 'inside\n');
    const tarOut = await d.berth(['cp', `${run}:/data/in.txt`, '-']);
    assert.equal(tarOut.code, 0);
    assert.match(tarOut.stdout, /^in\.txt/);
    const missing = await d.berth(['cp', `${run}:/nope`, out]);
    assert.equal(missing.code, 1);
    assert.equal(missing.stderr, `Error response from daemon: Could not find the file /nope in container ${run}\n`);
    const both = await d.berth(['cp', `${run}:/a`, `${run}:/b`]);
    assert.equal(both.stderr, 'copying between containers is not supported\n');
  });

  it('dockerode: infoArchive (the stat header), getArchive, putArchive', async () => {
    const c = docker.getContainer(run);
    const info = (await c.infoArchive({ path: '/data/in-link' })) as unknown as { headers: Record<string, string> };
    const stat = JSON.parse(Buffer.from(info.headers['x-docker-container-path-stat']!, 'base64').toString());
    assert.equal(stat.name, 'in-link');
    assert.equal(stat.linkTarget, '/data/in.txt');
    assert.ok((stat.mode & (1 << 27)) !== 0, 'ModeSymlink');
    const dirStat = await d.request('HEAD', `/containers/${run}/archive?path=/data`);
    const ds = JSON.parse(Buffer.from(String(dirStat.headers['x-docker-container-path-stat']), 'base64').toString());
    assert.equal(ds.mode >>> 0, ((1 << 31) | 0o755) >>> 0);

    const tarStream = await c.getArchive({ path: '/data/in.txt' });
    const chunks: Buffer[] = [];
    for await (const chunk of tarStream as AsyncIterable<Buffer>) chunks.push(chunk);
    const listing = execFileSync('tar', ['-t'], { input: Buffer.concat(chunks) }).toString();
    assert.equal(listing, 'in.txt\n');

    const upload = execFileSync('tar', ['-c', '-C', join(tmp, 'src'), 'file.txt']);
    await c.putArchive(upload, { path: '/tmp' });
    assert.equal((await d.docker(['exec', run, 'cat', '/tmp/file.txt'])).stdout, 'a file\n');
    const bad = await c.putArchive(upload, { path: '/data/in.txt' }).then(() => undefined, (e: { statusCode?: number }) => e);
    assert.equal(bad?.statusCode, 400);
    const gone = await c.putArchive(upload, { path: '/no/where' }).then(() => undefined, (e: { statusCode?: number }) => e);
    assert.equal(gone?.statusCode, 404);
  });
});
