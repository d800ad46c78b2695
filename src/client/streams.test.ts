import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { copyMultiplexed, FrameDecoder, readJsonLines } from './streams.js';

function frame(stream: number, text: string): Buffer {
  const payload = Buffer.from(text);
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
}

describe('FrameDecoder (8-byte-header multiplexed stream)', () => {
  it('decodes frames split anywhere across chunks', () => {
    const all = Buffer.concat([frame(1, 'hello '), frame(2, 'oops'), frame(1, 'world'), frame(0, '')]);
    for (let cut = 1; cut < all.length; cut++) {
      const got: Array<[number, string]> = [];
      const d = new FrameDecoder((s, p) => got.push([s, p.toString()]));
      d.push(all.subarray(0, cut));
      d.push(all.subarray(cut));
      assert.deepEqual(got, [[1, 'hello '], [2, 'oops'], [1, 'world'], [0, '']], `cut at ${cut}`);
      assert.equal(d.buffered, 0);
    }
  });

  it('reports the daemon\'s in-stream error and unknown stream ids', () => {
    const d = new FrameDecoder(() => {});
    assert.throws(() => d.push(frame(3, 'disk full')), { message: 'error from daemon in stream: disk full' });
    assert.throws(() => new FrameDecoder(() => {}).push(frame(7, 'x')), { message: 'Unrecognized input header: 7' });
  });
});

describe('copyMultiplexed', () => {
  it('sends stdout and stdin frames to stdout, stderr frames to stderr', async () => {
    const source = new PassThrough();
    let out = '';
    let err = '';
    const done = copyMultiplexed(source, { stdout: (d) => (out += d), stderr: (d) => (err += d) });
    source.write(frame(1, 'a'));
    source.write(Buffer.concat([frame(2, 'b'), frame(0, 'c')]).subarray(0, 10));
    source.end(Buffer.concat([frame(2, 'b'), frame(0, 'c')]).subarray(10));
    await done;
    assert.equal(out, 'ac');
    assert.equal(err, 'b');
  });
});

describe('readJsonLines', () => {
  it('parses one value per line across chunk boundaries', async () => {
    async function* chunks() {
      yield '{"status":"a"}\n{"sta';
      yield 'tus":"b"}\n\n';
      yield '{"status":"c"}';
    }
    const got: string[] = [];
    for await (const m of readJsonLines<{ status: string }>(chunks())) got.push(m.status);
    assert.deepEqual(got, ['a', 'b', 'c']);
  });
});
