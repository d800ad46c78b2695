import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { ConflictError, InvalidParameterError, NotFoundError } from '../errors/index.js';
import { CopySnapshotter, OverlaySnapshotter, type Snapshotter } from '../snapshot/index.js';
import { mountAll, unmountIfMounted } from '../util/mount.js';
import { LocalImageStore } from './index.js';

import { makeTar } from '../archive/testing/make-tar.js';

const sha = (b: Uint8Array | string) => 'sha256:' + createHash('sha256').update(b).digest('hex');
const body = (b: Buffer) => Readable.from([b]);

async function mountsUnder(dir: string): Promise<string[]> {
  const info = await readFile('/proc/self/mountinfo', 'utf8');
  return info.split('\n').map((l) => l.split(' ')[4] ?? '').filter((p) => p.startsWith(dir));
}

for (const [kind, makeSnapshotter] of [
  ['overlay', (r: string) => new OverlaySnapshotter(r)],
  ['copy', (r: string) => new CopySnapshotter(r)],
] as Array<[string, (root: string) => Snapshotter]>) {
  describe(`LocalImageStore on ${kind}`, () => {
    let tmp: string;
    let sn: Snapshotter;
    let store: LocalImageStore;
    const users = new Map<string, string[]>();
    let rootfsTar: Buffer;
    const reopen = () => new LocalImageStore(join(tmp, 'image'), sn, (id) => users.get(id) ?? []);

    before(async () => {
      tmp = await mkdtemp(join(tmpdir(), `berth-image-${kind}-`));
      sn = makeSnapshotter(join(tmp, 'snapshots'));
      store = reopen();
      rootfsTar = await makeTar([
        { name: 'bin/', type: 'directory', mode: 0o755 },
        { name: 'bin/busybox', content: 'ELF-ish', mode: 0o755 },
        { name: 'bin/sh', type: 'link', linkname: 'bin/busybox' },
        { name: 'etc/passwd', content: 'root:x:0:0:root:/root:/bin/sh\n' },
      ]);
    });
    after(async () => {
      for (const m of (await mountsUnder(tmp)).reverse()) await unmountIfMounted(m);
      await rm(tmp, { recursive: true, force: true });
    });

    it('imports a tar as a one-layer image with Docker\'s config', async () => {
      const img = await store.importTarball(body(rootfsTar), { reference: 'busybox' });
      const diffId = sha(rootfsTar);
      assert.deepEqual(img.repoTags, ['busybox:latest']);
      assert.equal(img.config.architecture, process.arch === 'x64' ? 'amd64' : img.config.architecture);
      assert.equal(img.config.os, 'linux');
      assert.deepEqual(img.config.rootfs, { type: 'layers', diff_ids: [diffId] });
      assert.deepEqual(img.chainIds, [diffId]);
      assert.equal(img.config.history?.length, 1);
      assert.equal(img.config.history![0]!.comment, 'Imported from -');
      assert.equal(img.config.history![0]!.created_by, '');
      assert.equal(img.size, 'ELF-ish'.length + 'root:x:0:0:root:/root:/bin/sh\n'.length);
      // The ID is the digest of the config exactly as stored.
      const stored = await readFile(join(tmp, 'image', 'blobs', 'sha256', img.id.slice(7)));
      assert.equal(sha(stored), img.id);
      assert.ok(await sn.exists(diffId));
      assert.equal((await sn.stat(diffId)).kind, 'committed');
      // The layer's content, through a view.
      const dir = join(tmp, 'view');
      await mkdir(dir);
      await mountAll(await sn.view('check-view', diffId), dir);
      try {
        assert.equal(await readFile(join(dir, 'bin/sh'), 'utf8'), 'ELF-ish');
      } finally {
        await unmountIfMounted(dir);
        await sn.remove('check-view');
      }
      assert.deepEqual(await readdir(join(tmp, 'image', 'tmp')), [], 'nothing left in tmp');
    });

    it('imports gzip, keeping the compressed blob, and shares identical layers', async () => {
      const other = await makeTar([{ name: 'only-in-gzip', content: 'z' }]);
      const gzImg = await store.importTarball(body(gzipSync(other)), { reference: 'gz-only' });
      assert.deepEqual(gzImg.config.rootfs.diff_ids, [sha(other)], 'diffID is the digest of the uncompressed tar');
      const layer = await store.layer(gzImg.chainIds[0]!);
      assert.equal(layer?.blob?.compression, 'gzip');
      assert.equal(layer.blob.digest, sha(gzipSync(other)));
      assert.equal((await readFile((await store.blob(layer.blob.digest))!)).subarray(0, 2).toString('hex'), '1f8b');
      await store.remove('gz-only');

      const img = await store.importTarball(body(gzipSync(rootfsTar)), { reference: 'gzipped:1', changes: ['CMD ["/bin/sh"]', 'ENV A=b'], message: 'from gzip' });
      assert.deepEqual(img.config.rootfs.diff_ids, [sha(rootfsTar)]);
      assert.deepEqual(img.config.config?.Cmd, ['/bin/sh']);
      assert.deepEqual(img.config.config?.Env, ['A=b']);
      assert.equal(img.comment, 'from gzip');
      const layerSnapshots = (await sn.list()).filter((s) => s.kind === 'committed');
      assert.equal(layerSnapshots.length, 1, 'both images use one layer snapshot');
    });

    it('resolves every form Docker accepts', async () => {
      const img = await store.resolve('busybox');
      const hex = img.id.slice(7);
      for (const ref of ['busybox', 'busybox:latest', 'library/busybox', 'docker.io/library/busybox:latest', 'index.docker.io/library/busybox', img.id, hex, hex.slice(0, 12), `sha256:${hex.slice(0, 12)}`]) {
        assert.equal((await store.resolve(ref)).id, img.id, ref);
      }
      assert.equal((await store.get(img.id))?.id, img.id);
      assert.equal(await store.get(hex), undefined, 'get takes full IDs only');
      await assert.rejects(store.resolve('nope'), (err: Error) => err instanceof NotFoundError && err.message === 'No such image: nope:latest');
      await assert.rejects(store.resolve('busybox:other'), NotFoundError);
      await assert.rejects(store.resolve('Busy'), (err: Error) => err instanceof InvalidParameterError && /must be lowercase/.test(err.message));
      await assert.rejects(store.resolve(`sha256:${'0'.repeat(64)}`), NotFoundError);
    });

    it('an ambiguous short ID finds nothing; a unique one-character prefix finds its image', async () => {
      // 17 images: two of them must share a first hex digit.
      const ids: string[] = [];
      for (let i = 0; i < 17; i++) {
        ids.push((await store.createImage({ architecture: 'amd64', os: 'linux', created: new Date(Date.UTC(2000, 0, i + 1)).toISOString(), rootfs: { type: 'layers', diff_ids: [] } })).id);
      }
      const all = (await store.list({ all: true })).map((i) => i.id);
      const byFirst = new Map<string, string[]>();
      for (const id of all) byFirst.set(id[7]!, [...(byFirst.get(id[7]!) ?? []), id]);
      const shared = [...byFirst].find(([, v]) => v.length > 1)!;
      await assert.rejects(store.resolve(shared[0]), (err: Error) => err instanceof NotFoundError && err.message === `No such image: ${shared[0]}:latest`);
      const unique = [...byFirst].find(([, v]) => v.length === 1);
      if (unique) assert.equal((await store.resolve(unique[0])).id, unique[1][0]);
      for (const id of ids) await store.remove(id);
    });

    it('resolves name@digest references and shows them as RepoDigests', async () => {
      const img = await store.resolve('busybox');
      const digest = `sha256:${'d'.repeat(64)}`;
      const reposPath = join(tmp, 'image', 'repositories.json');
      const repos = JSON.parse(await readFile(reposPath, 'utf8'));
      repos.Repositories.busybox[`busybox@${digest}`] = img.id;
      await writeFile(reposPath, JSON.stringify(repos));
      store = reopen();
      assert.equal((await store.resolve(`busybox@${digest}`)).id, img.id);
      assert.equal((await store.resolve(`docker.io/library/busybox:whatever@${digest}`)).id, img.id, 'the digest wins over the tag');
      assert.deepEqual((await store.resolve('busybox')).repoDigests, [`busybox@${digest}`]);
    });

    it('tags, refusing digests and bad names', async () => {
      await store.tag('busybox', 'localhost:5000/a/b:t');
      await store.tag('busybox', 'mine');
      const img = await store.resolve('localhost:5000/a/b:t');
      assert.deepEqual(img.repoTags, ['busybox:latest', 'localhost:5000/a/b:t', 'mine:latest']);
      assert.ok(img.lastTagTime);
      await assert.rejects(store.tag('busybox', `x@sha256:${'a'.repeat(64)}`), /refusing to create a tag with a digest reference/);
      await assert.rejects(store.tag('busybox', 'Bad'), InvalidParameterError);
      await assert.rejects(store.tag('nope', 'x'), NotFoundError);
      // Moving a tag: gzipped:1 now points at busybox's image.
      await store.tag('busybox', 'gzipped:1');
      assert.equal((await store.resolve('gzipped:1')).id, img.id);
      const dangling = await store.list({ filters: { dangling: ['true'] } });
      assert.equal(dangling.length, 1, 'the image gzipped:1 left is dangling now');
      assert.deepEqual(dangling[0]!.repoTags, []);
    });

    it('summary, inspect and history look like Docker\'s', async () => {
      const img = await store.resolve('busybox');
      const s = store.summary(img, 2);
      assert.equal(s.Id, img.id);
      assert.equal(s.ParentId, '');
      assert.deepEqual(s.RepoTags, img.repoTags);
      assert.equal(s.Created, Math.floor(Date.parse(img.config.created!) / 1000));
      assert.equal(s.Size, img.size);
      assert.equal(s.Containers, 2);
      assert.deepEqual(s.Labels, {});
      const i = store.inspect(img);
      assert.equal(i.GraphDriver.Name, sn.name);
      assert.deepEqual(i.RootFS, { Type: 'layers', Layers: img.config.rootfs.diff_ids });
      assert.equal(i.Comment, 'Imported from -');
      assert.equal(i.Os, 'linux');
      assert.equal(i.Metadata.LastTagTime, img.lastTagTime);
      const h = await store.history('busybox');
      assert.equal(h.length, 1);
      assert.equal(h[0]!.Id, img.id);
      assert.deepEqual(h[0]!.Tags, img.repoTags);
      assert.equal(h[0]!.Size, img.size);
      assert.equal(h[0]!.Comment, 'Imported from -');
    });

    it('lists with filters', async () => {
      const labelled = await store.importTarball(body(await makeTar([{ name: 'l', content: 'l' }])), { reference: 'labelled:v1', changes: ['LABEL team=infra tier=web'] });
      const names = async (filters: Record<string, string[]>) => (await store.list({ filters })).flatMap((i) => i.repoTags).sort();
      assert.deepEqual(await names({ label: ['team'] }), ['labelled:v1']);
      assert.deepEqual(await names({ label: ['team=infra', 'tier=web'] }), ['labelled:v1']);
      assert.deepEqual(await names({ label: ['team=other'] }), []);
      assert.deepEqual(await names({ reference: ['label*'] }), ['labelled:v1']);
      assert.deepEqual(await names({ reference: ['mine'] }), ['mine:latest'], 'only the matching tags are shown');
      assert.deepEqual(await names({ reference: ['localhost:5000/*/*'] }), ['localhost:5000/a/b:t']);
      assert.deepEqual(await names({ since: ['busybox'] }), ['labelled:v1']);
      assert.ok(!(await names({ before: ['labelled:v1'] })).includes('labelled:v1'));
      assert.ok((await names({ dangling: ['false'] })).includes('busybox:latest'));
      assert.deepEqual(await names({ until: ['2000-01-01T00:00:00Z'] }), []);
      await assert.rejects(store.list({ filters: { bogus: ['x'] } }), /invalid filter 'bogus'/);
      await assert.rejects(store.list({ filters: { dangling: ['maybe'] } }), InvalidParameterError);
      assert.equal(store.summary(labelled, 0).Labels.team, 'infra');
      await store.remove('labelled:v1');
    });

    it('rmi: untags first, deletes with the last tag, refuses multi-tag IDs unless forced', async () => {
      const img = await store.resolve('busybox');
      const short = img.id.slice(7, 19);
      assert.deepEqual(await store.remove('mine'), [{ Untagged: 'mine:latest' }]);
      await assert.rejects(store.remove(img.id), (err: Error) =>
        err instanceof ConflictError && err.message === `conflict: unable to delete ${short} (must be forced) - image is referenced in multiple repositories`);
      assert.deepEqual(await store.remove('localhost:5000/a/b:t'), [{ Untagged: 'localhost:5000/a/b:t' }]);
      // The dangling gzip image: its layer is shared, so only the image goes.
      const dangling = (await store.list({ filters: { dangling: ['true'] } }))[0]!;
      assert.deepEqual(await store.remove(dangling.id.slice(7, 19)), [{ Deleted: dangling.id }]);
      assert.ok(await sn.exists(img.chainIds[0]!), 'the shared layer stays');
      await assert.rejects(store.resolve(dangling.id), NotFoundError);
    });

    it('rmi: a container using the image blocks removal; force untags but keeps it', async () => {
      const img = await store.resolve('busybox');
      const short = img.id.slice(7, 19);
      users.set(img.id, ['web']);
      try {
        // With another tag left, untagging is always fine.
        assert.deepEqual(await store.remove('gzipped:1'), [{ Untagged: 'gzipped:1' }]);
        // The last tag (its digest reference aside) is not.
        await assert.rejects(store.remove('busybox'), (err: Error) =>
          err instanceof ConflictError && err.message === `conflict: unable to remove repository reference "busybox" (must force) - container web is using its referenced image ${short}`);
        await assert.rejects(store.remove(img.id), (err: Error) =>
          err instanceof ConflictError && err.message === `conflict: unable to delete ${short} (must be forced) - image is being used by stopped container web`);
        assert.deepEqual((await store.resolve('busybox')).repoTags, ['busybox:latest']);
        const forced = await store.remove('busybox', { force: true });
        assert.deepEqual(forced.filter((r) => r.Untagged), [{ Untagged: 'busybox:latest' }, { Untagged: `busybox@sha256:${'d'.repeat(64)}` }]);
        assert.ok(!forced.some((r) => r.Deleted), 'in use: kept');
        assert.equal((await store.resolve(img.id)).repoTags.length, 0);
        await assert.rejects(store.remove(img.id), /being used by stopped container web/);
      } finally {
        users.delete(img.id);
      }
      const removed = await store.remove(img.id);
      assert.deepEqual(removed, [{ Deleted: img.id }, { Deleted: img.chainIds[0] }]);
      assert.equal(await sn.exists(img.chainIds[0]!), false, 'the last image took its layer with it');
      assert.deepEqual(await store.list({ all: true }), []);
      assert.deepEqual((await readdir(join(tmp, 'image', 'blobs', 'sha256'))).sort(), [], 'configs and layer blobs are gone');
      assert.deepEqual((await sn.list()).map((s) => s.key), []);
    });

    it('rmi by ID with one tag removes the tag and the image', async () => {
      const img = await store.importTarball(body(rootfsTar), { reference: 'one:tag' });
      const removed = await store.remove(img.id.slice(7, 15));
      assert.deepEqual(removed, [{ Untagged: 'one:tag' }, { Deleted: img.id }, { Deleted: img.chainIds[0] }]);
      await assert.rejects(store.remove('one:tag'), NotFoundError);
    });

    it('a tar that tries to escape fails cleanly: no image, tag, snapshot, blob or mount left', async () => {
      const before = { snaps: (await sn.list()).length, blobs: (await readdir(join(tmp, 'image', 'blobs', 'sha256'))).length };
      const evil = await makeTar([{ name: 'ok', content: 'fine' }, { name: '../../escape', content: 'x' }]);
      await assert.rejects(store.importTarball(body(evil), { reference: 'evil' }), (err: Error) => err instanceof InvalidParameterError && err.message.includes('../../escape'));
      const symlinkEvil = await makeTar([{ name: 'link', type: 'symlink', linkname: '/' }, { name: 'link/../../../../escape2', content: 'x' }]);
      await assert.rejects(store.importTarball(body(gzipSync(symlinkEvil)), { reference: 'evil' }), InvalidParameterError);
      await assert.rejects(store.resolve('evil'), NotFoundError);
      assert.deepEqual(await store.list({ all: true }), []);
      assert.equal((await sn.list()).length, before.snaps);
      assert.equal((await readdir(join(tmp, 'image', 'blobs', 'sha256'))).length, before.blobs);
      assert.deepEqual(await readdir(join(tmp, 'image', 'tmp')), []);
      assert.deepEqual(await mountsUnder(tmp), []);
      await assert.rejects(readFile(join(tmp, 'escape')), /ENOENT/);
    });

    it('refuses bad changes, references and platforms before reading the body', async () => {
      const untouched = body(rootfsTar);
      await assert.rejects(store.importTarball(untouched, { changes: ['ADD a b'] }), (err: Error) => err instanceof InvalidParameterError && err.message === 'add is not a valid change command');
      await assert.rejects(store.importTarball(untouched, { reference: 'Bad' }), InvalidParameterError);
      await assert.rejects(store.importTarball(untouched, { reference: `x@sha256:${'a'.repeat(64)}` }), /digest/);
      await assert.rejects(store.importTarball(untouched, { platform: 'windows/amd64' }), InvalidParameterError);
      assert.equal(untouched.readableDidRead, false);
      const arm = await store.importTarball(body(rootfsTar), { platform: 'linux/arm/v6' });
      assert.equal(arm.config.architecture, 'arm');
      assert.equal(arm.config.variant, 'v6');
      await store.remove(arm.id);
    });

    for (const compress of [true, false]) {
      it(`unpackLayer keeps the ${compress ? 'gzip' : 'plain'} input whole in blobPath while unpacking, and the layer commits`, async () => {
        const tar = await makeTar([{ name: 'kept/', type: 'directory' }, { name: 'kept/f', content: 'k'.repeat(200_000) }]);
        const blob = compress ? gzipSync(tar) : Buffer.concat([tar, Buffer.alloc(4096)]);
        const path = join(tmp, `blob-${compress}`);
        const pending = await store.unpackLayer(Readable.from([blob.subarray(0, 100), blob.subarray(100)]), { blobPath: path });
        assert.ok((await readFile(path)).equals(blob), 'the file holds exactly the input');
        assert.equal(pending.diffId, sha(compress ? tar : blob));
        const ingest = await store.content.fileIngest(`test-${compress}`);
        await writeFile(ingest.path, await readFile(path));
        await ingest.commit(sha(blob), blob.length);
        const layer = await pending.commit({ blob: { digest: sha(blob), size: blob.length } });
        const img = await store.createImage({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [pending.diffId] } }, { reference: `kept:${compress}` });
        layer.release();
        assert.equal((await store.layer(img.chainIds[0]!))?.blob?.digest, sha(blob));
        await store.remove(`kept:${compress}`);
        assert.equal(await store.content.info(sha(blob)), undefined, 'the blob went with its layer');
      });
    }

    it('an aborted import leaves nothing behind', async () => {
      const ac = new AbortController();
      const slow = new Readable({ read() {} });
      slow.push(rootfsTar.subarray(0, 600));
      const p = store.importTarball(slow, { reference: 'aborted', signal: ac.signal });
      setTimeout(() => ac.abort(new Error('client disconnected')), 50);
      await assert.rejects(p);
      assert.deepEqual(await readdir(join(tmp, 'image', 'tmp')), []);
      await assert.rejects(store.resolve('aborted'), NotFoundError);
    });

    it('concurrent imports of one layer share it', async () => {
      const [a, b] = await Promise.all([
        store.importTarball(body(rootfsTar), { reference: 'con:a' }),
        store.importTarball(body(gzipSync(rootfsTar)), { reference: 'con:b' }),
      ]);
      assert.deepEqual(a.chainIds, b.chainIds);
      assert.equal((await sn.list()).filter((s) => s.kind === 'committed').length, 1);
      await store.remove('con:a');
      assert.ok(await sn.exists(b.chainIds[0]!));
      await store.remove('con:b');
      assert.equal(await sn.exists(b.chainIds[0]!), false);
    });

    it('after a kill -9 the store is consistent, and cleanup removes the debris', async () => {
      const keep = await store.importTarball(body(rootfsTar), { reference: 'keep' });
      const root = join(tmp, 'image');
      // Debris of a crash at various points of an import and of a removal:
      await writeFile(join(root, 'tmp', 'blob-deadbeef'), 'half a blob');
      await writeFile(join(root, '.tmp-repositories.json-0badf00d'), '{"Repositories":');
      await writeFile(join(root, 'blobs', 'sha256', '.tmp-abc-12345678'), 'x');
      const orphanBlob = randomBytes(32).toString('hex');
      await writeFile(join(root, 'blobs', 'sha256', orphanBlob), 'orphan');
      // An image record whose config blob never landed.
      const ghost = 'e'.repeat(64);
      await writeFile(join(root, 'images', `${ghost}.json`), JSON.stringify({ id: `sha256:${ghost}` }));
      // A layer being unpacked, still mounted, when the process died.
      const mnt = join(root, 'tmp', 'mnt-cafe');
      await mkdir(mnt);
      await mountAll(await sn.prepare('berth-unpack-cafe', keep.chainIds[0], { 'berth.image.unpack': '1' }), mnt);
      await writeFile(join(mnt, 'partial'), 'p');
      // A layer committed whose image record never landed.
      await sn.prepare('berth-unpack-beef', undefined, { 'berth.image.unpack': '1' });
      const orphanChain = `sha256:${'f'.repeat(64)}`;
      await sn.commit(orphanChain, 'berth-unpack-beef', { 'berth.image.layer': orphanChain });
      await writeFile(join(root, 'layers', `${'f'.repeat(64)}.json`), JSON.stringify({ chainId: orphanChain, diffId: orphanChain, size: 0 }));

      // A restarted daemon sees a consistent store before any repair...
      const restarted = reopen();
      assert.deepEqual((await restarted.list()).map((i) => i.id), [keep.id]);
      assert.deepEqual((await restarted.resolve('keep')).repoTags, ['keep:latest']);
      // ...and cleanup removes the debris.
      await restarted.cleanup();
      assert.deepEqual(await readdir(join(root, 'tmp')), []);
      assert.deepEqual(await mountsUnder(tmp), []);
      assert.ok(!(await readdir(root)).some((n) => n.startsWith('.tmp-')));
      const blobs = await readdir(join(root, 'blobs', 'sha256'));
      assert.ok(!blobs.includes(orphanBlob) && !blobs.some((n) => n.startsWith('.tmp-')));
      assert.ok(blobs.includes(keep.id.slice(7)));
      assert.deepEqual(await readdir(join(root, 'images')), [`${keep.id.slice(7)}.json`]);
      assert.deepEqual((await sn.list()).map((s) => s.key), [keep.chainIds[0]]);
      assert.deepEqual(await readdir(join(root, 'layers')), [`${keep.chainIds[0]!.slice(7)}.json`]);
      assert.equal((await restarted.resolve('keep')).id, keep.id);
      await restarted.remove('keep');
      store = restarted;
    });
  });
}
