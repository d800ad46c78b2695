import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, rm, lstat, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { applyLayerNative } from './apply-native.js';
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
});
