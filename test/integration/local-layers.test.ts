import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { TestDaemon, busyboxTar, runCommand } from '../helpers/daemon.js';
import { sha256, startReferenceRegistry, type TestRegistry } from '../helpers/registry.js';
import { hostPlatform } from '../../src/image/platform.js';

// Images whose layers were made here (the classic builder, import) are pushed
// to the reference registry and pulled into a second daemon, saved and loaded
// into another daemon, and run there.

describe('locally made layers: push, pull, save, load', () => {
  let a: TestDaemon;
  let b: TestDaemon;
  let reg: TestRegistry;
  let ctx: string;
  const tag = randomBytes(4).toString('hex');
  before(async () => {
    [a, b, reg] = await Promise.all([TestDaemon.start(), TestDaemon.start(), startReferenceRegistry()]);
    await a.loadBusybox();
    ctx = await mkdtemp(join(tmpdir(), 'berth-ctx-'));
    await writeFile(join(ctx, 'Dockerfile'), `FROM busybox\nRUN echo built-${tag} > /marker && mkdir -p /data && echo x > /data/x\nCOPY file.txt /file.txt\nCMD ["cat", "/marker", "/file.txt"]\n`);
    await writeFile(join(ctx, 'file.txt'), `copied-${tag}\n`);
  });
  after(async () => {
    await a?.stop();
    await b?.stop();
    await reg?.stop();
    if (ctx) await rm(ctx, { recursive: true, force: true });
  });

  it('a built image (RUN and COPY layers) is pushed with docker push, pulled into another daemon and run', async () => {
    const name = `${reg.host}/built/app:${tag}`;
    const build = await a.docker(['build', '-t', name, ctx], { env: { DOCKER_BUILDKIT: '0' } });
    assert.equal(build.code, 0, build.stderr + build.stdout);
    const push = await a.docker(['push', name]);
    assert.equal(push.code, 0, push.stderr + push.stdout);
    assert.match(push.stdout, /: digest: sha256:[0-9a-f]{64} size: \d+/);
    const pull = await b.docker(['pull', name]);
    assert.equal(pull.code, 0, pull.stderr + pull.stdout);
    const run = await b.docker(['run', '--rm', name]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, `built-${tag}\ncopied-${tag}\n`);
    const ia = (await a.request('GET', `/images/${encodeURIComponent(name)}/json`)).json<{ Id: string }>();
    const ib = (await b.request('GET', `/images/${encodeURIComponent(name)}/json`)).json<{ Id: string }>();
    assert.equal(ib.Id, ia.Id, 'the same config, so the same image ID');
    // The push and pull events dockerd sends.
    const events = async (dd: TestDaemon, action: string) => {
      const f = encodeURIComponent(JSON.stringify({ type: ['image'], event: [action] }));
      const r = await dd.request('GET', `/events?since=1&until=${Math.floor(Date.now() / 1000) + 1}&filters=${f}`);
      return r.body.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as { id: string; Actor: { Attributes: Record<string, string> } });
    };
    assert.ok((await events(a, "push")).some((e) => e.Actor.Attributes.name === name), "push event");
    assert.ok((await events(b, 'pull')).some((e) => e.Actor.Attributes.name === name), 'pull event');
  });

  it('docker save of a built image, docker load into another daemon, run there', async () => {
    const name = `saved/app:${tag}`;
    const build = await a.docker(['build', '-t', name, ctx], { env: { DOCKER_BUILDKIT: '0' } });
    assert.equal(build.code, 0, build.stderr + build.stdout);
    const out = join(ctx, 'saved.tar');
    const save = await a.docker(['save', '-o', out, name]);
    assert.equal(save.code, 0, save.stderr);
    const load = await b.docker(['load', '-i', out]);
    assert.equal(load.code, 0, load.stderr);
    assert.match(load.stdout, new RegExp(`Loaded image: saved/app:${tag}`));
    const run = await b.docker(['run', '--rm', name]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, `built-${tag}\ncopied-${tag}\n`);
  });

  it('an imported image is pushed and pulled, saved and loaded, and runs in the other daemon', async () => {
    const imported = `imported/bb:${tag}`;
    await a.loadBusybox(imported);
    const name = `${reg.host}/imported/bb:${tag}`;
    assert.equal((await a.docker(['tag', imported, name])).code, 0);
    const push = await a.docker(['push', name]);
    assert.equal(push.code, 0, push.stderr + push.stdout);
    const pull = await b.docker(['pull', name]);
    assert.equal(pull.code, 0, pull.stderr + pull.stdout);
    const run = await b.docker(['run', '--rm', name, 'echo', 'pulled-ok']);
    assert.equal(run.stdout, 'pulled-ok\n', run.stderr);
    const out = join(ctx, 'imported.tar');
    assert.equal((await a.docker(['save', '-o', out, imported])).code, 0);
    const load = await b.docker(['load', '-i', out]);
    assert.equal(load.code, 0, load.stderr);
    const run2 = await b.docker(['run', '--rm', imported, 'echo', 'loaded-ok']);
    assert.equal(run2.stdout, 'loaded-ok\n', run2.stderr);
  });

  it('FROM an image that is not here pulls it from the registry; --pull fetches a tag that moved', async () => {
    const base = `${reg.host}/base/bb:${tag}`;
    assert.equal((await a.docker(['tag', 'busybox', base])).code, 0);
    assert.equal((await a.docker(['push', base])).code, 0);
    const c = await mkdtemp(join(tmpdir(), 'berth-ctx-'));
    try {
      await writeFile(join(c, 'Dockerfile'), `FROM ${base}\nRUN cat /v 2>/dev/null || echo none > /v\nCMD ["cat", "/v"]\n`);
      // b has no such image: the build pulls it.
      const build = await b.docker(['build', '-t', `from-pull:${tag}`, c], { env: { DOCKER_BUILDKIT: '0' } });
      assert.equal(build.code, 0, build.stderr + build.stdout);
      assert.match(build.stdout + build.stderr, /Status: Downloaded newer image for /);
      const run = await b.docker(['run', '--rm', `from-pull:${tag}`]);
      assert.equal(run.stdout, 'none\n', run.stderr);
      // The tag moves in the registry (a layer adding /v); without --pull the build keeps the local base.
      const c2 = await mkdtemp(join(tmpdir(), 'berth-ctx-'));
      try {
        await writeFile(join(c2, 'Dockerfile'), `FROM busybox\nRUN echo v2 > /v\n`);
        assert.equal((await a.docker(['build', '-t', base, c2], { env: { DOCKER_BUILDKIT: '0' } })).code, 0);
      } finally {
        await rm(c2, { recursive: true, force: true });
      }
      assert.equal((await a.docker(['push', base])).code, 0);
      await writeFile(join(c, 'Dockerfile'), `FROM ${base}\nCMD ["cat", "/v"]\n`);
      const stale = await b.docker(['build', '-t', `from-pull:${tag}-b`, c], { env: { DOCKER_BUILDKIT: '0' } });
      assert.equal(stale.code, 0, stale.stderr);
      assert.equal((await b.docker(['run', '--rm', `from-pull:${tag}-b`])).code, 1, 'the old base has no /v');
      const fresh = await b.docker(['build', '--pull', '-t', `from-pull:${tag}-c`, c], { env: { DOCKER_BUILDKIT: '0' } });
      assert.equal(fresh.code, 0, fresh.stderr + fresh.stdout);
      const run2 = await b.docker(['run', '--rm', `from-pull:${tag}-c`]);
      assert.equal(run2.stdout, 'v2\n', run2.stderr);
    } finally {
      await rm(c, { recursive: true, force: true });
    }
  });
});

describe('image prune', () => {
  let d: TestDaemon;
  let ctx: string;
  const tag = randomBytes(4).toString('hex');
  const build = async (name: string, dockerfile: string) => {
    await writeFile(join(ctx, 'Dockerfile'), dockerfile);
    const r = await d.docker(['build', '-q', '-t', name, ctx], { env: { DOCKER_BUILDKIT: '0' } });
    assert.equal(r.code, 0, r.stderr);
    return r.stdout.trim();
  };
  const ids = async () => (await d.request('GET', '/images/json?all=1')).json<Array<{ Id: string }>>().map((i) => i.Id);
  before(async () => {
    d = await TestDaemon.start();
    await d.loadBusybox();
    ctx = await mkdtemp(join(tmpdir(), 'berth-ctx-'));
  });
  after(async () => {
    await d?.stop();
    if (ctx) await rm(ctx, { recursive: true, force: true });
  });

  it('docker image prune removes dangling images only; the prompt, the output and the prune event as docker gives them', async () => {
    const since = Math.floor(Date.now() / 1000) - 1;
    const old = await build(`app:${tag}`, `FROM busybox\nRUN dd if=/dev/zero of=/blob bs=1024 count=300 2>/dev/null\n`);
    const kept = await build(`app:${tag}`, `FROM busybox\nRUN echo new > /new\n`);
    assert.notEqual(old, kept);
    assert.ok((await ids()).includes(old), 'the retagged image is left dangling');
    // Answering no keeps everything.
    const no = await d.berth(['image', 'prune'], { input: 'n\n' });
    assert.equal(no.code, 0, no.stderr);
    assert.match(no.stdout, /WARNING! This will remove all dangling images\.\nAre you sure you want to continue\? \[y\/N\] /);
    assert.ok((await ids()).includes(old));
    const r = await d.docker(['image', 'prune', '-f']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^Deleted Images:\\ndeleted: ${old}\\n(deleted: sha256:[0-9a-f]{64}\\n)*\\nTotal reclaimed space: 30\\d(\\.\\d+)?kB\\n$`));
    const left = await ids();
    assert.ok(!left.includes(old));
    assert.ok(left.includes(kept));
    const again = await d.berth(['image', 'prune', '-f']);
    assert.equal(again.stdout, 'Total reclaimed space: 0B\n');
    const ev = await d.request('GET', `/events?since=${since}&until=${Math.floor(Date.now() / 1000) + 1}&filters=${encodeURIComponent(JSON.stringify({ type: ['image'], event: ['prune'] }))}`);
    const prunes = ev.body.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as { Action: string; Actor: { Attributes: Record<string, string> } });
    assert.equal(prunes.length, 2, ev.body);
    assert.ok(Number(prunes[0]!.Actor.Attributes.reclaimed) > 300_000);
    assert.equal(prunes[1]!.Actor.Attributes.reclaimed, '0');
  });

  it('berth image prune -a removes unused images that the filters select, keeps those a container uses; bad filters are refused', async () => {
    const labelled = await build(`lab:${tag}`, `FROM busybox\nLABEL prune=yes\nRUN echo a > /a\n`);
    const other = await build(`other:${tag}`, `FROM busybox\nLABEL prune=no\nRUN echo b > /b\n`);
    const used = await build(`used:${tag}`, `FROM busybox\nLABEL prune=yes\nRUN echo c > /c\n`);
    assert.equal((await d.docker(['create', '--name', `user-${tag}`, `used:${tag}`])).code, 0);
    const r = await d.berth(['image', 'prune', '-a', '-f', '--filter', 'label=prune=yes']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`untagged: lab:${tag}\\ndeleted: ${labelled}\\n`));
    const left = await ids();
    assert.ok(!left.includes(labelled));
    assert.ok(left.includes(other) && left.includes(used));
    // label! and until: nothing older than an hour, so nothing goes.
    const r2 = await d.docker(['image', 'prune', '-a', '-f', '--filter', 'label!=prune=yes', '--filter', 'until=1h']);
    assert.equal(r2.stdout, 'Total reclaimed space: 0B\n', r2.stderr);
    assert.ok((await ids()).includes(other));
    const r3 = await d.docker(['image', 'prune', '-a', '-f', '--filter', 'label!=prune=yes']);
    assert.match(r3.stdout, new RegExp(`untagged: other:${tag}`));
    assert.ok((await ids()).includes(used), 'an image a container uses stays');
    const bad = await d.request('POST', `/images/prune?filters=${encodeURIComponent(JSON.stringify({ colour: ['red'] }))}`);
    assert.equal(bad.status, 400);
    assert.match(bad.json<{ message: string }>().message, /invalid filter 'colour'/);
    const badUntil = await d.docker(['image', 'prune', '-f', '--filter', 'until=yesterday-ish']);
    assert.notEqual(badUntil.code, 0);
    assert.match(badUntil.stderr, /failed to parse value as time or duration/);
  });
});

describe('--platform of push, save and load', () => {
  let d: TestDaemon;
  let reg: TestRegistry;
  let dir: string;
  const host = hostPlatform();
  const other = host.architecture === 'arm64' ? 'amd64' : 'arm64';
  before(async () => {
    [d, reg] = await Promise.all([TestDaemon.start(), startReferenceRegistry()]);
    await d.loadBusybox();
    dir = await mkdtemp(join(tmpdir(), 'berth-plat-'));
  });
  after(async () => {
    await d?.stop();
    await reg?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('save and push accept the image\'s own platform and refuse another in dockerd\'s words', async () => {
    const ok = await d.berth(['save', '--platform', `linux/${host.architecture}`, '-o', join(dir, 'ok.tar'), 'busybox']);
    assert.equal(ok.code, 0, ok.stderr);
    const bad = await d.berth(['save', '--platform', `linux/${other}`, '-o', join(dir, 'bad.tar'), 'busybox']);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, new RegExp(`image with reference busybox was found but does not match the specified platform: wanted linux/${other}, actual: linux/${host.architecture}`));
    const api = await d.request('GET', `/images/get?names=busybox&platform=${encodeURIComponent(JSON.stringify({ os: 'linux', architecture: other }))}`);
    assert.equal(api.status, 404);
    const name = `${reg.host}/plat/bb:1`;
    assert.equal((await d.docker(['tag', 'busybox', name])).code, 0);
    const refused = await d.berth(['push', '--platform', `linux/${other}`, name]);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /does not match the specified platform/);
    const pushed = await d.berth(['push', '--platform', `linux/${host.architecture}`, name]);
    assert.equal(pushed.code, 0, pushed.stderr);
  });

  it('load --platform takes that platform from a multi-platform OCI layout', async () => {
    const layer = await readFile(await busyboxTar());
    const diffId = sha256(layer);
    const files: Array<{ name: string; content: Buffer }> = [{ name: `blobs/sha256/${diffId.slice(7)}`, content: layer }];
    const manifests = [];
    for (const arch of [host.architecture, other]) {
      const config = Buffer.from(JSON.stringify({ architecture: arch, os: 'linux', config: { Cmd: ['sh'], Labels: { arch } }, rootfs: { type: 'layers', diff_ids: [diffId] } }));
      const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length }, layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: diffId, size: layer.length }] }));
      files.push({ name: `blobs/sha256/${sha256(config).slice(7)}`, content: config }, { name: `blobs/sha256/${sha256(manifest).slice(7)}`, content: manifest });
      manifests.push({ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: sha256(manifest), size: manifest.length, platform: { os: 'linux', architecture: arch }, annotations: { 'io.containerd.image.name': `docker.io/library/multi:${arch}` } });
    }
    files.push({ name: 'oci-layout', content: Buffer.from('{"imageLayoutVersion":"1.0.0"}') }, { name: 'index.json', content: Buffer.from(JSON.stringify({ schemaVersion: 2, manifests })) });
    const layout = join(dir, 'layout');
    await mkdir(join(layout, 'blobs', 'sha256'), { recursive: true });
    for (const f of files) await writeFile(join(layout, f.name), f.content);
    assert.equal((await runCommand('tar', ['-cf', join(dir, 'multi.tar'), '-C', layout, '.'])).code, 0);
    const r = await d.berth(['load', '--platform', `linux/${other}`, '-i', join(dir, 'multi.tar')]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`Loaded image: multi:${other}`));
    assert.doesNotMatch(r.stdout, new RegExp(`multi:${host.architecture}`));
    const img = (await d.request('GET', `/images/multi:${other}/json`)).json<{ Architecture: string }>();
    assert.equal(img.Architecture, other);
    assert.equal((await d.request('GET', `/images/multi:${host.architecture}/json`)).status, 404);
    const none = await d.berth(['load', '--platform', 'linux/s390x', '-i', join(dir, 'multi.tar')]);
    assert.notEqual(none.code, 0);
    assert.match(none.stderr, /no image of platform linux\/s390x in the archive/);
  });
});
