import { describe, it, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { lstat, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConflictError, InvalidParameterError, NotFoundError } from '../errors/index.js';
import { mountAll, unmountIfMounted } from '../util/mount.js';
import { CopySnapshotter, OverlaySnapshotter, createSnapshotter, type Snapshotter } from './index.js';

// Every snapshotter must pass these cases, on a real filesystem with real mounts.

const implementations: Array<[string, (root: string) => Snapshotter]> = [
  ['overlay', (root) => new OverlaySnapshotter(root)],
  ['copy', (root) => new CopySnapshotter(root)],
];

async function exists(p: string): Promise<boolean> {
  return lstat(p).then(() => true, () => false);
}

for (const [kind, make] of implementations) {
  describe(`snapshotter conformance: ${kind}`, () => {
    let tmp: string;
    let root: string;
    let sn: Snapshotter;
    const mounted: string[] = [];
    let m = 0;

    async function mountAt(key: string, how: 'prepare' | 'view' | 'mounts', parent?: string): Promise<string> {
      const mounts = how === 'prepare' ? await sn.prepare(key, parent) : how === 'view' ? await sn.view(key, parent) : await sn.mounts(key);
      const dir = join(tmp, `mnt${++m}`);
      await mkdir(dir);
      await mountAll(mounts, dir);
      mounted.push(dir);
      return dir;
    }
    async function unmountAll(): Promise<void> {
      while (mounted.length > 0) await unmountIfMounted(mounted.pop()!);
    }

    before(async () => {
      tmp = await mkdtemp(join(tmpdir(), `berth-snap-${kind}-`));
      root = join(tmp, 'root');
      sn = make(root);
    });
    afterEach(unmountAll);
    after(async () => {
      await unmountAll();
      await rm(tmp, { recursive: true, force: true });
    });

    it('prepare, write, commit; a child sees its parent; deletions hide without touching the parent', async () => {
      const base = await mountAt('base-active', 'prepare');
      await mkdir(join(base, 'etc'));
      await writeFile(join(base, 'etc/passwd'), 'root\n');
      await writeFile(join(base, 'keep'), 'k');
      await unmountAll();
      await sn.commit('L1', 'base-active', { layer: '1' });
      assert.equal(await sn.exists('base-active'), false);
      const info = await sn.stat('L1');
      assert.equal(info.kind, 'committed');
      assert.deepEqual(info.labels, { layer: '1' });
      await assert.rejects(sn.mounts('L1'), InvalidParameterError);

      const child = await mountAt('child', 'prepare', 'L1');
      assert.equal(await readFile(join(child, 'etc/passwd'), 'utf8'), 'root\n');
      await rm(join(child, 'etc/passwd'));
      await writeFile(join(child, 'new'), 'n');
      assert.equal(await exists(join(child, 'etc/passwd')), false);
      assert.equal((await sn.stat('child')).parent, 'L1');
      assert.equal((await sn.stat('child')).kind, 'active');
      await unmountAll();

      // Mounting again from the stored description gives the same tree.
      const again = await mountAt('child', 'mounts');
      assert.deepEqual((await readdir(again)).sort(), ['etc', 'keep', 'new']);
      await unmountAll();
      await sn.commit('L2', 'child');

      const v1 = await mountAt('v1', 'view', 'L1');
      assert.equal(await readFile(join(v1, 'etc/passwd'), 'utf8'), 'root\n', 'the parent is untouched');
      assert.equal(await exists(join(v1, 'new')), false);
      await assert.rejects(writeFile(join(v1, 'x'), 'x'), /EROFS|read-only/i, 'views are read-only');
      const v2 = await mountAt('v2', 'view', 'L2');
      assert.equal(await exists(join(v2, 'etc/passwd')), false);
      assert.equal(await readFile(join(v2, 'new'), 'utf8'), 'n');
      assert.equal(await readFile(join(v2, 'keep'), 'utf8'), 'k');
      assert.equal((await sn.stat('v2')).kind, 'view');
      await unmountAll();

      assert.ok(await exists(join(await sn.upperDir('L1'), 'etc/passwd')));
      const upper2 = await sn.upperDir('L2');
      if (sn.upperIsDiff) {
        // Only the changes, the deletion as an overlay whiteout.
        assert.deepEqual((await readdir(upper2)).sort(), ['etc', 'new']);
        const wh = await lstat(join(upper2, 'etc/passwd'));
        assert.ok(wh.isCharacterDevice() && wh.rdev === 0);
      } else {
        assert.deepEqual((await readdir(upper2)).sort(), ['etc', 'keep', 'new']);
      }
      await sn.remove('v1');
      await sn.remove('v2');
      await assert.rejects(sn.remove('L1'), ConflictError);
      await sn.remove('L2');
      await sn.remove('L1');
    });

    it('remove is refused while a child exists', async () => {
      await sn.prepare('p-active');
      await sn.commit('P', 'p-active');
      await sn.prepare('c', 'P');
      await assert.rejects(sn.remove('P'), ConflictError);
      await sn.remove('c');
      await sn.remove('P');
      assert.equal(await sn.exists('P'), false);
      await assert.rejects(sn.stat('P'), NotFoundError);
      await assert.rejects(sn.remove('P'), NotFoundError);
    });

    it('refuses duplicate keys, missing or uncommitted parents, and commits over existing names', async () => {
      await sn.prepare('dup');
      await assert.rejects(sn.prepare('dup'), ConflictError);
      await assert.rejects(sn.prepare('x', 'no-such-parent'), NotFoundError);
      await assert.rejects(sn.prepare('x', 'dup'), InvalidParameterError);
      await sn.prepare('other');
      await sn.commit('C', 'other');
      await assert.rejects(sn.commit('C', 'dup'), ConflictError);
      await assert.rejects(sn.commit('D', 'C'), InvalidParameterError);
      await sn.remove('dup');
      await sn.remove('C');
    });

    it('reports usage of the snapshot alone, and lists with labels', async () => {
      await sn.prepare('u-active', undefined, { who: 'test' });
      const dir = await sn.upperDir('u-active');
      await writeFile(join(dir, 'blob'), Buffer.alloc(10000));
      await mkdir(join(dir, 'd'));
      const usage = await sn.usage('u-active');
      assert.equal(usage.size, 10000);
      assert.equal(usage.inodes, 3);
      const listed = (await sn.list()).find((s) => s.key === 'u-active');
      assert.deepEqual(listed?.labels, { who: 'test' });
      await sn.remove('u-active');
    });

    it('state survives a restart; cleanup removes half-made snapshots', async () => {
      await sn.prepare('kept-active');
      await sn.commit('kept', 'kept-active');
      await sn.prepare('live', 'kept');
      // A crash during prepare: a directory with no record yet.
      await mkdir(join(root, '9999', 'fs'), { recursive: true });
      await writeFile(join(root, '9999', 'fs', 'partial'), 'p');
      // A crash during remove, and one during a record write.
      await mkdir(join(root, '.removing-77', 'fs'), { recursive: true });
      const keptDir = (await readdir(root)).find((n) => /^[0-9]+$/.test(n) && n !== '9999')!;
      await writeFile(join(root, keptDir, '.tmp-meta.json-deadbeef'), '{');

      const restarted = make(root);
      const keys = (await restarted.list()).map((s) => s.key).sort();
      assert.deepEqual(keys, ['kept', 'live']);
      await restarted.cleanup();
      assert.equal(await exists(join(root, '9999')), false);
      assert.equal(await exists(join(root, '.removing-77')), false);
      assert.equal(await exists(join(root, keptDir, '.tmp-meta.json-deadbeef')), false);
      assert.equal((await restarted.stat('live')).parent, 'kept');
      // New snapshots do not reuse the half-made one's number.
      await restarted.prepare('after');
      await restarted.remove('after');
      await restarted.remove('live');
      await restarted.remove('kept');
      assert.deepEqual(await restarted.list(), []);
      sn = restarted;
    });
  });
}

describe('createSnapshotter', () => {
  let tmp: string;
  before(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'berth-snap-create-'));
  });
  after(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  it('probes overlay, remembers the driver and refuses to switch a populated root', async () => {
    const root = join(tmp, 'a');
    const sn = await createSnapshotter(root);
    assert.equal(sn.name, 'overlay2', 'overlay works on this host');
    assert.equal((await readFile(join(root, 'driver'), 'utf8')).trim(), 'overlay');
    assert.deepEqual((await readdir(root)).sort(), ['driver'], 'the probe leaves nothing behind');
    await sn.prepare('x');
    await assert.rejects(createSnapshotter(root, 'copy'), InvalidParameterError);
    assert.equal((await createSnapshotter(root)).name, 'overlay2');
    const copy = await createSnapshotter(join(tmp, 'b'), 'copy');
    assert.equal(copy.name, 'vfs');
    assert.equal((await createSnapshotter(join(tmp, 'b'))).name, 'vfs');
  });
});
