import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, rm, lstat, readFile, writeFile, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { spawnSync } from 'node:child_process';
import { applyLayerNative } from './apply-native.js';
import { teeToFile } from './tap.js';
import { makeTar } from './testing/make-tar.js';
import { InvalidParameterError } from '../errors/index.js';

// GNU tar extraction of one layer (gzip through igzip | tee | tar where
// installed, else through this process): diff ID, size, whiteouts, refusals.

const dirs: string[] = [];
async function target(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'berth-native-'));
  dirs.push(d);
  return d;
}
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

describe('applyLayerNative', () => {
  for (const compress of [true, false]) {
    it(`${compress ? 'gzip' : 'plain'}: diff ID of the plain tar, size of the files (a hard link once), whiteouts converted`, async () => {
      const tar = await makeTar([
        { name: 'a/', type: 'directory' },
        { name: 'a/f', content: 'x'.repeat(1000) },
        { name: 'a/link', type: 'link', linkname: 'a/f' },
        { name: 'a/.wh.gone', content: '' },
        { name: 'b/', type: 'directory' },
        { name: 'b/.wh..wh..opq', content: '' },
        { name: 'b/g', content: 'yy' },
      ]);
      const dir = await target();
      const r = await applyLayerNative(Readable.from([compress ? gzipSync(tar) : tar]), dir);
      assert.equal(r.diffId, sha(tar));
      assert.equal(r.size, 1002);
      assert.equal(r.compression, compress ? 'gzip' : 'none');
      assert.equal(await readFile(join(dir, 'a/f'), 'utf8'), 'x'.repeat(1000));
      const gone = await lstat(join(dir, 'a/gone'));
      assert.ok(gone.isCharacterDevice() && gone.rdev === 0, 'a whiteout is a 0/0 device');
      await assert.rejects(lstat(join(dir, 'b/.wh..wh..opq')));
    });
  }

  it('a corrupt gzip layer is refused with the decoder\'s error', async () => {
    const gz = gzipSync(await makeTar([{ name: 'f', content: 'z'.repeat(5000) }]));
    gz.fill(7, 30, 60);
    await assert.rejects(applyLayerNative(Readable.from([gz]), await target()), (err: Error) => err instanceof InvalidParameterError || /tar|igzip|gzip/i.test(err.message));
  });

  it('a member with .. is refused', async () => {
    const gz = gzipSync(await makeTar([{ name: '../escape', content: 'no' }]));
    const dir = await target();
    await assert.rejects(applyLayerNative(Readable.from([gz]), join(dir)), /refusing to extract the layer/);
    await assert.rejects(lstat(join(dir, '..', 'escape')));
  });

  it('an abort stops the extraction', async () => {
    const ac = new AbortController();
    const gz = gzipSync(await makeTar([{ name: 'f', content: 'z'.repeat(5000) }]));
    const input = new Readable({ read() {} });
    input.push(gz.subarray(0, 20));
    const p = applyLayerNative(input, await target(), ac.signal);
    setTimeout(() => ac.abort(new Error('stopped')), 100);
    await assert.rejects(p, /stopped/);
  });

  for (const compress of [true, false]) {
    it(`${compress ? 'gzip' : 'plain'}: with blobPath the input is kept as it came, whole, in that file`, async () => {
      // Several chunks, and a tail after the tar's end blocks that a reader may never ask for.
      const tar = await makeTar([{ name: 'd/', type: 'directory' }, { name: 'd/f', content: 'q'.repeat(300_000) }]);
      const body = Buffer.concat([compress ? gzipSync(tar) : tar, compress ? Buffer.alloc(0) : Buffer.alloc(8192)]);
      const chunks = [body.subarray(0, 2), body.subarray(2, 70_000), body.subarray(70_000)];
      const dir = await target();
      const blobDir = await target();
      const r = await applyLayerNative(Readable.from(chunks), dir, undefined, { blobPath: join(blobDir, 'blob') });
      assert.equal(r.diffId, sha(compress ? tar : body));
      assert.ok((await readFile(join(blobDir, 'blob'))).equals(body), 'the file holds exactly the input');
      assert.equal(await readFile(join(dir, 'd/f'), 'utf8'), 'q'.repeat(300_000));
    });
  }

  for (const compress of [true, false]) {
    it(`${compress ? 'gzip' : 'plain'}: data after the tar's end marker is read to the end (diff ID of the whole stream), as dockerd drains it`, async () => {
      const tar = Buffer.concat([await makeTar([{ name: 'f', content: 'x' }]), Buffer.alloc(3 << 20)]);
      const body = compress ? gzipSync(tar) : tar;
      const blobDir = await target();
      const chunks = Array.from({ length: Math.ceil(body.length / 65536) }, (_, i) => body.subarray(i * 65536, (i + 1) * 65536));
      const r = await applyLayerNative(Readable.from(chunks), await target(), undefined, { blobPath: join(blobDir, 'blob') });
      assert.equal(r.diffId, sha(tar));
      assert.ok((await readFile(join(blobDir, 'blob'))).equals(body));
    });
  }

  it('the gzip pipeline runs no shell start-up file (bash --norc), even with a socket for stdin and SHLVL unset', async (t) => {
    if (spawnSync('sh', ['-c', 'command -v igzip && command -v openssl']).status !== 0) return t.skip('igzip or openssl not installed: no pipeline');
    const home = await target();
    const marker = join(home, 'sourced');
    await writeFile(join(home, '.bashrc'), `touch ${marker}\n`);
    const saved = { HOME: process.env.HOME, SHLVL: process.env.SHLVL };
    process.env.HOME = home;
    delete process.env.SHLVL;
    try {
      const tar = await makeTar([{ name: 'f', content: 'x' }]);
      const r = await applyLayerNative(Readable.from([gzipSync(tar)]), await target());
      assert.equal(r.diffId, sha(tar));
    } finally {
      for (const [k, v] of Object.entries(saved)) if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    assert.deepEqual(await readdir(home), ['.bashrc'], '~/.bashrc was not run');
  });
});

describe('teeToFile', () => {
  it('gives the consumer the bytes and the file all of them, also when the consumer stops early', async () => {
    const data = Buffer.alloc(1 << 20, 'abcdefgh');
    const chunks = Array.from({ length: 16 }, (_, i) => data.subarray(i * 65536, (i + 1) * 65536));
    const path = join(await target(), 'copy');
    const { stream, written } = teeToFile(Readable.from(chunks), path);
    // The consumer takes a little, then is done with it.
    const first = await new Promise<Buffer>((resolve) => stream.once('data', (c: Buffer) => resolve(c)));
    stream.destroy();
    await written;
    assert.equal(first.length, 65536);
    assert.ok((await readFile(path)).equals(data));
  });

  it('fails both sides when the input fails', async () => {
    const input = new Readable({ read() {} });
    input.push(Buffer.from('part'));
    const path = join(await target(), 'copy');
    const { stream, written } = teeToFile(input, path);
    const consumed = (async () => {
      for await (const _ of stream) void _;
    })();
    setTimeout(() => input.destroy(new Error('connection reset')), 20);
    await assert.rejects(written, /connection reset/);
    await assert.rejects(consumed, /connection reset/);
  });
});
