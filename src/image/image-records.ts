import { readdir, rm, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { hexOf, sha256Of, type ContentStore } from '../content/index.js';
import { writeJsonAtomic } from '../util/atomic-file.js';
import type { OciImageConfig } from './image-store.js';
import { RECORD_NAME, imagePath, isMissing, readJson } from './layout.js';
import { chainIds } from './layer-store.js';

// Image records: images/<id hex>.json (parent, last tag time) beside the
// config blob whose digest is the image ID. The record is an image's commit
// point: written after its layers and config, removed before them. Tags are
// not kept here (tag-store.ts).

export interface ImageMeta {
  id: string;
  parent?: string;
  lastTagTime?: string;
}

export interface Image {
  meta: ImageMeta;
  config: OciImageConfig;
  /** Chain IDs of its layers, bottom to top. */
  chainIds: string[];
}

export class ImageRecords {
  private readonly images = new Map<string, Image>();

  constructor(
    private readonly root: string,
    private readonly content: ContentStore,
  ) {}

  async load(): Promise<void> {
    for (const name of await readdir(join(this.root, 'images'))) {
      if (!RECORD_NAME.test(name)) continue;
      const meta = await readJson<ImageMeta>(join(this.root, 'images', name));
      if (!meta || meta.id !== `sha256:${name.slice(0, 64)}`) continue;
      const bytes = await this.content.read(meta.id).catch(() => undefined);
      // An image is only as good as its config: a record without one is garbage.
      if (!bytes || sha256Of(bytes) !== meta.id) continue;
      const config = JSON.parse(bytes.toString('utf8')) as OciImageConfig;
      this.images.set(meta.id, { meta, config, chainIds: chainIds(config.rootfs?.diff_ids ?? []) });
    }
  }

  get(id: string): Image | undefined {
    return this.images.get(id);
  }

  has(id: string): boolean {
    return this.images.has(id);
  }

  ids(): IterableIterator<string> {
    return this.images.keys();
  }

  values(): IterableIterator<Image> {
    return this.images.values();
  }

  childrenOf(id: string): string[] {
    return [...this.images.values()].filter((i) => i.meta.parent === id).map((i) => i.meta.id);
  }

  /** Every chain ID some image uses. */
  usedChains(): Set<string> {
    const used = new Set<string>();
    for (const img of this.images.values()) for (const c of img.chainIds) used.add(c);
    return used;
  }

  /** Stores config `bytes` and the record of image sha256(bytes) (kept if it exists); its layers must be in the store. */
  async add(bytes: Buffer, config: OciImageConfig, parent?: string): Promise<Image> {
    const id = sha256Of(bytes);
    let img = this.images.get(id);
    if (!img) {
      await this.content.put(bytes);
      const meta: ImageMeta = { id };
      if (parent !== undefined) meta.parent = parent;
      await writeJsonAtomic(imagePath(this.root, id), meta);
      img = { meta, config, chainIds: chainIds(config.rootfs?.diff_ids ?? []) };
      this.images.set(id, img);
    }
    return img;
  }

  /** Notes that a tag just moved to image `id` (before the tag itself is saved). */
  async tagged(id: string): Promise<void> {
    const img = this.images.get(id)!;
    img.meta = { ...img.meta, lastTagTime: new Date().toISOString() };
    await writeJsonAtomic(imagePath(this.root, id), img.meta);
  }

  /** Removes the record (the commit point), then the config blob. */
  async delete(id: string): Promise<void> {
    await unlink(imagePath(this.root, id)).catch((err) => {
      if (!isMissing(err)) throw err;
    });
    this.images.delete(id);
    await this.content.delete(id).catch(() => {});
  }

  /** Startup sweep: record files that load() rejected. */
  async sweep(): Promise<void> {
    for (const name of await readdir(join(this.root, 'images'))) {
      if (RECORD_NAME.test(name) && !this.images.has(`sha256:${name.slice(0, 64)}`)) await rm(join(this.root, 'images', name), { force: true });
    }
  }

  /** The config blobs the images keep (hex digests). */
  configBlobs(): Set<string> {
    return new Set([...this.images.keys()].map(hexOf));
  }
}
