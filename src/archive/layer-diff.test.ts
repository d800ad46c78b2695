import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { extract } from 'tar-stream';
import type { Readable } from 'node:stream';
import { mountAll, unmountIfMounted } from '../util/mount.js';
import { diffTrees, diffUpperDir } from './layer-diff.js';

async function entries(tar: Readable): Promise<string[]> {
  const ex = extract();
  const names: string[] = [];
  const done = (async () => {
    for await (const e of ex) {
      names.push(e.header.name);
      e.resume();
    }
  })();
  tar.pipe(ex);
  await done;
  return names;
}

describe('build step layers', () => {
  it('an overlay upper dir: whiteouts, opaque directories, no runtime stubs, unchanged parents left out', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'berth-layerdiff-'));
    const [lower, upper, work, merged] = ['lower', 'upper', 'work', 'merged'].map((n) => join(dir, n)) as [string, string, string, string];
    try {
      for (const d of [lower, upper, work, merged, join(lower, 'gone'), join(lower, 'remade'), join(lower, 'etc'), join(lower, 'keep')]) await mkdir(d, { recursive: true });
      await writeFile(join(lower, 'gone', 'file'), 'x');
      await writeFile(join(lower, 'remade', 'old'), 'x');
      await writeFile(join(lower, 'keep', 'same'), 'x');
      await mountAll([{ type: 'overlay', source: 'overlay', options: [`lowerdir=${lower}`, `upperdir=${upper}`, `workdir=${work}`] }], merged);
      try {
        await rm(join(merged, 'gone', 'file'));
        await rm(join(merged, 'remade'), { recursive: true });
        await mkdir(join(merged, 'remade'));
        await writeFile(join(merged, 'remade', 'new'), 'y');
        await writeFile(join(merged, 'etc', 'hosts'), ''); // what a runtime bind-mount stub looks like
        await mkdir(join(merged, 'proc'));
        await writeFile(join(merged, 'added'), 'z');
      } finally {
        await unmountIfMounted(merged);
      }
      const names = await entries(diffUpperDir(upper, { lowers: [lower] }));
      assert.deepEqual(names, ['added', 'gone/', 'gone/.wh.file', 'remade/', 'remade/.wh..wh..opq', 'remade/new']);
    } finally {
      await unmountIfMounted(merged).catch(() => {});
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('two full trees: new and changed entries, whiteouts for what went', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'berth-treediff-'));
    try {
      const lower = join(dir, 'lower');
      const upper = join(dir, 'upper');
      for (const d of [join(lower, 'a'), join(upper, 'a'), join(lower, 'b')]) await mkdir(d, { recursive: true });
      await writeFile(join(lower, 'a', 'same'), 'x');
      await writeFile(join(lower, 'a', 'changed'), 'x');
      await writeFile(join(lower, 'b', 'f'), 'x');
      const { cp, utimes } = await import('node:fs/promises');
      await cp(join(lower, 'a', 'same'), join(upper, 'a', 'same'), { preserveTimestamps: true });
      const t = new Date('2024-01-01T00:00:00Z');
      await utimes(join(lower, 'a', 'same'), t, t);
      await utimes(join(upper, 'a', 'same'), t, t);
      await writeFile(join(upper, 'a', 'changed'), 'longer');
      await writeFile(join(upper, 'new'), 'n');
      const names = await entries(diffTrees(upper, lower));
      assert.deepEqual(names, ['.wh.b', 'a/', 'a/changed', 'new']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
