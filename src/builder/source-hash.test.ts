import { describe, it, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileHashAs, multiHash, sourceHash, tarsumHeader } from './source-hash.js';

// The sums dockerd 20.10 wrote into history for these very files
// ("COPY file:<sum> in …"), recorded from a reference dockerd: berth must
// give the same ones.

describe('COPY/ADD source sums', () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'berth-sum-test-'));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('a file, a directory and several sources sum as dockerd sums them', async () => {
    await writeFile(join(root, 'f'), 'hi\n');
    await mkdir(join(root, 'd/e'), { recursive: true });
    await writeFile(join(root, 'd/e/g'), 'x\n');
    for (const p of ['f', 'd/e/g']) await chmod(join(root, p), 0o644);
    for (const p of ['d', 'd/e']) await chmod(join(root, p), 0o755);
    const f = await sourceHash(root, join(root, 'f'));
    const d = await sourceHash(root, join(root, 'd'));
    assert.equal(f, 'file:8582af4daeaf0680f84231b3cb3c1b3f178576b5a6a8982837583d5676f28428');
    assert.equal(d, 'dir:a9b4a443dacee5e98d6e6524ed6843693b03259e9c47defbbb6a597046a01f1e');
    assert.equal(multiHash([f, d]), 'multi:44ec7152ec5e83194d9148d4005276256304b0cd4ac59c8ffd7e02f6d9083ec0');
    assert.equal(multiHash([f]), f);
  });

  it('files dockerd reads itself (COPY --from, ADD <url>) carry the type bits and this host\'s owner names', async () => {
    // COPY --from=stage /other: a file a RUN wrote ("other\n", 0644, root).
    await writeFile(join(root, 'other'), 'other\n');
    await chmod(join(root, 'other'), 0o644);
    assert.equal(await sourceHash(root, join(root, 'other'), { style: 'files' }), 'file:1d3f8ac3244759ec8a2f4a34583f30b3d70462b1457dd09c3c01ef128b522cc9');
    // ADD http://…/dl.txt: downloaded as 0600, written bare into the history.
    await writeFile(join(root, 'download'), 'downloaded\n');
    await chmod(join(root, 'download'), 0o600);
    assert.equal(await fileHashAs(join(root, 'download'), 'dl.txt', 'files'), 'f086d3e9d51c3e6f360a07185b8d811efe56fd45e047bce49d89178032762678');
  });

  it('names, modes and content count; times do not; ignored entries are left out; links sum their target text', async () => {
    await writeFile(join(root, 'a'), 'one');
    const before = await sourceHash(root, join(root, 'a'));
    await writeFile(join(root, 'a'), 'one');
    assert.equal(await sourceHash(root, join(root, 'a')), before, 'rewriting the same content keeps the sum');
    await chmod(join(root, 'a'), 0o600);
    assert.notEqual(await sourceHash(root, join(root, 'a')), before);
    assert.notEqual(`file:${await fileHashAs(join(root, 'a'), 'b', 'context')}`, await sourceHash(root, join(root, 'a')), 'the name is part of it');
    assert.equal(`file:${await fileHashAs(join(root, 'a'), 'a', 'context')}`, await sourceHash(root, join(root, 'a')));
    await mkdir(join(root, 'src'));
    await writeFile(join(root, 'src/keep'), 'k');
    await writeFile(join(root, 'src/skip'), 'x');
    await symlink('keep', join(root, 'src/link'));
    const skip = (rel: string) => rel === 'src/skip';
    const withSkip = await sourceHash(root, join(root, 'src'), { excluded: skip });
    await writeFile(join(root, 'src/skip'), 'changed');
    assert.equal(await sourceHash(root, join(root, 'src'), { excluded: skip }), withSkip, 'ignored files do not count');
    await rm(join(root, 'src/link'));
    await symlink('other', join(root, 'src/link'));
    assert.notEqual(await sourceHash(root, join(root, 'src'), { excluded: skip }), withSkip);
    assert.equal(tarsumHeader({ name: 'x', type: 'dir', mode: 0o755 }), 'namex/mode493uid0gid0size0typeflag5linkname' + 'uname' + 'gname' + 'devmajor0devminor0');
  });
});
