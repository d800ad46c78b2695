import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { hexOf, type ContentStore } from '../content/index.js';
import { TEMP_PREFIX } from '../util/atomic-file.js';
import { unmountIfMounted } from '../util/mount.js';
import { tmpDir } from './layout.js';
import type { Catalog } from './lookup.js';

// Startup repair, after a crash or a kill -9: what a dead process was
// writing goes (tmp/, temp files, unpack snapshots, ingests), then a
// mark-and-sweep from the image records: layers, snapshots and blobs no image
// uses, and tags of images that did not survive. Runs inside the store's lock.

export interface GcContext extends Catalog {
  root: string;
  content: ContentStore;
}

export async function collectGarbage(c: GcContext): Promise<void> {
  // Half-received blobs and unpack mounts of a process that died.
  const tmp = tmpDir(c.root);
  for (const name of await readdir(tmp)) {
    const path = join(tmp, name);
    if (name.startsWith('mnt-')) await unmountIfMounted(path);
    await rm(path, { recursive: true, force: true });
  }
  for (const dir of ['', 'blobs/sha256', 'layers', 'images']) {
    for (const name of await readdir(join(c.root, dir))) {
      if (name.startsWith(TEMP_PREFIX)) await rm(join(c.root, dir, name), { force: true });
    }
  }
  // Mark: what the images use. Sweep: image records the load rejected, then
  // layers and snapshots outside the mark (leased ones kept).
  await c.images.sweep();
  const usedBlobs = c.images.configBlobs();
  for (const digest of await c.layers.sweep(c.images.usedChains())) usedBlobs.add(hexOf(digest));
  await c.content.cleanup();
  for (const b of await c.content.list()) if (!usedBlobs.has(hexOf(b.digest))) await c.content.delete(b.digest);
  await c.tags.sweep((id) => c.images.has(id));
}
