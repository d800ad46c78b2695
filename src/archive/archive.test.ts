import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { lstat, mkdir, mkdtemp, readFile, readdir, readlink, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { extract as tarExtract, type Header } from 'tar-stream';
import { InvalidParameterError } from '../errors/index.js';
import { applyLayer, createTarFromDir, detectCompression } from './index.js';

import { makeTar } from './testing/make-tar.js';

async function listTar(stream: Readable): Promise<Array<Header & { content: string }>> {
  const ex = tarExtract();
  stream.pipe(ex as any);
  const out: Array<Header & { content: string }> = [];
  for await (const e of ex) {
    const chunks: Buffer[] = [];
    for await (const c of e) chunks.push(c as Buffer);
    out.push({ ...e.header, content: Buffer.concat(chunks).toString() });
  }
  return out;
}

const apply = (buf: Buffer, dir: string, signal?: AbortSignal) => applyLayer(Readable.from([buf]), dir, { signal });

async function exists(p: string): Promise<boolean> {
  return lstat(p).then(() => true, () => false);
}

describe('archive', () => {
  let tmp: string;
  let n = 0;
  // Each test extracts into <tmp>/<n>/root, with <tmp>/<n>/outside as the place
  // an escape would land.
  async function fresh(): Promise<{ root: string; outside: string }> {
    const base = join(tmp, String(++n));
    await mkdir(join(base, 'root'), { recursive: true });
    await mkdir(join(base, 'outside'));
    return { root: join(base, 'root'), outside: join(base, 'outside') };
  }

  before(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'berth-archive-'));
  });
  after(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  it('extracts files, dirs, symlinks, hard links, devices with modes, owners and times', async () => {
    const { root } = await fresh();
    const mtime = new Date('2020-01-02T03:04:05Z');
    const tar = await makeTar([
      { name: 'etc/', type: 'directory', mode: 0o750, uid: 12, gid: 34, mtime },
      { name: 'etc/passwd', content: 'root:x:0:0\n', mode: 0o640, uid: 5, gid: 6, mtime },
      { name: 'bin/sh', content: '#!', mode: 0o4755, mtime },
      { name: 'etc/link', type: 'symlink', linkname: '../bin/sh', mtime },
      { name: 'bin/hard', type: 'link', linkname: 'bin/sh' },
      { name: 'dev/null', type: 'character-device', devmajor: 1, devminor: 3, mode: 0o666 },
      { name: 'run/fifo', type: 'fifo', mode: 0o600 },
    ]);
    const { size } = await apply(tar, root);
    assert.equal(size, 'root:x:0:0\n'.length + 2);
    const etc = await stat(join(root, 'etc'));
    assert.equal(etc.mode & 0o7777, 0o750);
    assert.equal(etc.uid, 12);
    assert.equal(etc.gid, 34);
    assert.equal(etc.mtime.getTime(), mtime.getTime(), 'directory mtime survives its children');
    const passwd = await stat(join(root, 'etc/passwd'));
    assert.equal(passwd.mode & 0o7777, 0o640);
    assert.equal(passwd.uid, 5);
    assert.equal(await readFile(join(root, 'etc/passwd'), 'utf8'), 'root:x:0:0\n');
    assert.equal((await stat(join(root, 'bin/sh'))).mode & 0o7777, 0o4755, 'setuid kept after chown');
    assert.equal(await readlink(join(root, 'etc/link')), '../bin/sh');
    assert.equal((await lstat(join(root, 'etc/link'))).mtime.getTime(), mtime.getTime());
    assert.equal((await stat(join(root, 'bin/hard'))).ino, (await stat(join(root, 'bin/sh'))).ino);
    const dev = await lstat(join(root, 'dev/null'));
    assert.ok(dev.isCharacterDevice());
    assert.equal(dev.rdev, (1 << 8) | 3);
    assert.ok((await lstat(join(root, 'run/fifo'))).isFIFO());
    assert.equal((await stat(join(root, 'run'))).mode & 0o777, 0o755, 'missing parents are made 0755');
  });

  it('detects gzip (and other compressions) by magic bytes', async () => {
    const { root } = await fresh();
    const tar = await makeTar([{ name: 'a.txt', content: 'gz' }]);
    assert.equal(detectCompression(gzipSync(tar)), 'gzip');
    assert.equal(detectCompression(tar), 'none');
    await apply(gzipSync(tar), root);
    assert.equal(await readFile(join(root, 'a.txt'), 'utf8'), 'gz');
    const zst = execFileSync('zstd', ['-c', '-q'], { input: await makeTar([{ name: 'b.txt', content: 'zs' }]) });
    assert.equal(detectCompression(zst), 'zstd');
    await apply(zst, root);
    assert.equal(await readFile(join(root, 'b.txt'), 'utf8'), 'zs');
  });

  it('refuses ../ that escapes, naming the entry', async () => {
    const { root, outside } = await fresh();
    const tar = await makeTar([{ name: '../outside/escape', content: 'x' }]);
    await assert.rejects(apply(tar, root), (err: Error) => err instanceof InvalidParameterError && err.message.includes('../outside/escape'));
    assert.deepEqual(await readdir(outside), []);
    const tar2 = await makeTar([{ name: 'a/../../outside/escape', content: 'x' }]);
    await assert.rejects(apply(tar2, root), InvalidParameterError);
    assert.deepEqual(await readdir(outside), []);
  });

  it('takes absolute names relative to the target, and refuses /.. escapes', async () => {
    const { root, outside } = await fresh();
    await apply(await makeTar([{ name: `${outside}/abs`, content: 'x' }, { name: '/abs', content: 'y' }]), root);
    assert.deepEqual(await readdir(outside), []);
    assert.equal(await readFile(join(root, outside, 'abs'), 'utf8'), 'x');
    assert.equal(await readFile(join(root, 'abs'), 'utf8'), 'y');
    await assert.rejects(apply(await makeTar([{ name: '/../abs', content: 'x' }]), root), InvalidParameterError);
  });

  it('never writes through a symlink to /', async () => {
    const { root, outside } = await fresh();
    const tar = await makeTar([
      { name: 'link', type: 'symlink', linkname: '/' },
      { name: `link${outside}/x`, content: 'x' },
      { name: 'link/etc/x', content: 'x' },
    ]);
    await apply(tar, root);
    assert.deepEqual(await readdir(outside), []);
    assert.equal(await readFile(join(root, outside, 'x'), 'utf8'), 'x');
    assert.equal(await readFile(join(root, 'etc/x'), 'utf8'), 'x');
    assert.equal(await readlink(join(root, 'link')), '/', 'the link itself is kept');
  });

  it('never writes through a relative symlink that climbs out', async () => {
    const { root, outside } = await fresh();
    const tar = await makeTar([
      { name: 'd/', type: 'directory' },
      { name: 'd/up', type: 'symlink', linkname: '../../..' },
      { name: 'd/up/outside/x', content: 'x' },
      { name: 'chain1', type: 'symlink', linkname: 'chain2' },
      { name: 'chain2', type: 'symlink', linkname: '../outside' },
      { name: 'chain1/y', content: 'y' },
    ]);
    await apply(tar, root);
    assert.deepEqual(await readdir(outside), []);
    assert.equal(await readFile(join(root, 'outside/x'), 'utf8'), 'x');
    assert.equal(await readFile(join(root, 'outside/y'), 'utf8'), 'y');
  });

  it('replaces (never follows) a symlink already in the target', async () => {
    const { root, outside } = await fresh();
    await writeFile(join(outside, 'victim'), 'safe');
    await symlink(join(outside, 'victim'), join(root, 'file'));
    await symlink(outside, join(root, 'dir'));
    await apply(await makeTar([{ name: 'file', content: 'new' }, { name: 'dir/victim', content: 'pwned' }]), root);
    assert.equal(await readFile(join(outside, 'victim'), 'utf8'), 'safe');
    assert.ok((await lstat(join(root, 'file'))).isFile());
    assert.equal(await readFile(join(root, 'file'), 'utf8'), 'new');
    assert.equal(await readFile(join(root, outside, 'victim'), 'utf8'), 'pwned');
  });

  it('keeps hard links inside the target', async () => {
    const { root, outside } = await fresh();
    await writeFile(join(outside, 'secret'), 's');
    await assert.rejects(apply(await makeTar([{ name: 'h', type: 'link', linkname: '../outside/secret' }]), root), (err: Error) =>
      err instanceof InvalidParameterError && err.message.includes('hard link target'));
    // Through a symlink to outside: resolved chrooted, so it does not exist.
    await symlink(outside, join(root, 'out'));
    await assert.rejects(apply(await makeTar([{ name: 'h', type: 'link', linkname: 'out/secret' }]), root), /does not exist/);
    assert.equal((await stat(join(outside, 'secret'))).nlink, 1);
  });

  it('applies whiteouts and opaque directories to what earlier layers left', async () => {
    const { root } = await fresh();
    await apply(await makeTar([
      { name: 'a/', type: 'directory' },
      { name: 'a/old1', content: '1' },
      { name: 'a/sub/old2', content: '2' },
      { name: 'b/', type: 'directory' },
      { name: 'b/keep', content: 'k' },
      { name: 'b/gone/deep', content: 'd' },
      { name: 'c', content: 'c' },
    ]), root);
    await apply(await makeTar([
      { name: 'a/', type: 'directory' },
      { name: 'a/.wh..wh..opq', content: '' },
      { name: 'a/new', content: 'n' },
      { name: 'b/.wh.gone', content: '' },
      { name: '.wh.c', content: '' },
      { name: '.wh.missing', content: '' },
      { name: 'b/.wh..wh.plnk', content: '' },
    ]), root);
    assert.deepEqual((await readdir(join(root, 'a'))).sort(), ['new']);
    assert.deepEqual((await readdir(join(root, 'b'))).sort(), ['keep']);
    assert.equal(await exists(join(root, 'c')), false);
    assert.equal(await exists(join(root, '.wh.missing')), false);
  });

  it('an opaque marker after the layer\'s own children keeps them', async () => {
    const { root } = await fresh();
    await apply(await makeTar([{ name: 'a/old', content: 'o' }, { name: 'a/x/lower', content: 'l' }]), root);
    await apply(await makeTar([
      { name: 'a/new', content: 'n' },
      { name: 'a/x/upper', content: 'u' },
      { name: 'a/.wh..wh..opq', content: '' },
    ]), root);
    assert.deepEqual((await readdir(join(root, 'a'))).sort(), ['new', 'x']);
    assert.deepEqual(await readdir(join(root, 'a/x')), ['upper']);
  });

  it('a whiteout cannot reach outside through a symlink', async () => {
    const { root, outside } = await fresh();
    await writeFile(join(outside, 'keep'), 'k');
    await symlink(outside, join(root, 'o'));
    await apply(await makeTar([{ name: 'o/.wh.keep', content: '' }, { name: 'o/.wh..wh..opq', content: '' }]), root);
    assert.deepEqual(await readdir(outside), ['keep']);
  });

  it('replaces a file with a directory and a directory with a file', async () => {
    const { root } = await fresh();
    await apply(await makeTar([{ name: 'x', content: 'f' }, { name: 'y/z', content: 'z' }]), root);
    await apply(await makeTar([{ name: 'x/', type: 'directory' }, { name: 'y', content: 'now a file' }]), root);
    assert.ok((await lstat(join(root, 'x'))).isDirectory());
    assert.equal(await readFile(join(root, 'y'), 'utf8'), 'now a file');
  });

  it('takes xattrs from PAX headers where setfattr exists, and never fails on them', async () => {
    const { root } = await fresh();
    const tar = await makeTar([
      { name: 'x', content: 'x', pax: { 'SCHILY.xattr.user.berth': 'hello', 'SCHILY.xattr.trusted.overlay.opaque': 'y' } },
    ]);
    await apply(tar, root);
    assert.equal(await readFile(join(root, 'x'), 'utf8'), 'x');
    let getfattr = true;
    try {
      execFileSync('getfattr', ['--version'], { stdio: 'ignore' });
    } catch {
      getfattr = false;
    }
    if (getfattr) {
      const out = execFileSync('getfattr', ['-d', '-m', '-', join(root, 'x')], { encoding: 'utf8' });
      assert.match(out, /user\.berth="hello"/);
      assert.doesNotMatch(out, /trusted\.overlay/);
    }
  });

  it('stops on abort', async () => {
    const { root } = await fresh();
    const ac = new AbortController();
    ac.abort(new Error('client went away'));
    await assert.rejects(apply(await makeTar([{ name: 'a', content: 'a' }]), root, ac.signal), /client went away/);
  });

  it('fails cleanly on a corrupt stream', async () => {
    const { root } = await fresh();
    const tar = await makeTar([{ name: 'a', content: randomBytes(20000).toString('hex') }]);
    await assert.rejects(apply(gzipSync(tar).subarray(0, 5000), root), /unexpected end of file/);
    await assert.rejects(apply(tar.subarray(0, 5000), root), /Unexpected end/i);
    await assert.rejects(apply(Buffer.from('this is not a tar archive at all'.repeat(40)), root));
  });

  it('createTarFromDir round-trips a tree', async () => {
    const { root } = await fresh();
    const mtime = new Date('2021-05-06T07:08:09Z');
    await apply(await makeTar([
      { name: 'd/', type: 'directory', mode: 0o711, uid: 3, gid: 4, mtime },
      { name: 'd/f', content: 'hello', mode: 0o600, uid: 7, gid: 8, mtime },
      { name: 'd/h', type: 'link', linkname: 'd/f' },
      { name: 's', type: 'symlink', linkname: 'd/f' },
      { name: 'dev/tty', type: 'character-device', devmajor: 5, devminor: 0, mode: 0o666 },
      { name: 'p', type: 'fifo' },
    ]), root);
    const entries = await listTar(createTarFromDir(root));
    const byName = new Map(entries.map((e) => [e.name, e]));
    assert.deepEqual([...byName.keys()], ['d/', 'd/f', 'd/h', 'dev/', 'dev/tty', 'p', 's']);
    assert.equal(byName.get('d/')!.mode, 0o711);
    assert.equal(byName.get('d/f')!.content, 'hello');
    assert.equal(byName.get('d/f')!.uid, 7);
    assert.equal(byName.get('d/f')!.mtime.getTime(), mtime.getTime());
    assert.equal(byName.get('d/h')!.type, 'link');
    assert.equal(byName.get('d/h')!.linkname, 'd/f');
    assert.equal(byName.get('s')!.linkname, 'd/f');
    assert.equal(byName.get('dev/tty')!.devmajor, 5);
    const copy = (await fresh()).root;
    await applyLayer(createTarFromDir(root), copy);
    assert.equal(await readFile(join(copy, 'd/f'), 'utf8'), 'hello');
    assert.equal((await stat(join(copy, 'd'))).mode & 0o7777, 0o711);
    assert.equal((await stat(join(copy, 'd/h'))).ino, (await stat(join(copy, 'd/f'))).ino);
  });

  it('createTarFromDir turns overlay whiteouts into .wh. entries when asked', async () => {
    const { root } = await fresh();
    await mkdir(join(root, 'a'));
    execFileSync('mknod', [join(root, 'a/gone'), 'c', '0', '0']);
    const names = (await listTar(createTarFromDir(root, { whiteouts: 'overlay' }))).map((e) => e.name);
    assert.deepEqual(names, ['a/', 'a/.wh.gone']);
  });
});
