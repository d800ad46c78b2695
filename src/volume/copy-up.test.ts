import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, writeFile, symlink, readdir, readFile, rm, stat, chmod } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { copyUp, recoverCopyUp } from './copy-up.js';

describe('copy-up', () => {
  let dir: string;
  let rootfs: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-copyup-'));
    rootfs = join(dir, 'rootfs');
    await mkdir(join(rootfs, 'srv/sub'), { recursive: true });
    await writeFile(join(rootfs, 'srv/a.txt'), 'a\n');
    await writeFile(join(rootfs, 'srv/sub/b.txt'), 'b\n');
    await chmod(join(rootfs, 'srv'), 0o751);
    await symlink('a.txt', join(rootfs, 'srv/link'));
    await mkdir(join(dir, 'host-secret'));
    await writeFile(join(dir, 'host-secret/secret'), 'secret\n');
    await symlink(join(dir, 'host-secret'), join(rootfs, 'abs'));
    await symlink('../../../../../../..' + join(dir, 'host-secret'), join(rootfs, 'rel'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const volume = async (name: string) => {
    const area = join(dir, 'volumes', name);
    await mkdir(join(area, '_data'), { recursive: true });
    return { dataDir: join(area, '_data'), stagingDir: join(area, '_copyup') };
  };

  it('renames a staged copy onto the empty data directory', async () => {
    const v = await volume('staged');
    assert.equal(await copyUp({ rootfs, containerPath: '/srv', ...v }), true);
    assert.deepEqual((await readdir(v.dataDir)).sort(), ['a.txt', 'link', 'sub']);
    assert.equal((await stat(v.dataDir)).mode & 0o777, 0o751);
    assert.ok(!existsSync(v.stagingDir));
    assert.equal(await copyUp({ rootfs, containerPath: '/srv', ...v }), false, 'a volume with data is not filled again');
  });

  it('copies in place under a marker when there is no staging area', async () => {
    const v = await volume('inplace');
    assert.equal(await copyUp({ rootfs, containerPath: '/srv/', dataDir: v.dataDir }), true);
    assert.deepEqual((await readdir(v.dataDir)).sort(), ['a.txt', 'link', 'sub']);
    assert.equal(await readFile(join(v.dataDir, 'sub/b.txt'), 'utf8'), 'b\n');
  });

  it('never copies from outside the root, whatever the links say', async () => {
    for (const path of ['/abs', '/rel', '/rel/../abs', '/srv/../../../../abs']) {
      const v = await volume(`escape-${path.replace(/\W/g, '')}`);
      await copyUp({ rootfs, containerPath: path, ...v });
      assert.deepEqual(await readdir(v.dataDir), [], path);
    }
  });

  it('recovery undoes a half-done copy: staging, marker entries and staging inside', async () => {
    const v = await volume('crashed');
    await mkdir(v.stagingDir);
    await writeFile(join(v.stagingDir, 'partial'), 'x');
    await writeFile(join(v.dataDir, 'moved-in'), 'x');
    await mkdir(join(v.dataDir, '.berth-copyup-staging'));
    await writeFile(join(v.dataDir, '.berth-copyup.json'), JSON.stringify({ entries: ['moved-in', 'not-yet', '../escape'] }));
    await writeFile(join(dir, 'volumes', 'crashed', 'escape'), 'must stay');
    await recoverCopyUp(v.dataDir, v.stagingDir);
    assert.deepEqual(await readdir(v.dataDir), []);
    assert.ok(!existsSync(v.stagingDir));
    assert.ok(existsSync(join(dir, 'volumes', 'crashed', 'escape')), 'a marker entry cannot name something outside the volume');
  });
});
