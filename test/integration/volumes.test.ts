import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { mkdtemp, rm, writeFile, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import Dockerode from 'dockerode';
import { TestDaemon } from '../helpers/daemon.js';
import { importImage } from '../helpers/images.js';

// Volumes through the real docker CLI, dockerode and berth against a test
// berthd: named and anonymous volumes, copy-up, --volumes-from, rm -v,
// prune, the in-use conflict, restarts and a kill -9 during a copy-up.

interface ModemError extends Error {
  statusCode?: number;
  json?: { message?: string } | null;
}

async function rejection(p: Promise<unknown>): Promise<ModemError> {
  try {
    await p;
  } catch (err) {
    return err as ModemError;
  }
  assert.fail('expected the call to reject');
}

const uniq = () => randomBytes(3).toString('hex');

describe('volumes', () => {
  let d: TestDaemon;
  let docker: Dockerode;
  before(async () => {
    d = await TestDaemon.start();
    await d.loadBusybox();
    docker = new Dockerode({ socketPath: d.socket });
  });
  after(async () => {
    await d?.stop();
  });

  const sh = async (args: string[]) => {
    const r = await d.docker(args);
    assert.equal(r.code, 0, `docker ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };

  it('docker volume create/ls/inspect/rm, with labels, filters and Docker\'s errors', async () => {
    const name = `vol-${uniq()}`;
    assert.equal(await sh(['volume', 'create', '--label', 'team=a', '--label', 'flag', name]), `${name}\n`);
    const [v] = JSON.parse(await sh(['volume', 'inspect', name]));
    assert.equal(v.Name, name);
    assert.equal(v.Driver, 'local');
    assert.equal(v.Scope, 'local');
    assert.deepEqual(v.Labels, { team: 'a', flag: '' });
    assert.equal(v.Mountpoint, join(d.dataRoot, 'volumes', name, '_data'));
    assert.match(v.CreatedAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.ok(statSync(v.Mountpoint).isDirectory());
    assert.equal(await sh(['volume', 'create', name]), `${name}\n`, 'creating an existing volume again is fine, as with Docker');

    const generated = (await sh(['volume', 'create'])).trim();
    assert.match(generated, /^[0-9a-f]{64}$/);
    const ls = await sh(['volume', 'ls']);
    assert.match(ls, /^DRIVER {4}VOLUME NAME\n/);
    assert.match(ls, new RegExp(`local {5}${name}\n`));
    assert.equal(await sh(['volume', 'ls', '-q', '-f', 'label=team=a']), `${name}\n`);
    assert.equal(await sh(['volume', 'ls', '-q', '-f', `name=${name.slice(4)}`]), `${name}\n`);
    assert.equal(await sh(['volume', 'ls', '-q', '-f', 'driver=nope']), '');
    const [lsName, lsLabels] = (await sh(['volume', 'ls', '--format', '{{.Name}}:{{.Labels}}', '-f', 'label=flag'])).trim().split(':');
    assert.equal(lsName, name);
    assert.deepEqual(lsLabels!.split(',').sort(), ['flag=', 'team=a'], 'the docker CLI joins labels in map order');
    const badFilter = await d.docker(['volume', 'ls', '-f', 'colour=red']);
    assert.equal(badFilter.code, 1);
    assert.match(badFilter.stderr, /invalid filter 'colour'/);

    const invalid = await d.docker(['volume', 'create', 'bad@name']);
    assert.equal(invalid.code, 1);
    assert.match(invalid.stderr, /create bad@name: "bad@name" includes invalid characters for a local volume name, only "\[a-zA-Z0-9\]\[a-zA-Z0-9_.-\]" are allowed/);
    const short = await d.docker(['volume', 'create', 'x']);
    assert.match(short.stderr, /volume name is too short, names should be at least two alphanumeric characters/);
    const badOpt = await d.docker(['volume', 'create', '-o', 'colour=red', `o-${uniq()}`]);
    assert.match(badOpt.stderr, /invalid option: "colour"/);
    const badDriver = await d.docker(['volume', 'create', '-d', 'nodriver', `o-${uniq()}`]);
    assert.match(badDriver.stderr, /error looking up volume plugin nodriver: plugin "nodriver" not found/);
    const runBad = await d.docker(['run', '--rm', '-v', 'bad@name:/data', 'busybox', 'true']);
    assert.equal(runBad.code, 125);
    assert.match(runBad.stderr, /includes invalid characters for a local volume name/);

    const missing = await d.docker(['volume', 'inspect', 'no-such-volume']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /get no-such-volume: no such volume/);
    const rmMissing = await d.docker(['volume', 'rm', 'no-such-volume']);
    assert.equal(rmMissing.code, 1);
    assert.match(rmMissing.stderr, /no such volume/);
    assert.equal((await d.request('DELETE', '/volumes/no-such-volume?force=1')).status, 204, 'force forgives a missing volume');

    assert.equal(await sh(['volume', 'rm', name, generated]), `${name}\n${generated}\n`);
    assert.ok(!existsSync(v.Mountpoint));
    assert.equal(await sh(['volume', 'ls', '-q', '-f', `name=${name}`]), '');
  });

  it('data written in one container is read in the next, survives removal and a berthd restart', async () => {
    const name = `data-${uniq()}`;
    await sh(['run', '--rm', '-v', `${name}:/data`, 'busybox', 'sh', '-c', 'echo persisted > /data/file; mkdir /data/dir']);
    assert.equal(await sh(['run', '--rm', '-v', `${name}:/data`, 'busybox', 'cat', '/data/file']), 'persisted\n');
    const c = (await sh(['run', '-d', '--mount', `type=volume,source=${name},target=/m`, 'busybox', 'sh', '-c', 'echo again >> /m/file; sleep 60'])).trim();
    const mounts = JSON.parse(await sh(['inspect', '-f', '{{json .Mounts}}', c]));
    assert.deepEqual(mounts, [{
      Type: 'volume', Name: name, Source: join(d.dataRoot, 'volumes', name, '_data'), Destination: '/m', Driver: 'local', Mode: 'z', RW: true, Propagation: '',
    }]);
    assert.equal((await sh(['ps', '--filter', `volume=${name}`, '--format', '{{.ID}} {{.Mounts}}'])).trim(), `${c.slice(0, 12)} ${name}`);
    await sh(['rm', '-f', c]);

    // A clean restart and a crash: the volume and its data are still there.
    await d.terminate();
    await d.launch();
    await d.kill9();
    await d.launch();
    assert.equal(await sh(['run', '--rm', '-v', `${name}:/data`, 'busybox', 'cat', '/data/file']), 'persisted\nagain\n');
    assert.equal(await sh(['volume', 'ls', '-q', '-f', `name=${name}`]), `${name}\n`);
    await sh(['volume', 'rm', name]);
  });

  it('read-only volume mounts refuse writes', async () => {
    const name = `ro-${uniq()}`;
    const viaV = await d.docker(['run', '--rm', '-v', `${name}:/data:ro`, 'busybox', 'sh', '-c', 'touch /data/x']);
    assert.notEqual(viaV.code, 0);
    assert.match(viaV.stderr, /Read-only file system/);
    const viaMount = await d.docker(['run', '--rm', '--mount', `type=volume,src=${name},dst=/data,readonly`, 'busybox', 'sh', '-c', 'touch /data/x']);
    assert.match(viaMount.stderr, /Read-only file system/);
    const c = (await sh(['create', '-v', `${name}:/data:ro`, 'busybox'])).trim();
    const [m] = JSON.parse(await sh(['inspect', '-f', '{{json .Mounts}}', c]));
    assert.equal(m.RW, false);
    assert.equal(m.Mode, 'ro');
    await sh(['rm', c]);
    await sh(['volume', 'rm', name]);
  });

  it('copy-up fills a new volume with the image\'s files, keeping owners, modes, links, times and xattrs', async () => {
    const image = `copyup-${uniq()}`;
    await importImage(d, image, [
      { name: 'srv/', type: 'directory', mode: 0o750, uid: 1000, gid: 1001 },
      { name: 'srv/data.txt', mode: 0o640, uid: 1234, gid: 5678, content: 'image content\n', mtime: new Date('2020-02-02T00:00:00Z'), pax: { 'SCHILY.xattr.user.origin': 'image' } },
      { name: 'srv/run.sh', mode: 0o4755, uid: 0, gid: 0, content: '#!/bin/sh\n' },
      { name: 'srv/link', type: 'symlink', linkname: 'data.txt' },
      { name: 'srv/abs-link', type: 'symlink', linkname: '/etc/passwd' },
      { name: 'srv/sub/', type: 'directory', mode: 0o700, uid: 42, gid: 42 },
      { name: 'srv/sub/deep.txt', mode: 0o600, uid: 42, gid: 42, content: 'deep\n' },
    ], ['VOLUME /srv']);
    const c = (await sh(['create', image])).trim();
    const [m] = JSON.parse(await sh(['inspect', '-f', '{{json .Mounts}}', c]));
    assert.equal(m.Type, 'volume');
    assert.match(m.Name, /^[0-9a-f]{64}$/);
    assert.equal(m.Destination, '/srv');
    assert.equal(m.Mode, '');
    assert.equal(readdirSync(m.Source).length, 0, 'nothing is copied before the first start');
    await sh(['start', '-a', c]);
    const host = m.Source as string;
    const st = (p: string) => statSync(join(host, p), { throwIfNoEntry: true });
    assert.equal(st('.').uid, 1000);
    assert.equal(st('.').gid, 1001);
    assert.equal(st('.').mode & 0o7777, 0o750, 'the volume root takes the image directory\'s mode');
    assert.equal(await readFile(join(host, 'data.txt'), 'utf8'), 'image content\n');
    assert.equal(st('data.txt').uid, 1234);
    assert.equal(st('data.txt').gid, 5678);
    assert.equal(st('data.txt').mode & 0o7777, 0o640);
    assert.equal(st('data.txt').mtime.toISOString(), '2020-02-02T00:00:00.000Z');
    assert.equal(st('run.sh').mode & 0o7777, 0o4755);
    assert.equal(execFileSync('readlink', [join(host, 'link')], { encoding: 'utf8' }), 'data.txt\n');
    assert.equal(execFileSync('readlink', [join(host, 'abs-link')], { encoding: 'utf8' }), '/etc/passwd\n', 'links are copied as links, never followed');
    assert.equal(st('sub').mode & 0o7777, 0o700);
    assert.equal(st('sub/deep.txt').uid, 42);
    const xattr = execFileSync('getfattr', ['--only-values', '-n', 'user.origin', join(host, 'data.txt')], { encoding: 'utf8' });
    assert.equal(xattr, 'image');
    // In the container the files look the same.
    assert.equal(await sh(['run', '--rm', '-v', `${m.Name}:/srv`, 'busybox', 'sh', '-c', 'stat -c "%u:%g %a" /srv/data.txt; cat /srv/link']), '1234:5678 640\nimage content\n');

    // A volume that already holds data is not filled again; nocopy leaves a new one empty.
    const named = `nocopy-${uniq()}`;
    assert.equal(await sh(['run', '--rm', '-v', `${named}:/srv:nocopy`, image, 'ls', '-A', '/srv']), '');
    const filled = `filled-${uniq()}`;
    await sh(['run', '--rm', '-v', `${filled}:/srv`, 'busybox', 'sh', '-c', 'echo mine > /srv/own']);
    assert.equal(await sh(['run', '--rm', '-v', `${filled}:/srv`, image, 'ls', '-A', '/srv']), 'own\n');
    assert.equal(await sh(['run', '--rm', '--mount', `type=volume,dst=/srv,volume-nocopy`, image, 'ls', '-A', '/srv']), '');
    await sh(['rm', '-v', c]);
    await sh(['volume', 'rm', named, filled]);
    await sh(['rmi', image]);
  });

  it('copy-up into a volume mounted from a device (local driver tmpfs options) works in place', async () => {
    const name = `tmpfsvol-${uniq()}`;
    await sh(['volume', 'create', '-o', 'type=tmpfs', '-o', 'device=tmpfs', '-o', 'o=size=4m,mode=0755', name]);
    const out = await sh(['run', '--rm', '-v', `${name}:/etc`, 'busybox', 'sh', '-c', 'grep " /etc " /proc/mounts | cut -d" " -f3; ls /etc']);
    assert.equal(out, 'tmpfs\ngroup\npasswd\n');
    const [v] = JSON.parse(await sh(['volume', 'inspect', name]));
    assert.deepEqual(v.Options, { type: 'tmpfs', device: 'tmpfs', o: 'size=4m,mode=0755' });
    const mountinfo = async () => readFile('/proc/self/mountinfo', 'utf8');
    assert.ok(!(await mountinfo()).includes(v.Mountpoint), 'the device is unmounted when the last container is done');

    // --mount creates a missing volume with its volume-opt options.
    const viaMount = `mountopt-${uniq()}`;
    const fsType = await sh(['run', '--rm', '--mount', `type=volume,src=${viaMount},dst=/v,volume-driver=local,volume-opt=type=tmpfs,volume-opt=device=tmpfs,volume-label=via=mount`,
      'busybox', 'sh', '-c', 'grep " /v " /proc/mounts | cut -d" " -f3']);
    assert.equal(fsType, 'tmpfs\n');
    const [mv] = JSON.parse(await sh(['volume', 'inspect', viaMount]));
    assert.deepEqual(mv.Options, { type: 'tmpfs', device: 'tmpfs' });
    assert.deepEqual(mv.Labels, { via: 'mount' });
    await sh(['volume', 'rm', viaMount]);

    // Two users share the mount; it outlives a berthd crash and goes with the last user.
    const a = (await sh(['run', '-d', '-v', `${name}:/v`, 'busybox', 'sh', '-c', 'echo kept > /v/f; sleep 60'])).trim();
    const b = (await sh(['run', '-d', '-v', `${name}:/v`, 'busybox', 'sleep', '60'])).trim();
    await d.kill9();
    await d.launch();
    assert.ok((await mountinfo()).includes(v.Mountpoint), 'the running containers keep the volume mounted across the restart');
    const read = await sh(['run', '--rm', '-v', `${name}:/v`, 'busybox', 'sh', '-c', 'until [ -s /v/f ]; do sleep 0.05; done; cat /v/f']);
    assert.equal(read, 'kept\n', 'a third container sees the same mounted device');
    assert.ok((await mountinfo()).includes(v.Mountpoint), 'the third container\'s exit leaves it mounted for the others');
    await sh(['rm', '-f', a]);
    assert.ok((await mountinfo()).includes(v.Mountpoint), 'still mounted for the other user');
    await sh(['rm', '-f', b]);
    assert.ok(!(await mountinfo()).includes(v.Mountpoint), 'unmounted after the last user');
    await sh(['volume', 'rm', name]);
  });

  it('a local volume with bind options mounts a host directory', async () => {
    const hostDir = await mkdtemp(join(tmpdir(), 'berth-bindvol-'));
    try {
      await writeFile(join(hostDir, 'from-host'), 'host\n');
      const name = `bindvol-${uniq()}`;
      await sh(['volume', 'create', '--driver', 'local', '-o', 'type=none', '-o', 'o=bind', '-o', `device=${hostDir}`, name]);
      assert.equal(await sh(['run', '--rm', '-v', `${name}:/v`, 'busybox', 'sh', '-c', 'cat /v/from-host; echo container > /v/from-container']), 'host\n');
      assert.equal(await readFile(join(hostDir, 'from-container'), 'utf8'), 'container\n');
      const missing = `bindvol-${uniq()}`;
      await sh(['volume', 'create', '-o', 'type=none', '-o', 'o=bind', '-o', `device=${join(hostDir, 'absent')}`, missing]);
      const failed = await d.docker(['run', '--rm', '-v', `${missing}:/v`, 'busybox', 'true']);
      assert.notEqual(failed.code, 0);
      assert.match(failed.stderr, /error while mounting volume '.*': failed to mount local volume/);
      await sh(['volume', 'rm', name, missing]);
      assert.deepEqual(readdirSync(hostDir).sort(), ['from-container', 'from-host'], 'removing the volume leaves the host directory alone');
    } finally {
      await rm(hostDir, { recursive: true, force: true });
    }
  });

  it('an image whose VOLUME path is a symlink out of the root copies nothing from the host', async () => {
    const secretDir = await mkdtemp(join(tmpdir(), 'berth-secret-'));
    await writeFile(join(secretDir, 'secret.txt'), 'host secret\n');
    try {
      const image = `evil-${uniq()}`;
      await importImage(d, image, [
        { name: 'data', type: 'symlink', linkname: `../../../../../../../..${secretDir}` },
        { name: 'abs', type: 'symlink', linkname: secretDir },
        { name: 'inner/', type: 'directory', mode: 0o755 },
        { name: 'inner/escape', type: 'symlink', linkname: '../../../../../../..' },
      ], ['VOLUME /data /abs /inner/escape/tmp']);
      const c = (await sh(['create', image, 'true'])).trim();
      await sh(['start', '-a', c]);
      const mounts = JSON.parse(await sh(['inspect', '-f', '{{json .Mounts}}', c])) as Array<{ Source: string; Destination: string }>;
      assert.equal(mounts.length, 3);
      for (const m of mounts) {
        assert.deepEqual(readdirSync(m.Source), [], `${m.Destination}: nothing from the host was copied`);
      }
      assert.deepEqual(readdirSync(secretDir), ['secret.txt'], 'the host directory is untouched');
      await sh(['rm', '-v', c]);
      await sh(['rmi', image]);
    } finally {
      await rm(secretDir, { recursive: true, force: true });
    }
  });

  it('anonymous volumes from VOLUME and -v /path: rm -v removes them, rm keeps them, named ones always stay', async () => {
    const image = `withvol-${uniq()}`;
    await importImage(d, image, [{ name: 'cache/', type: 'directory', mode: 0o755 }, { name: 'cache/seed', content: 'seed\n' }], ['VOLUME /cache']);
    const named = `keep-${uniq()}`;
    const volumesBefore = new Set((await sh(['volume', 'ls', '-q'])).split('\n').filter(Boolean));
    const anonOf = async (c: string) => (JSON.parse(await sh(['inspect', '-f', '{{json .Mounts}}', c])) as Array<{ Name?: string; Destination: string }>)
      .filter((m) => m.Destination !== '/named').map((m) => m.Name!).sort();

    const c1 = (await sh(['run', '-d', '-v', '/scratch', '-v', `${named}:/named`, image, 'sh', '-c', 'cat /cache/seed'])).trim();
    await sh(['wait', c1]);
    assert.equal(await sh(['logs', c1]), 'seed\n');
    const anon1 = await anonOf(c1);
    assert.equal(anon1.length, 2);
    const [info] = JSON.parse(await sh(['volume', 'inspect', anon1[0]!]));
    assert.deepEqual(info.Labels, { 'com.docker.volume.anonymous': '' });
    await sh(['rm', '-v', c1]);
    const after1 = await sh(['volume', 'ls', '-q']);
    for (const a of anon1) assert.ok(!after1.includes(a), `rm -v removed ${a}`);
    assert.ok(after1.includes(named), 'rm -v keeps named volumes');

    const c2 = (await sh(['create', '-v', '/scratch', image])).trim();
    const anon2 = await anonOf(c2);
    await sh(['rm', c2]);
    const after2 = await sh(['volume', 'ls', '-q']);
    for (const a of anon2) assert.ok(after2.includes(a), `rm without -v keeps ${a}`);

    // --rm removes the anonymous volumes too.
    const since = (Date.now() / 1000).toFixed(3);
    const events = d.docker(['events', '--since', since, '--until', String(Math.floor(Date.now() / 1000) + 4), '--filter', 'type=volume', '--format', '{{.Action}}']);
    await sh(['run', '--rm', '-v', '/tmp/anon', 'busybox', 'true']);
    const now = new Set((await sh(['volume', 'ls', '-q'])).split('\n').filter(Boolean));
    const leaked = [...now].filter((v) => !volumesBefore.has(v) && v !== named && !anon2.includes(v));
    assert.deepEqual(leaked, [], 'run --rm leaves no anonymous volume behind');
    const actions = (await events).stdout.split('\n').filter(Boolean);
    assert.deepEqual(actions, ['create', 'mount', 'unmount', 'destroy']);

    // Prune without --all removes only anonymous volumes, with --all the named ones too.
    const pruned = await sh(['volume', 'prune', '-f']);
    assert.match(pruned, /^Deleted Volumes:\n/);
    for (const a of anon2) assert.ok(pruned.includes(`${a}\n`));
    assert.ok(!pruned.includes(named));
    assert.match(pruned, /Total reclaimed space: \d/);
    assert.match(await sh(['volume', 'prune', '-af']), new RegExp(`${named}\n`));
    await sh(['rmi', image]);
  });

  it('--volumes-from shares another container\'s volumes and binds, read-only on request', async () => {
    const hostDir = await mkdtemp(join(tmpdir(), 'berth-vf-'));
    try {
      const name = `shared-${uniq()}`;
      const src = `src-${uniq()}`;
      await sh(['create', '--name', src, '-v', `${name}:/shared`, '-v', '/anon', '-v', `${hostDir}:/host`, 'busybox']);
      await sh(['run', '--rm', '--volumes-from', src, 'busybox', 'sh', '-c', 'echo via-from > /shared/f; echo anon > /anon/f; echo host > /host/f']);
      assert.equal(await readFile(join(hostDir, 'f'), 'utf8'), 'host\n');
      assert.equal(await sh(['run', '--rm', '--volumes-from', src, 'busybox', 'cat', '/shared/f', '/anon/f']), 'via-from\nanon\n');
      const ro = await d.docker(['run', '--rm', '--volumes-from', `${src}:ro`, 'busybox', 'sh', '-c', 'cat /shared/f; touch /shared/g']);
      assert.equal(ro.stdout, 'via-from\n');
      assert.match(ro.stderr, /Read-only file system/);
      const reader = (await sh(['create', '--volumes-from', `${src}:ro`, 'busybox'])).trim();
      const mounts = JSON.parse(await sh(['inspect', '-f', '{{json .Mounts}}', reader])) as Array<{ Destination: string; RW: boolean; Name?: string }>;
      assert.deepEqual(mounts.map((m) => [m.Destination, m.RW]).sort(), [['/anon', false], ['/host', false], ['/shared', false]]);
      const missing = await d.docker(['run', '--rm', '--volumes-from', 'no-such-container', 'busybox', 'true']);
      assert.equal(missing.code, 125);
      assert.match(missing.stderr, /No such container: no-such-container/);
      await sh(['rm', reader]);
      await sh(['rm', '-v', src]);
      await sh(['volume', 'rm', name]);
    } finally {
      await rm(hostDir, { recursive: true, force: true });
    }
  });

  it('dockerode: create, list with filters, inspect, 409 for a volume in use, prune keeps used volumes, system df', async () => {
    const name = `dode-${uniq()}`;
    await docker.createVolume({ Name: name, Labels: { app: 'dockerode' } });
    const vol = await docker.getVolume(name).inspect();
    assert.equal(vol.Name, name);
    assert.deepEqual(vol.Labels, { app: 'dockerode' });
    const listed = await docker.listVolumes({ filters: JSON.stringify({ label: ['app=dockerode'] }) });
    assert.deepEqual(listed.Volumes.map((v) => v.Name), [name]);
    const c = await docker.createContainer({ Image: 'busybox', Cmd: ['sleep', '60'], HostConfig: { Binds: [`${name}:/data`] } });
    await c.start();
    const dangling = await docker.listVolumes({ filters: JSON.stringify({ dangling: ['true'] }) });
    assert.ok(!dangling.Volumes.some((v) => v.Name === name), 'a volume in use is not dangling');
    const inUse = await rejection(docker.getVolume(name).remove());
    assert.equal(inUse.statusCode, 409);
    assert.match(inUse.json?.message ?? '', new RegExp(`remove ${name}: volume is in use - \\[${c.id}\\]`));
    const forced = await rejection(docker.getVolume(name).remove({ force: true }));
    assert.equal(forced.statusCode, 409, 'force does not remove a volume in use, as with dockerd');
    const pruned = await docker.pruneVolumes({ filters: JSON.stringify({ all: ['true'] }) });
    assert.ok(!(pruned.VolumesDeleted ?? []).includes(name), 'prune keeps volumes in use');
    // Clients of API 1.41 and older get every unused volume pruned, named ones too; 1.42 and later only anonymous ones.
    const old = `old-api-${uniq()}`;
    await docker.createVolume({ Name: old });
    const pruned147 = (await d.request('POST', '/v1.47/volumes/prune')).json();
    assert.ok(!(pruned147.VolumesDeleted ?? []).includes(old));
    const pruned141 = (await d.request('POST', '/v1.41/volumes/prune')).json();
    assert.ok(pruned141.VolumesDeleted.includes(old));
    assert.ok(!pruned141.VolumesDeleted.includes(name));
    const df = await docker.df();
    const entry = (df.Volumes as Array<{ Name: string; UsageData: { Size: number; RefCount: number } }>).find((v) => v.Name === name)!;
    assert.equal(entry.UsageData.RefCount, 1);
    assert.ok(entry.UsageData.Size >= 0);
    const dfText = await sh(['system', 'df', '-v']);
    assert.match(dfText, new RegExp(`Local Volumes space usage:\\n\\nVOLUME NAME +LINKS +SIZE\\n(.*\\n)*${name} +1 +0B\\n`));
    await c.remove({ force: true });
    await docker.getVolume(name).remove();
    const gone = await rejection(docker.getVolume(name).inspect());
    assert.equal(gone.statusCode, 404);
    const bad = await rejection(docker.createVolume({ Name: 'no/slash' }));
    assert.equal(bad.statusCode, 400);
  });

  it('berth volume commands print as docker does', async () => {
    const name = `bv-${uniq()}`;
    const run = async (args: string[]) => {
      const r = await d.berth(args);
      assert.equal(r.code, 0, `berth ${args.join(' ')}: ${r.stderr}`);
      return r.stdout;
    };
    assert.equal(await run(['volume', 'create', '--label', 'k=v', name]), `${name}\n`);
    for (const args of [['volume', 'ls'], ['volume', 'ls', '-q'], ['volume', 'ls', '--format', '{{.Name}} {{.Driver}} {{.Labels}} {{.Scope}}'], ['volume', 'ls', '-f', 'label=k=v'], ['volume', 'inspect', name], ['volume', 'inspect', '-f', '{{.Mountpoint}} {{.Labels}}', name]]) {
      assert.equal(await run(args), await sh(args), args.join(' '));
    }
    const bothNames = await d.berth(['volume', 'create', '--name', 'a1', 'a2']);
    assert.equal(bothNames.code, 1);
    assert.match(bothNames.stderr, /conflicting options/);
    const c = (await run(['run', '-d', '-v', `${name}:/v`, 'busybox', 'sleep', '60'])).trim();
    const inUse = await d.berth(['volume', 'rm', name]);
    assert.equal(inUse.code, 1);
    assert.match(inUse.stderr, /Error response from daemon: remove .*: volume is in use/);
    const dfBerth = await run(['system', 'df']);
    const dfDocker = await sh(['system', 'df']);
    assert.equal(dfBerth, dfDocker);
    // Times ("Up 3 seconds") may tick between the two calls: compare the volume part and every header.
    const volumePart = (text: string) => text.slice(text.indexOf('Local Volumes space usage:'));
    const headers = (text: string) => text.split('\n').filter((l) => /usage|^[A-Z ]+$/.test(l)).map((l) => l.replace(/ {2,}/g, '  ')).join('\n');
    const [dfvBerth, dfvDocker] = [await run(['system', 'df', '-v']), await sh(['system', 'df', '-v'])];
    assert.equal(volumePart(dfvBerth), volumePart(dfvDocker));
    assert.equal(headers(dfvBerth), headers(dfvDocker));
    await run(['rm', '-f', c]);
    const cancelled = await d.berth(['volume', 'prune', '-a'], { input: 'n\n' });
    assert.equal(cancelled.code, 0);
    assert.equal(cancelled.stdout, 'WARNING! This will remove all local volumes not used by at least one container.\nAre you sure you want to continue? [y/N] ');
    assert.equal(await run(['volume', 'ls', '-q', '-f', `name=${name}`]), `${name}\n`, 'a "no" keeps everything');
    const pruned = await d.berth(['volume', 'prune', '-a'], { input: 'y\n' });
    assert.match(pruned.stdout, new RegExp(`Deleted Volumes:\\n(.*\\n)*${name}\\n`));
    assert.equal(await run(['volume', 'rm', '-f', 'not-there']), 'not-there\n');
  });

  it('a kill -9 of berthd during a copy-up leaves it undone, and the next start redoes it', async () => {
    const image = `big-${uniq()}`;
    const files = 10_000;
    const entries = [{ name: 'big/', type: 'directory' as const, mode: 0o755 }];
    for (let i = 0; i < 100; i++) entries.push({ name: `big/d${i}/`, type: 'directory' as const, mode: 0o755 });
    const fileEntries = [];
    for (let i = 0; i < files; i++) fileEntries.push({ name: `big/d${i % 100}/f${i}`, content: `${i}\n` });
    await importImage(d, image, [...entries, ...fileEntries], ['VOLUME /big']);
    const c = (await sh(['create', image, 'sh', '-c', 'find /big -type f | wc -l'])).trim();
    const [m] = JSON.parse(await sh(['inspect', '-f', '{{json .Mounts}}', c])) as Array<{ Name: string; Source: string }>;
    const staging = join(d.dataRoot, 'volumes', m!.Name, '_copyup');
    const starting = d.request('POST', `/containers/${c}/start`).catch(() => undefined);
    const deadline = Date.now() + 30_000;
    while (!existsSync(staging)) {
      if (Date.now() > deadline) assert.fail('the copy-up never began');
      await new Promise((r) => setTimeout(r, 2));
    }
    await d.kill9();
    await starting;
    assert.deepEqual(readdirSync(m!.Source), [], 'nothing of a half-done copy-up is visible in the volume');
    await d.launch();
    assert.ok(!existsSync(staging), 'startup removed the half-done copy');
    assert.equal(readdirSync(m!.Source).length, 0);
    const count = await sh(['start', '-a', c]);
    assert.equal(count.trim(), String(files), 'the copy-up was redone in full');
    await sh(['rm', '-v', c]);
    await sh(['rmi', image]);
  });

  it('docker-compose 1.29 declares, uses and removes a named volume', async () => {
    // scripts/setup.sh installs Debian's docker-compose; network_mode none until berth has networks.
    const compose = '/usr/bin/docker-compose';
    const dir = await mkdtemp(join(tmpdir(), 'berth-compose-'));
    const project = `vol${uniq()}`;
    try {
      await writeFile(join(dir, 'docker-compose.yml'), [
        'version: "3"',
        'services:',
        '  app:',
        '    image: busybox',
        '    network_mode: none',
        '    command: sh -c "echo from-compose > /data/f"',
        '    volumes:',
        '      - appdata:/data',
        'volumes:',
        '  appdata: {}',
        '',
      ].join('\n'));
      const env = { DOCKER_HOST: d.host, COMPOSE_PROJECT_NAME: project };
      const { runCommand } = await import('../helpers/daemon.js');
      const up = await runCommand(compose, ['-f', join(dir, 'docker-compose.yml'), 'up', '--no-color'], { env });
      assert.equal(up.code, 0, up.stderr);
      assert.equal(await sh(['run', '--rm', '-v', `${project}_appdata:/data`, 'busybox', 'cat', '/data/f']), 'from-compose\n');
      const [v] = JSON.parse(await sh(['volume', 'inspect', `${project}_appdata`]));
      assert.equal(v.Labels['com.docker.compose.project'], project);
      const down = await runCommand(compose, ['-f', join(dir, 'docker-compose.yml'), 'down', '-v'], { env });
      assert.equal(down.code, 0, down.stderr);
      assert.equal(await sh(['volume', 'ls', '-q', '-f', `name=${project}`]), '');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
