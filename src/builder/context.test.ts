import { describe, it, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readlink, rm, lstat, writeFile, mkdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { makeTar } from '../archive/testing/make-tar.js';
import { extractContext, loadDockerignore } from './context.js';
import { newFileHash, sourceHash } from './source-hash.js';
import { cacheKey, BuildCache } from './cache.js';

describe('build context', () => {
  let dir: string;
  let ctx: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-ctx-test-'));
    ctx = join(dir, 'ctx');
    await mkdir(ctx);
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('unpacks files, directories, modes and symlinks (kept as links), plain or gzip', async () => {
    const tar = await makeTar([
      { name: 'Dockerfile', content: 'FROM busybox\n' },
      { name: 'dir/', type: 'directory', mode: 0o750 },
      { name: 'dir/run.sh', content: '#!/bin/sh\n', mode: 0o755 },
      { name: 'out', type: 'symlink', linkname: '/etc/passwd' },
      { name: 'hard', type: 'link', linkname: 'dir/run.sh' },
    ]);
    const { digests } = await extractContext(Readable.from(gzipSync(tar)), ctx);
    assert.equal(await readFile(join(ctx, 'Dockerfile'), 'utf8'), 'FROM busybox\n');
    assert.equal(digests.get(join(ctx, 'Dockerfile')), newFileHash({ name: 'Dockerfile', mode: 0o644, size: 13 }).update('FROM busybox\n').digest('hex'), 'summed while unpacked, as dockerd sums it');
    assert.equal(digests.has(join(ctx, 'hard')), false, 'a hard link\'s sum (its own name in it) is computed when needed');
    assert.equal(await sourceHash(ctx, join(ctx, 'dir'), { known: digests }), await sourceHash(ctx, join(ctx, 'dir')), 'known sums give the same directory sum');
    assert.equal((await lstat(join(ctx, 'dir'))).mode & 0o777, 0o750);
    assert.equal((await lstat(join(ctx, 'dir/run.sh'))).mode & 0o777, 0o755);
    assert.equal(await readlink(join(ctx, 'out')), '/etc/passwd');
    assert.equal(await readFile(join(ctx, 'hard'), 'utf8'), '#!/bin/sh\n');
  });

  it('holds larger files in memory behind placeholders of the right size, mode and time until materialized', async () => {
    const big = Buffer.alloc(300 * 1024, 'b');
    const other = Buffer.alloc(200 * 1024, 'o');
    const replaced = Buffer.alloc(100 * 1024, 'r');
    const mtime = new Date('2020-01-02T03:04:05Z');
    const tar = await makeTar([
      { name: 'small', content: 'tiny' },
      { name: 'big', content: big, mode: 0o640, mtime },
      { name: 'dir/other', content: other },
      { name: 'twice', content: replaced },
      { name: 'twice', content: 'now small' },
      { name: 'shared', content: replaced },
      { name: 'alias', type: 'link', linkname: 'shared' },
      { name: 'shared', content: 'replaced after the link' },
    ]);
    const c = await extractContext(Readable.from(tar), ctx);
    assert.equal(c.isHeld(join(ctx, 'small')), false, 'small files are written at once');
    assert.equal(c.isHeld(join(ctx, 'big')), true);
    assert.equal(c.isHeld(join(ctx, 'twice')), false, 'a later entry replaces what was held for the path');
    assert.equal(await readFile(join(ctx, 'twice'), 'utf8'), 'now small');
    const st = await lstat(join(ctx, 'big'));
    assert.equal(st.size, big.length, 'the placeholder has the size the tree shows');
    assert.equal(st.mode & 0o777, 0o640);
    assert.equal(st.mtime.getTime(), mtime.getTime());
    assert.equal(c.digests.get(join(ctx, 'big')), newFileHash({ name: 'big', mode: 0o640, size: big.length }).update(big).digest('hex'));
    // A hard link shares the inode, so its content went down before the name was reused.
    assert.deepEqual(await readFile(join(ctx, 'alias')), replaced);
    assert.equal(await readFile(join(ctx, 'shared'), 'utf8'), 'replaced after the link');
    const held = await sourceHash(ctx, ctx, { known: c.digests });
    await Promise.all([c.materialize(), c.materialize()]);
    assert.equal(c.isHeld(join(ctx, 'big')), false);
    assert.deepEqual(await readFile(join(ctx, 'big')), big);
    assert.deepEqual(await readFile(join(ctx, 'dir/other')), other);
    assert.equal((await lstat(join(ctx, 'big'))).mtime.getTime(), mtime.getTime(), 'writing the content keeps the time');
    assert.equal(await sourceHash(ctx, ctx), held, 'the sum from the digests is the one the content gives');
  });

  it('refuses entries that climb out of the context', async () => {
    const tar = await makeTar([{ name: '../escaped', content: 'x' }]);
    await assert.rejects(extractContext(Readable.from(tar), ctx), /path escapes the target directory/);
    assert.equal(existsSync(join(dir, 'escaped')), false);
  });

  it('never writes through a symlink in the context', async () => {
    const outside = join(dir, 'outside');
    await mkdir(outside);
    const tar = await makeTar([
      { name: 'link', type: 'symlink', linkname: outside },
      { name: 'link/pwned', content: 'x' },
      { name: 'f', type: 'symlink', linkname: join(outside, 'file') },
      { name: 'f', content: 'replaced' },
    ]);
    await extractContext(Readable.from(tar), ctx);
    assert.equal(existsSync(join(outside, 'pwned')), false);
    assert.equal(existsSync(join(outside, 'file')), false);
    assert.equal(await readFile(join(ctx, 'f'), 'utf8'), 'replaced');
  });

  it('loads .dockerignore', async () => {
    await writeFile(join(ctx, '.dockerignore'), 'secret\n');
    const ig = await loadDockerignore(ctx);
    assert.equal(ig.matches('secret'), true);
    assert.equal(ig.matches('public'), false);
  });
});

describe('build cache', () => {
  it('keys change with the parent, the instruction, the sources and extras', () => {
    const base = { parent: 'sha256:1', instruction: '/bin/sh -c echo', sources: 'file:a' };
    const k = cacheKey(base);
    assert.equal(cacheKey({ ...base }), k);
    assert.notEqual(cacheKey({ ...base, parent: 'sha256:2' }), k);
    assert.notEqual(cacheKey({ ...base, instruction: '/bin/sh -c echo x' }), k);
    assert.notEqual(cacheKey({ ...base, sources: 'file:b' }), k);
    assert.notEqual(cacheKey({ ...base, extra: { chown: '1' } }), k);
  });

  it('persists entries and drops those whose image is gone', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'berth-cache-test-'));
    try {
      const c = new BuildCache(dir);
      await c.store({ key: 'a'.repeat(64), imageId: 'sha256:x', description: 'RUN x', size: 3, parent: 'sha256:p' });
      await c.store({ key: 'b'.repeat(64), imageId: 'sha256:gone', description: 'RUN y', size: 0, parent: 'sha256:p' });
      const again = new BuildCache(dir);
      const hit = await again.lookup('a'.repeat(64), async () => true);
      assert.equal(hit?.imageId, 'sha256:x');
      assert.equal(hit?.usageCount, 1);
      await again.flush();
      assert.equal((await new BuildCache(dir).lookup('a'.repeat(64), async () => true))?.usageCount, 2, 'usage is persisted by flush');
      assert.equal(await again.lookup('b'.repeat(64), async () => false), undefined);
      assert.equal((await new BuildCache(dir).list()).length, 1);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
