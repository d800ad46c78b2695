import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm, writeFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { request as httpRequest } from 'node:http';
import { pushPlatformImage } from '../helpers/multi-arch.js';
import { TestDaemon, runCommand } from '../helpers/daemon.js';
import { makeTar } from '../../src/archive/testing/make-tar.js';
import { putBlob, putManifest, sha256, startBerthRegistry, startReferenceRegistry, startTokenProxy, type TestRegistry, type TokenProxy } from '../helpers/registry.js';
import { hostPlatform } from '../../src/image/platform.js';

// Pull, push, login, save and load through berthd, with the real docker CLI
// and the berth CLI, against the reference registry (anonymous, htpasswd,
// and behind a Bearer token server of the test's own) and berth's own
// registry server with skopeo.

interface Msg { status?: string; id?: string; error?: string; stream?: string; progressDetail?: { current?: number; total?: number } }

function messages(body: string): Msg[] {
  return body.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Msg);
}

/** Images as berthd lists them. */
async function imageList(d: TestDaemon): Promise<Array<{ Id: string; RepoTags: string[]; RepoDigests: string[] }>> {
  return (await d.request('GET', '/images/json?all=1')).json();
}

async function snapshotCount(d: TestDaemon): Promise<number> {
  return (await readdir(join(d.dataRoot, 'snapshots'))).filter((n) => /^[0-9]+$/.test(n)).length;
}

/** A hand-made two-layer image for `arch` (busybox, then /etc/arch holding `marker`). */
function handMadeImage(reg: string, repo: string, arch: string, marker: string) {
  return pushPlatformImage(reg, repo, `linux/${arch}`, marker);
}

/** A one-layer image with a big incompressible layer, so a pull is still running a moment after it starts. */
async function pushBigImage(host: string, repo: string): Promise<void> {
  const { randomBytes } = await import('node:crypto');
  const tar = await makeTar([{ name: 'big.bin', content: randomBytes(24 << 20).toString('latin1') }]);
  const gz = gzipSync(tar, { level: 1 });
  const layerDigest = await putBlob(host, repo, gz);
  const config = Buffer.from(JSON.stringify({ architecture: hostPlatform().architecture, os: 'linux', rootfs: { type: 'layers', diff_ids: [sha256(tar)] } }));
  const configDigest = await putBlob(host, repo, config);
  const mt = 'application/vnd.docker.distribution.manifest.v2+json';
  const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: mt, config: { mediaType: 'application/vnd.docker.container.image.v1+json', digest: configDigest, size: config.length }, layers: [{ mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', digest: layerDigest, size: gz.length }] }));
  await putManifest(host, repo, '1', mt, manifest);
}

/** Starts a pull over raw HTTP and resolves at its first download progress (the pull still running). */
function pullUntilDownloading(d: TestDaemon, image: string, tag: string): Promise<() => void> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ socketPath: d.socket, method: 'POST', path: `/images/create?fromImage=${encodeURIComponent(image)}&tag=${tag}` }, (res) => {
      res.on('data', (c: Buffer) => {
        if (c.toString().includes('Downloading')) resolve(() => req.destroy());
      });
      res.on('end', () => reject(new Error('the pull finished before it could be cut off')));
      res.on('error', () => {});
    });
    req.on('error', () => {});
    req.end();
  });
}

describe('registry client against the reference registry', () => {
  let d: TestDaemon;
  let reg: TestRegistry;
  let busyboxId: string;
  before(async () => {
    [d, reg] = await Promise.all([TestDaemon.start(), startReferenceRegistry()]);
    busyboxId = await d.loadBusybox();
  });
  after(async () => {
    await d?.stop();
    await reg?.stop();
  });

  it('docker push, then pull and run after rmi; RepoDigests recorded; a second pull is up to date', async () => {
    const name = `${reg.host}/test/busybox:v1`;
    assert.equal((await d.docker(['tag', 'busybox', name])).code, 0);
    const push = await d.docker(['push', name]);
    assert.equal(push.code, 0, push.stderr);
    assert.match(push.stdout, /The push refers to repository \[127\.0\.0\.1:\d+\/test\/busybox\]/);
    assert.match(push.stdout, /: Pushed\n/);
    const digest = /v1: digest: (sha256:[a-f0-9]{64}) size: \d+/.exec(push.stdout)?.[1];
    assert.ok(digest, push.stdout);
    assert.equal((await d.docker(['rmi', name])).code, 0);
    const pull = await d.docker(['pull', name]);
    assert.equal(pull.code, 0, pull.stderr);
    assert.match(pull.stdout, /v1: Pulling from test\/busybox\n/);
    // busybox:latest still holds the same layer.
    assert.match(pull.stdout, /[0-9a-f]{12}: Already exists\n/);
    assert.match(pull.stdout, new RegExp(`Digest: ${digest}\\n`));
    assert.match(pull.stdout, new RegExp(`Status: Downloaded newer image for ${name.replace(/\./g, '\\.')}\\n`));
    const inspect = await d.docker(['image', 'inspect', '--format', '{{.Id}} {{json .RepoDigests}}', name]);
    assert.equal(inspect.stdout.trim(), `${busyboxId} ["${reg.host}/test/busybox@${digest}"]`, 'same image ID, digest recorded');
    const again = await d.docker(['pull', name]);
    assert.match(again.stdout, /Already exists|Status: Image is up to date/);
    assert.match(again.stdout, /Status: Image is up to date for /);
    const byDigest = await d.docker(['pull', `${reg.host}/test/busybox@${digest}`]);
    assert.equal(byDigest.code, 0, byDigest.stderr);
    const run = await d.docker(['run', '--rm', name, 'echo', 'pulled and ran']);
    assert.equal(run.stdout, 'pulled and ran\n', run.stderr);
  });

  it('docker run of a missing image pulls it first, as Docker does', async () => {
    const name = `${reg.host}/test/autopull:latest`;
    await d.docker(['tag', 'busybox', name]);
    assert.equal((await d.docker(['push', name])).code, 0);
    await d.docker(['rmi', name]);
    const r = await d.docker(['run', '--rm', name, 'echo', 'auto']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, new RegExp(`Unable to find image '${name.replace(/\./g, '\\.')}' locally`));
    assert.equal(r.stdout, 'auto\n');
  });

  it('an unknown tag or repository is a 404 in Docker\'s words', async () => {
    const tag = await d.docker(['pull', `${reg.host}/test/busybox:nope`]);
    assert.equal(tag.code, 1);
    assert.match(tag.stderr, /Error response from daemon: manifest for 127\.0\.0\.1:\d+\/test\/busybox:nope not found: manifest unknown/);
    const api = await d.request('POST', `/images/create?fromImage=${encodeURIComponent(`${reg.host}/no/such`)}&tag=latest`);
    assert.equal(api.status, 404);
  });

  it('pushing under another repository mounts the layers from the first', async () => {
    const a = `${reg.host}/mount/src:1`;
    const b = `${reg.host}/mount/dst:1`;
    await d.docker(['tag', 'busybox', a]);
    assert.equal((await d.docker(['push', a])).code, 0);
    // Pulled from /mount/src, so the daemon knows the blob lives there.
    await d.docker(['rmi', a]);
    assert.equal((await d.docker(['pull', a])).code, 0);
    await d.docker(['tag', a, b]);
    const push = await d.docker(['push', b]);
    assert.equal(push.code, 0, push.stderr);
    assert.match(push.stdout, /Mounted from mount\/src/);
  });

  it('--all-tags pulls every tag of a repository', async () => {
    for (const t of ['t1', 't2']) {
      await d.docker(['tag', 'busybox', `${reg.host}/alltags/img:${t}`]);
      assert.equal((await d.docker(['push', `${reg.host}/alltags/img:${t}`])).code, 0);
      await d.docker(['rmi', `${reg.host}/alltags/img:${t}`]);
    }
    const r = await d.berth(['pull', '--all-tags', `${reg.host}/alltags/img`]);
    assert.equal(r.code, 0, r.stderr);
    const tags = (await imageList(d)).flatMap((i) => i.RepoTags).filter((t) => t.includes('/alltags/img:')).sort();
    assert.deepEqual(tags, [`${reg.host}/alltags/img:t1`, `${reg.host}/alltags/img:t2`]);
  });

  it('a multi-arch index: the host\'s platform by default, --platform picks the other', async () => {
    const host = hostPlatform();
    const other = host.architecture === 'arm64' ? 'amd64' : 'arm64';
    const mine = await handMadeImage(reg.host, 'multi/arch', host.architecture, `arch=${host.architecture}`);
    const theirs = await handMadeImage(reg.host, 'multi/arch', other, `arch=${other}`);
    const index = Buffer.from(JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [
        { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: theirs.manifestDigest, size: theirs.manifest.length, platform: { os: 'linux', architecture: other } },
        { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: mine.manifestDigest, size: mine.manifest.length, platform: { os: 'linux', architecture: host.architecture, ...(host.variant ? { variant: host.variant } : {}) } },
      ],
    }));
    const indexDigest = await putManifest(reg.host, 'multi/arch', 'latest', 'application/vnd.oci.image.index.v1+json', index);
    const name = `${reg.host}/multi/arch:latest`;
    const pull = await d.docker(['pull', name]);
    assert.equal(pull.code, 0, pull.stderr);
    assert.match(pull.stdout, new RegExp(`Digest: ${indexDigest}`));
    assert.match(pull.stdout, /[0-9a-f]{12}: Already exists\n/, 'the busybox layer is there already');
    assert.match(pull.stdout, /[0-9a-f]{12}: Download complete\n/);
    assert.match(pull.stdout, /[0-9a-f]{12}: Pull complete\n/);
    const id = (await d.docker(['image', 'inspect', '--format', '{{.Id}} {{.Architecture}}', name])).stdout.trim();
    assert.equal(id, `${mine.configDigest} ${host.architecture}`);
    const run = await d.docker(['run', '--rm', name]);
    assert.equal(run.stdout, `arch=${host.architecture}\n`, run.stderr);
    const plat = await d.docker(['pull', '--platform', `linux/${other}`, name]);
    assert.equal(plat.code, 0, plat.stderr);
    const id2 = (await d.docker(['image', 'inspect', '--format', '{{.Id}} {{.Architecture}}', name])).stdout.trim();
    assert.equal(id2, `${theirs.configDigest} ${other}`);
    // Pushed elsewhere on the same registry: every layer is mounted, even the
    // busybox one this daemon had before (from another blob) and never pulled.
    await d.docker(['tag', name, `${reg.host}/multi/copy:1`]);
    const copy = await d.docker(['push', `${reg.host}/multi/copy:1`]);
    assert.equal(copy.code, 0, copy.stderr);
    assert.equal((copy.stdout.match(/Mounted from multi\/arch/g) ?? []).length, 2, copy.stdout);
    assert.ok(!/: Pushed\n/.test(copy.stdout), copy.stdout);
    const none = await d.docker(['pull', '--platform', 'linux/s390x', name]);
    assert.notEqual(none.code, 0);
    assert.match(none.stderr, /no matching manifest for linux\/s390x in the manifest list entries/);
    const dist = await d.request('GET', `/distribution/${name}/json`);
    assert.equal(dist.status, 200, dist.body);
    const info = dist.json<{ Descriptor: { digest: string; mediaType: string }; Platforms: Array<{ architecture: string }> }>();
    assert.equal(info.Descriptor.digest, indexDigest);
    assert.deepEqual(info.Platforms.map((p) => p.architecture).sort(), [host.architecture, other].sort());
  });

  it('a tampered blob is refused and leaves no image, layer or snapshot behind; a good pull then works', async () => {
    const name = `${reg.host}/tamper/img:1`;
    const mine = await handMadeImage(reg.host, 'tamper/img', hostPlatform().architecture, 'original');
    await putManifest(reg.host, 'tamper/img', '1', 'application/vnd.oci.image.manifest.v1+json', mine.manifest);
    const layerDigest = mine.layerDigest;
    const hex = layerDigest.slice(7);
    const blobFile = join(reg.dir, 'data', 'docker/registry/v2/blobs/sha256', hex.slice(0, 2), hex, 'data');
    const good = await readFile(blobFile);
    const evil = gzipSync(await makeTar([{ name: 'etc/', type: 'directory' }, { name: 'etc/arch', content: 'tampered\n' }]));
    await writeFile(blobFile, evil);
    const before = { snaps: await snapshotCount(d), images: (await imageList(d)).length };
    const r = await d.request('POST', `/images/create?fromImage=${encodeURIComponent(`${reg.host}/tamper/img`)}&tag=1`);
    assert.equal(r.status, 200);
    const last = messages(r.body).pop()!;
    assert.match(last.error ?? '', new RegExp(`filesystem layer verification failed for digest ${layerDigest}`));
    assert.equal((await d.request('GET', `/images/${name}/json`)).status, 404);
    assert.equal(await snapshotCount(d), before.snaps, 'no snapshot left');
    assert.equal((await imageList(d)).length, before.images);
    assert.deepEqual((await readdir(join(d.dataRoot, 'image', 'ingest'))), [], 'no ingest left');
    await writeFile(blobFile, good);
    const ok = await d.docker(['pull', name]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal((await d.docker(['run', '--rm', name])).stdout, 'original\n');
  });

  it('a pull the client hangs up on leaves no half-image, and the next pull succeeds', async () => {
    const name = `${reg.host}/cut/big:1`;
    await pushBigImage(reg.host, 'cut/big');
    const before = await snapshotCount(d);
    const hangUp = await pullUntilDownloading(d, `${reg.host}/cut/big`, '1');
    hangUp();
    // The daemon notices the hang-up and removes what it made.
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline && (await snapshotCount(d)) !== before) await new Promise((r) => setTimeout(r, 100));
    assert.equal(await snapshotCount(d), before, 'the unpacked snapshot was removed');
    assert.equal((await d.request('GET', `/images/${name}/json`)).status, 404);
    const ok = await d.docker(['pull', name]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal((await d.request('GET', `/images/${name}/json`)).status, 200);
  });

  it('a layer that tries to write outside its directory is refused, and nothing lands outside', async () => {
    const outside = `berth-pull-escape-${process.pid}-${Date.now()}`;
    for (const [i, entries] of [
      [{ name: 'link', type: 'symlink', linkname: '/tmp' }, { name: `link/${outside}`, content: 'pwned' }],
      [{ name: `../../../../../../tmp/${outside}`, content: 'pwned' }],
    ].entries()) {
      const tar = await makeTar(entries as Parameters<typeof makeTar>[0]);
      const gz = gzipSync(tar);
      const repo = `evil/layer${i}`;
      const layerDigest = await putBlob(reg.host, repo, gz);
      const config = Buffer.from(JSON.stringify({ architecture: hostPlatform().architecture, os: 'linux', rootfs: { type: 'layers', diff_ids: [sha256(tar)] } }));
      const configDigest = await putBlob(reg.host, repo, config);
      const mt = 'application/vnd.oci.image.manifest.v1+json';
      await putManifest(reg.host, repo, 'latest', mt, Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: mt, config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: config.length }, layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: layerDigest, size: gz.length }] })));
      const before = await snapshotCount(d);
      const r = await d.docker(['pull', `${reg.host}/${repo}`]);
      assert.equal(r.code, 1, r.stdout);
      assert.match(r.stderr, /refusing to extract the layer|outside|\.\./);
      await assert.rejects(stat(join('/tmp', outside)), 'nothing written outside');
      assert.equal(await snapshotCount(d), before);
      assert.equal((await d.request('GET', `/images/${reg.host}/${repo}/json`)).status, 404);
    }
  });

  it('a kill -9 of berthd during a pull leaves a consistent store: after restart no half-image, and the pull succeeds', async () => {
    const name = `${reg.host}/kill/big:1`;
    await pushBigImage(reg.host, 'kill/big');
    const before = await snapshotCount(d);
    await pullUntilDownloading(d, `${reg.host}/kill/big`, '1');
    await d.kill9();
    await d.launch();
    assert.equal((await d.request('GET', `/images/${name}/json`)).status, 404);
    assert.equal(await snapshotCount(d), before, 'startup removed the half-unpacked snapshot');
    assert.deepEqual(await readdir(join(d.dataRoot, 'image', 'ingest')), [], 'and the half-received blob');
    const ok = await d.docker(['pull', name]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal((await d.request('GET', `/images/${name}/json`)).status, 200);
  });
});

describe('auth: htpasswd and a Bearer token server', () => {
  let d: TestDaemon;
  let basicReg: TestRegistry;
  let backing: TestRegistry;
  let tokens: TokenProxy;
  before(async () => {
    [d, basicReg, backing] = await Promise.all([TestDaemon.start(), startReferenceRegistry({ users: { alice: 's3cret' } }), startReferenceRegistry()]);
    tokens = await startTokenProxy(backing.host, { bob: 'hunter2' });
    await d.loadBusybox();
  });
  after(async () => {
    await d?.stop();
    await tokens?.stop();
    await basicReg?.stop();
    await backing?.stop();
  });

  it('docker login with Basic auth: a wrong password fails in Docker\'s words, the right one logs in; push and pull need it', async () => {
    const bad = await d.docker(['login', '-u', 'alice', '--password-stdin', basicReg.host], { input: 'wrong\n' });
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, new RegExp(`Error response from daemon: login attempt to http://${basicReg.host.replace(/\./g, '\\.')}/v2/ failed with status: 401 Unauthorized`));
    const name = `${basicReg.host}/priv/busybox:1`;
    await d.docker(['tag', 'busybox', name]);
    const denied = await d.docker(['push', name]);
    assert.notEqual(denied.code, 0, 'no credentials: refused');
    const good = await d.docker(['login', '-u', 'alice', '--password-stdin', basicReg.host], { input: 's3cret\n' });
    assert.equal(good.code, 0, good.stderr);
    assert.match(good.stdout, /Login Succeeded/);
    const push = await d.docker(['push', name]);
    assert.equal(push.code, 0, push.stderr);
    await d.docker(['rmi', name]);
    const pull = await d.docker(['pull', name]);
    assert.equal(pull.code, 0, pull.stderr);
  });

  it('berth login stores credentials where docker reads them, and berth pull/push use them', async () => {
    const cfg = await mkdtemp(join(tmpdir(), 'berth-cfg-'));
    try {
      const env = { DOCKER_CONFIG: cfg };
      const bad = await d.berth(['login', '-u', 'alice', '-p', 'nope', basicReg.host], { env });
      assert.equal(bad.code, 1);
      assert.match(bad.stderr, /failed with status: 401 Unauthorized/);
      const ok = await d.berth(['login', '-u', 'alice', '--password-stdin', basicReg.host], { env, input: 's3cret\n' });
      assert.equal(ok.code, 0, ok.stderr);
      assert.match(ok.stdout, /Login Succeeded/);
      const stored = JSON.parse(await readFile(join(cfg, 'config.json'), 'utf8')) as { auths: Record<string, { auth: string }> };
      assert.equal(Buffer.from(stored.auths[basicReg.host]!.auth, 'base64').toString(), 'alice:s3cret');
      const name = `${basicReg.host}/berthcli/busybox:2`;
      await d.berth(['tag', 'busybox', name]);
      const push = await d.berth(['push', name], { env });
      assert.equal(push.code, 0, push.stderr);
      assert.match(push.stdout, /2: digest: sha256:[a-f0-9]{64} size: \d+/);
      await d.berth(['rmi', name]);
      const pull = await d.berth(['pull', name], { env });
      assert.equal(pull.code, 0, pull.stderr);
      assert.match(pull.stdout, /Already exists/);
      // Not a terminal: plain lines, no cursor movement.
      assert.ok(!pull.stdout.includes('\x1b['), 'no escape sequences when stdout is not a terminal');
      // The docker CLI reads what berth wrote.
      const dockerPull = await runCommand('/usr/local/bin/docker', ['pull', name], { env: { DOCKER_HOST: d.host, DOCKER_CONFIG: cfg } });
      assert.equal(dockerPull.code, 0, dockerPull.stderr);
      const out = await d.berth(['logout', basicReg.host], { env });
      assert.match(out.stdout, new RegExp(`Removing login credentials for ${basicReg.host.replace(/\./g, '\\.')}`));
    } finally {
      await rm(cfg, { recursive: true, force: true });
    }
  });

  it('the Bearer flow: challenge, token with scopes, cached; a wrong password fails; push and pull through the token server', async () => {
    const bad = await d.docker(['login', '-u', 'bob', '--password-stdin', tokens.host], { input: 'wrong\n' });
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /Error response from daemon: Get "http:\/\/127\.0\.0\.1:\d+\/v2\/": unauthorized: incorrect username or password/);
    const good = await d.docker(['login', '-u', 'bob', '--password-stdin', tokens.host], { input: 'hunter2\n' });
    assert.equal(good.code, 0, good.stderr);
    const name = `${tokens.host}/bob/busybox:1`;
    await d.docker(['tag', 'busybox', name]);
    const push = await d.docker(['push', name]);
    assert.equal(push.code, 0, push.stderr);
    assert.ok(tokens.scopesRequested.includes('repository:bob/busybox:pull,push'), tokens.scopesRequested.join(' '));
    await d.docker(['rmi', name]);
    const asked = tokens.scopesRequested.length;
    const pull = await d.docker(['pull', name]);
    assert.equal(pull.code, 0, pull.stderr);
    assert.ok(tokens.scopesRequested.slice(asked).includes('repository:bob/busybox:pull'), tokens.scopesRequested.join(' '));
    // One token per scope, reused for every blob of the pull.
    assert.ok(tokens.scopesRequested.length - asked <= 2, `tokens fetched: ${tokens.scopesRequested.slice(asked).join(' ')}`);
    await d.docker(['logout', tokens.host]);
    await d.docker(['rmi', name]);
    const anon = await d.docker(['pull', name]);
    assert.equal(anon.code, 1);
    assert.match(anon.stderr, /pull access denied for 127\.0\.0\.1:\d+\/bob\/busybox, repository does not exist or may require 'docker login'/);
  });
});

describe('save and load', () => {
  let d: TestDaemon;
  let work: string;
  before(async () => {
    d = await TestDaemon.start();
    await d.loadBusybox();
    work = await mkdtemp(join(tmpdir(), 'berth-save-'));
  });
  after(async () => {
    await d?.stop();
    await rm(work, { recursive: true, force: true });
  });

  it('docker save writes docker-archive and OCI layout; docker load brings the images back with their tags', async () => {
    await d.docker(['tag', 'busybox', 'saved/one:a']);
    await d.docker(['tag', 'busybox', 'saved/one:b']);
    const id = (await d.docker(['image', 'inspect', '--format', '{{.Id}}', 'busybox'])).stdout.trim();
    const out = join(work, 'images.tar');
    const save = await d.docker(['save', '-o', out, 'saved/one:a', 'saved/one:b']);
    assert.equal(save.code, 0, save.stderr);
    const list = (await runCommand('tar', ['tf', out])).stdout.split('\n');
    for (const f of ['manifest.json', 'index.json', 'oci-layout', 'repositories']) assert.ok(list.includes(f), `${f} in ${list.join(' ')}`);
    const x = await mkdtemp(join(work, 'x-'));
    await runCommand('tar', ['xf', out, '-C', x]);
    const manifest = JSON.parse(await readFile(join(x, 'manifest.json'), 'utf8')) as Array<{ Config: string; RepoTags: string[]; Layers: string[] }>;
    assert.deepEqual(manifest[0]!.RepoTags.sort(), ['saved/one:a', 'saved/one:b']);
    assert.equal(sha256(await readFile(join(x, manifest[0]!.Layers[0]!))), JSON.parse(await readFile(join(x, manifest[0]!.Config), 'utf8')).rootfs.diff_ids[0], 'layers are plain tars named by diff ID');
    const index = JSON.parse(await readFile(join(x, 'index.json'), 'utf8')) as { manifests: Array<{ annotations: Record<string, string> }> };
    assert.deepEqual(index.manifests.map((m) => m.annotations['io.containerd.image.name']).sort(), ['docker.io/saved/one:a', 'docker.io/saved/one:b']);
    await d.docker(['rmi', 'saved/one:a', 'saved/one:b']);
    const load = await d.docker(['load', '-i', out]);
    assert.equal(load.code, 0, load.stderr);
    assert.match(load.stdout, /Loaded image: saved\/one:a\n/);
    assert.match(load.stdout, /Loaded image: saved\/one:b\n/);
    assert.equal((await d.docker(['image', 'inspect', '--format', '{{.Id}}', 'saved/one:b'])).stdout.trim(), id);
    assert.equal((await d.docker(['run', '--rm', 'saved/one:a', 'echo', 'loaded'])).stdout, 'loaded\n');
  });

  it('berth save to stdout and berth load -q from stdin; an OCI layout alone loads too', async () => {
    const tarPath = join(work, 'b.tar');
    const save = await runCommand('/bin/sh', ['-c', `node ${join(process.cwd(), 'bin/berth')} save busybox > ${tarPath}`], { env: { BERTH_HOST: d.host } });
    assert.equal(save.code, 0, save.stderr);
    await d.berth(['rmi', 'busybox']);
    const load = await d.berth(['load', '-q', '-i', tarPath]);
    assert.equal(load.code, 0, load.stderr);
    assert.equal(load.stdout, 'Loaded image: busybox:latest\n');
    // Without manifest.json: the OCI layout (index.json, blobs) is read.
    const x = await mkdtemp(join(work, 'oci-'));
    await runCommand('tar', ['xf', tarPath, '-C', x]);
    await rm(join(x, 'manifest.json'));
    await rm(join(x, 'repositories'));
    const ociTar = join(work, 'oci.tar');
    await runCommand('tar', ['cf', ociTar, '-C', x, '.']);
    await d.berth(['rmi', 'busybox']);
    const oci = await d.berth(['load', '-i', ociTar]);
    assert.equal(oci.code, 0, oci.stderr);
    assert.match(oci.stdout, /Loaded image: busybox:latest/);
  });

  it('a load tar with an escaping path is refused and writes nothing outside', async () => {
    const marker = `escape-${process.pid}-${Date.now()}`;
    const evil = await makeTar([{ name: 'manifest.json', content: '[]' }, { name: `../../../../../../tmp/${marker}`, content: 'pwned' }]);
    const r = await d.request('POST', '/images/load', evil, { 'Content-Type': 'application/x-tar' });
    assert.equal(r.status, 400, r.body);
    assert.match(r.json<{ message: string }>().message, /\.\.\//);
    await assert.rejects(stat(join('/tmp', marker)));
    const symlinkEvil = await makeTar([{ name: 'link', type: 'symlink', linkname: '/tmp' }, { name: `link/${marker}`, content: 'pwned' }, { name: 'manifest.json', content: '[]' }]);
    const r2 = await d.request('POST', '/images/load', symlinkEvil, { 'Content-Type': 'application/x-tar' });
    await assert.rejects(stat(join('/tmp', marker)));
    void r2;
    assert.deepEqual((await readdir(join(d.dataRoot, 'image', 'tmp'))).filter((n) => n.startsWith('load-')), [], 'the temporary directory is gone');
  });
});

describe("berth's registry server with skopeo and the docker CLI", () => {
  let d: TestDaemon;
  let reg: TestRegistry;
  let work: string;
  before(async () => {
    [d, reg] = await Promise.all([TestDaemon.start(), startBerthRegistry()]);
    await d.loadBusybox();
    work = await mkdtemp(join(tmpdir(), 'berth-skopeo-'));
  });
  after(async () => {
    await d?.stop();
    await reg?.stop();
    await rm(work, { recursive: true, force: true });
  });

  it('skopeo copies to it, inspects, copies back out (docker:// and oci:); docker push/pull through berthd work', async () => {
    const archive = join(work, 'bb.tar');
    assert.equal((await d.docker(['save', '-o', archive, 'busybox'])).code, 0);
    const to = await runCommand('skopeo', ['copy', '--dest-tls-verify=false', `docker-archive:${archive}`, `docker://${reg.host}/sk/busybox:v1`]);
    assert.equal(to.code, 0, to.stderr);
    const inspect = await runCommand('skopeo', ['inspect', '--tls-verify=false', `docker://${reg.host}/sk/busybox:v1`]);
    assert.equal(inspect.code, 0, inspect.stderr);
    assert.deepEqual((JSON.parse(inspect.stdout) as { RepoTags: string[] }).RepoTags, ['v1']);
    const out = await runCommand('skopeo', ['copy', '--src-tls-verify=false', `docker://${reg.host}/sk/busybox:v1`, `oci:${join(work, 'oci')}:v1`]);
    assert.equal(out.code, 0, out.stderr);
    const index = JSON.parse(await readFile(join(work, 'oci', 'index.json'), 'utf8')) as { manifests: unknown[] };
    assert.equal(index.manifests.length, 1);
    const back = await runCommand('skopeo', ['copy', '--dest-tls-verify=false', `oci:${join(work, 'oci')}:v1`, `docker://${reg.host}/sk/fromoci:v1`]);
    assert.equal(back.code, 0, back.stderr);
    // The docker CLI through berthd.
    const pull = await d.docker(['pull', `${reg.host}/sk/fromoci:v1`]);
    assert.equal(pull.code, 0, pull.stderr);
    assert.equal((await d.docker(['run', '--rm', `${reg.host}/sk/fromoci:v1`, 'echo', 'via berth registry'])).stdout, 'via berth registry\n');
    await d.docker(['tag', 'busybox', `${reg.host}/pushed/by-docker:1`]);
    const push = await d.docker(['push', `${reg.host}/pushed/by-docker:1`]);
    assert.equal(push.code, 0, push.stderr);
    const tags = await runCommand('skopeo', ['list-tags', '--tls-verify=false', `docker://${reg.host}/pushed/by-docker`]);
    assert.deepEqual((JSON.parse(tags.stdout) as { Tags: string[] }).Tags, ['1']);
  });

  it('speaks the spec: errors, chunked uploads, ranges, catalog pagination, deletes', async () => {
    const base = `http://${reg.host}/v2`;
    const missing = await fetch(`${base}/nope/img/manifests/latest`);
    assert.equal(missing.status, 404);
    assert.equal(((await missing.json()) as { errors: Array<{ code: string }> }).errors[0]!.code, 'NAME_UNKNOWN');
    const start = await fetch(`${base}/chunked/blob/blobs/uploads/`, { method: 'POST' });
    assert.equal(start.status, 202);
    const loc = new URL(start.headers.get('location')!, `http://${reg.host}`);
    const data = Buffer.from('hello chunked world');
    const p1 = await fetch(loc, { method: 'PATCH', body: data.subarray(0, 5), headers: { 'Content-Range': '0-4', 'Content-Type': 'application/octet-stream' } });
    assert.equal(p1.status, 202);
    assert.equal(p1.headers.get('range'), '0-4');
    const wrongRange = await fetch(loc, { method: 'PATCH', body: data.subarray(5), headers: { 'Content-Range': '7-100' } });
    assert.equal(wrongRange.status, 416);
    const p2 = await fetch(loc, { method: 'PATCH', body: data.subarray(5), headers: { 'Content-Range': `5-${data.length - 1}` } });
    assert.equal(p2.status, 202);
    const status = await fetch(loc);
    assert.equal(status.status, 204);
    assert.equal(status.headers.get('range'), `0-${data.length - 1}`);
    const badDigest = new URL(loc);
    badDigest.searchParams.set('digest', sha256('something else'));
    const bad = await fetch(badDigest, { method: 'PUT' });
    assert.equal(bad.status, 400);
    assert.equal(((await bad.json()) as { errors: Array<{ code: string }> }).errors[0]!.code, 'DIGEST_INVALID');
    const digest = await putBlob(reg.host, 'chunked/blob', data);
    const range = await fetch(`${base}/chunked/blob/blobs/${digest}`, { headers: { Range: 'bytes=6-12' } });
    assert.equal(range.status, 206);
    assert.equal(await range.text(), 'chunked');
    const badManifest = await fetch(`${base}/chunked/blob/manifests/x`, { method: 'PUT', headers: { 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' }, body: JSON.stringify({ schemaVersion: 2, config: { digest: sha256('nope'), size: 4 }, layers: [] }) });
    assert.equal(badManifest.status, 400);
    assert.equal(((await badManifest.json()) as { errors: Array<{ code: string }> }).errors[0]!.code, 'MANIFEST_BLOB_UNKNOWN');
    const page = await fetch(`${base}/_catalog?n=1`);
    assert.match(page.headers.get('link') ?? '', /rel="next"/);
    assert.equal(((await page.json()) as { repositories: string[] }).repositories.length, 1);
    const del = await fetch(`${base}/chunked/blob/blobs/${digest}`, { method: 'DELETE' });
    assert.equal(del.status, 202);
    assert.equal((await fetch(`${base}/chunked/blob/blobs/${digest}`, { method: 'HEAD' })).status, 404);
  });
});
