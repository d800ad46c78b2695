import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { TestDaemon } from '../helpers/daemon.js';
import { startReferenceRegistry, type TestRegistry } from '../helpers/registry.js';

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
