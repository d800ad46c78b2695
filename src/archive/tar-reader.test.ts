import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, symlinkSync, writeFileSync, linkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeTar } from './testing/make-tar.js';
import { TarReader, TarFormatError, type TarEntryHeader } from './tar-reader.js';

interface Seen extends TarEntryHeader {
  content: string;
}

/** Reads `tar` fed in chunks of `chunk` bytes. */
function read(tar: Buffer, chunk = 7): Seen[] {
  const out: Seen[] = [];
  let current: Seen | undefined;
  const r = new TarReader({
    entry: (h) => {
      current = { ...h, content: '' };
      out.push(current);
    },
    data: (c) => {
      current!.content += c.toString('latin1');
    },
    end: () => {
      current = undefined;
    },
  });
  for (let i = 0; i < tar.length; i += chunk) r.push(tar.subarray(i, i + chunk));
  r.finish();
  return out;
}

describe('tar reader', () => {
  it('reads files, directories, links and PAX long names whatever the chunking', async () => {
    const long = `${'d'.repeat(120)}/${'f'.repeat(130)}`;
    const tar = await makeTar([
      { name: 'dir/', type: 'directory', mode: 0o750 },
      { name: 'dir/a.txt', content: 'alpha', mode: 0o640, mtime: new Date('2021-05-06T07:08:09Z') },
      { name: long, content: 'long one' },
      { name: 'sym', type: 'symlink', linkname: `/target/${'x'.repeat(150)}` },
      { name: 'hard', type: 'link', linkname: 'dir/a.txt' },
      { name: 'empty', content: '' },
    ]);
    for (const chunk of [1, 7, 512, 100_000]) {
      const seen = read(tar, chunk);
      assert.deepEqual(seen.map((e) => [e.name, e.type, e.content]), [
        ['dir/', 'directory', ''],
        ['dir/a.txt', 'file', 'alpha'],
        [long, 'file', 'long one'],
        ['sym', 'symlink', ''],
        ['hard', 'link', ''],
        ['empty', 'file', ''],
      ]);
      assert.equal(seen[0]!.mode, 0o750);
      assert.equal(seen[1]!.mode, 0o640);
      assert.equal(seen[1]!.mtime.toISOString(), '2021-05-06T07:08:09.000Z');
      assert.equal(seen[3]!.linkname, `/target/${'x'.repeat(150)}`);
      assert.equal(seen[4]!.linkname, 'dir/a.txt');
    }
  });

  it('reads what GNU tar writes in gnu, posix and ustar formats', () => {
    const dir = mkdtempSync(join(tmpdir(), 'berth-tar-reader-'));
    try {
      const src = join(dir, 'src');
      const deep = join(src, 'x'.repeat(60), 'y'.repeat(60));
      mkdirSync(deep, { recursive: true });
      writeFileSync(join(deep, 'z'.repeat(40)), 'deep file\n');
      writeFileSync(join(src, 'plain'), 'plain\n');
      symlinkSync('plain', join(src, 'link'));
      linkSync(join(src, 'plain'), join(src, 'hard'));
      for (const format of ['gnu', 'posix', 'ustar']) {
        const tar = execFileSync('tar', ['-C', src, `--format=${format}`, '--sort=name', '-cf', '-', '.']);
        const seen = read(tar, 4096);
        const byName = new Map(seen.map((e) => [e.name.replace(/^\.\//, ''), e]));
        const deepName = `${'x'.repeat(60)}/${'y'.repeat(60)}/${'z'.repeat(40)}`;
        assert.equal(byName.get(deepName)?.content, 'deep file\n', `${format}: long path`);
        assert.equal(byName.get(`${'x'.repeat(60)}/`)?.type, 'directory', format);
        assert.equal(byName.get('link')?.type, 'symlink', format);
        assert.equal(byName.get('link')?.linkname, 'plain', format);
        const hard = [byName.get('hard'), byName.get('plain')];
        assert.deepEqual(hard.map((e) => e?.type).sort(), ['file', 'link'], `${format}: one of the pair is a hard link`);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('forgives a missing end of archive and padding, not an entry cut short or a bad checksum', async () => {
    const tar = await makeTar([{ name: 'f', content: 'x'.repeat(700) }]);
    // Header + 700 bytes, without the padding and the two zero blocks.
    assert.equal(read(tar.subarray(0, 512 + 700))[0]!.content.length, 700);
    assert.throws(() => read(tar.subarray(0, 512 + 699)), TarFormatError);
    assert.throws(() => read(tar.subarray(0, 300)), TarFormatError);
    const bad = Buffer.from(tar);
    bad[0] = 'g'.charCodeAt(0);
    assert.throws(() => read(bad), /checksum/);
  });

  it('treats old-style names ending in "/" as directories and skips devices with their data', async () => {
    const tar = await makeTar([
      { name: 'old/', type: 'file' },
      { name: 'fifo', type: 'fifo' },
      { name: 'after', content: 'still read' },
    ]);
    const seen = read(tar);
    assert.deepEqual(seen.map((e) => [e.name, e.type]), [['old/', 'directory'], ['after', 'file']]);
    assert.equal(seen[1]!.content, 'still read');
  });
});
