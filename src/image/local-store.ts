import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { LocalContentStore, type ContentStore } from '../content/index.js';
import type { Compression } from '../archive/compression.js';
import { NotFoundError } from '../errors/index.js';
import type { Snapshotter } from '../snapshot/snapshotter.js';
import type { ImageDeleteResponseItem, ImageHistoryItem, ImageInspect, ImageSummary } from '../types/engine.js';
import { Mutex } from '../util/mutex.js';
import { collectGarbage } from './gc.js';
import { ImageRecords } from './image-records.js';
import type { ImageRecord, ImageStore, ImageUsers, ImportOptions, ListOptions, OciImageConfig, RemoveOptions } from './image-store.js';
import { prepareImport } from './import.js';
import { STORE_DIRS } from './layout.js';
import { LayerStore, chainIds, type ImportLayerOptions, type ImportedLayer, type LayerRecord, type PendingLayer, type UnpackOptions } from './layer-store.js';
import { listImages } from './list.js';
import { findImage, toRecord, type Catalog } from './lookup.js';
import { normalizeForStore, parseNormalizedNamed, type Reference } from './reference.js';
import { removeImage } from './rmi.js';
import { TagStore, parseTagTarget } from './tag-store.js';
import { imageHistory, imageInspect, imageSummary } from './views.js';

export { chainIds, type ImportLayerOptions, type ImportedLayer, type LayerRecord, type PendingLayer, type UnpackOptions };

// The image store berthd uses: the rooms put together behind one lock.
//   layout.ts         what lives where on disk, and the order of writes
//   layer-store.ts    layers -> snapshots (unpack, commit, leases, release)
//   image-records.ts  image records beside their config blobs
//   tag-store.ts      references and tags (repositories.json)
//   lookup.ts         finding an image by reference or ID; its record
//   list.ts rmi.ts views.ts import.ts gc.ts   docker images, rmi, inspect/history, import, startup repair
// Blobs are the content store's (src/content). Check-then-act sequences run
// under the one mutex; long work (receiving and unpacking a layer) outside it.

export interface CreateImageOptions {
  /** repo[:tag] to point at the new image. */
  reference?: string;
  /** repo@sha256:… (the manifest digest a pull fetched) to record as a RepoDigest. */
  repoDigest?: string;
  /** The config exactly as received; the image ID is its digest. */
  configBytes?: Uint8Array;
  /** ID of the image this one was built on (builder, commit). */
  parent?: string;
}

export class LocalImageStore implements ImageStore {
  /** Where blobs live: configs and layer tars by digest. */
  readonly content: ContentStore;
  private readonly mutex = new Mutex();
  private readonly images: ImageRecords;
  private readonly layers: LayerStore;
  private readonly tags: TagStore;
  private loading: Promise<void> | undefined;

  constructor(
    readonly root: string,
    private readonly snapshotter: Snapshotter,
    private readonly imageUsers: ImageUsers,
    content?: ContentStore,
  ) {
    this.content = content ?? new LocalContentStore(root);
    this.images = new ImageRecords(root, this.content);
    this.layers = new LayerStore(root, snapshotter, this.content, this.mutex);
    this.tags = new TagStore(root);
  }

  private get catalog(): Catalog {
    return { images: this.images, tags: this.tags, layers: this.layers };
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    return this.mutex.run(fn);
  }

  private load(): Promise<void> {
    this.loading ??= (async () => {
      for (const d of STORE_DIRS) await mkdir(join(this.root, d), { recursive: true, mode: 0o700 });
      await this.layers.load();
      await this.images.load();
      await this.tags.load((id) => this.images.has(id));
    })();
    return this.loading;
  }

  // ---- lookups -----------------------------------------------------------------

  async resolve(ref: string): Promise<ImageRecord> {
    await this.load();
    return toRecord(this.catalog, findImage(this.catalog, ref));
  }

  async get(id: string): Promise<ImageRecord | undefined> {
    await this.load();
    const img = this.images.get(id);
    return img && toRecord(this.catalog, img);
  }

  async list(opts: ListOptions = {}): Promise<ImageRecord[]> {
    await this.load();
    return listImages(this.catalog, opts);
  }

  // ---- layers --------------------------------------------------------------------

  /**
   * Receives one layer tar (plain or compressed): keeps the blob, unpacks it
   * into a snapshot committed under its chain ID (unless that layer exists
   * already) and records it. The layer is protected from removal until the
   * returned release() is called, normally after createImage().
   */
  async importLayer(body: Readable, opts: ImportLayerOptions = {}): Promise<ImportedLayer> {
    await this.load();
    return this.layers.import(body, opts);
  }

  /** Deletes a blob no layer keeps (a failed pull's). */
  async discardBlob(digest: string): Promise<void> {
    await this.layers.discardBlob(digest);
  }

  /** Unpacks a layer tar into a snapshot of its own, to be committed bottom layer first (see LayerStore.unpack). */
  async unpackLayer(input: Readable, opts: UnpackOptions = {}): Promise<PendingLayer> {
    await this.load();
    return this.layers.unpack(input, opts);
  }

  /** Removes the layers of `chain` that no image uses and nothing holds (a failed pull's). */
  async discardLayers(chain: readonly string[]): Promise<void> {
    await this.load();
    await this.serial(async () => {
      await this.layers.releaseChain(chain, this.images.usedChains());
    });
  }

  /** Replaces the blob kept for a layer (push compresses a plain one once). */
  async setLayerBlob(chainId: string, blob: { digest: string; size: number; compression: Compression }): Promise<void> {
    await this.load();
    await this.serial(() => this.layers.setBlob(chainId, blob));
  }

  /** A layer whose snapshot is there, by chain ID (a pull skips it). */
  async layerByChain(chainId: string): Promise<LayerRecord | undefined> {
    await this.load();
    const rec = this.layers.get(chainId);
    return rec && (await this.layers.present(chainId)) ? { ...rec } : undefined;
  }

  /** Protects existing layer `chainId` from removal until release() (a pull that reuses it). */
  async holdLayer(chainId: string): Promise<ImportedLayer> {
    await this.load();
    return this.serial(() => this.layers.hold(chainId));
  }

  /** The layer record of a chain ID, for save/push. */
  async layer(chainId: string): Promise<LayerRecord | undefined> {
    await this.load();
    const rec = this.layers.get(chainId);
    return rec && { ...rec };
  }

  async layerSizes(): Promise<Map<string, number>> {
    await this.load();
    return new Map([...this.layers.all()].map((l) => [l.chainId, l.size]));
  }

  /** Blob path for a digest (configs and layer blobs), for save/push. */
  async blob(digest: string): Promise<string | undefined> {
    await this.load();
    return (await this.content.info(digest)) ? this.content.path(digest) : undefined;
  }

  // ---- images and tags -------------------------------------------------------------

  /**
   * Stores `config` as an image (its ID is the digest of the bytes stored)
   * and optionally tags it. Every layer in config.rootfs must be in the store.
   * configBytes, when given, are stored as they are (a pulled or loaded
   * image keeps the ID its registry gave it).
   */
  async createImage(config: OciImageConfig, opts: CreateImageOptions = {}): Promise<ImageRecord> {
    await this.load();
    const target = opts.reference !== undefined ? parseTagTarget(opts.reference) : undefined;
    const digestRef = opts.repoDigest !== undefined ? normalizeForStore(parseNormalizedNamed(opts.repoDigest)) : undefined;
    const bytes = opts.configBytes ? Buffer.from(opts.configBytes) : Buffer.from(JSON.stringify(config));
    if (opts.configBytes) config = JSON.parse(bytes.toString('utf8')) as OciImageConfig;
    const chain = chainIds(config.rootfs?.diff_ids ?? []);
    return this.serial(async () => {
      for (const c of chain) {
        if (!(await this.layers.present(c))) throw new NotFoundError(`layer ${c} of the image is not in the store`);
      }
      if (opts.parent !== undefined && !this.images.has(opts.parent)) throw new NotFoundError(`No such image: ${opts.parent}`);
      const img = await this.images.add(bytes, config, opts.parent);
      if (digestRef) this.tags.put(digestRef, img.meta.id);
      if (target) await this.setTag(target, img.meta.id);
      else if (digestRef) await this.tags.save();
      return toRecord(this.catalog, img);
    });
  }

  async importTarball(body: Readable, opts: ImportOptions): Promise<ImageRecord> {
    await this.load();
    // Everything that can be refused is refused before the body is read.
    const makeConfig = prepareImport(opts);
    const layer = await this.importLayer(body, opts.signal ? { signal: opts.signal } : {});
    try {
      return await this.createImage(makeConfig(layer.diffId), opts.reference !== undefined ? { reference: opts.reference } : {});
    } finally {
      layer.release();
    }
  }

  /** Points a normalised reference at `id` and persists (image record first, then tags). Inside the lock. */
  private async setTag(ref: Reference, id: string): Promise<void> {
    await this.images.tagged(id);
    this.tags.put(ref, id);
    await this.tags.save();
  }

  async tag(source: string, target: string): Promise<void> {
    await this.load();
    const ref = parseTagTarget(target);
    await this.serial(async () => {
      const img = findImage(this.catalog, source);
      await this.setTag(ref, img.meta.id);
    });
  }

  /** Records repo@digest (a push's manifest digest) for image `id`. */
  async addRepoDigest(id: string, repoDigest: string): Promise<void> {
    await this.load();
    const ref = normalizeForStore(parseNormalizedNamed(repoDigest));
    await this.serial(async () => {
      if (!this.images.has(id)) throw new NotFoundError(`No such image: ${id}`);
      this.tags.put(ref, id);
      await this.tags.save();
    });
  }

  async remove(ref: string, opts: RemoveOptions = {}): Promise<ImageDeleteResponseItem[]> {
    await this.load();
    return this.serial(() => removeImage({ ...this.catalog, imageUsers: this.imageUsers }, ref, opts));
  }

  // ---- presentation ---------------------------------------------------------------

  async history(ref: string): Promise<ImageHistoryItem[]> {
    await this.load();
    return imageHistory(this.catalog, ref);
  }

  summary(img: ImageRecord, containers: number): ImageSummary {
    return imageSummary(img, containers);
  }

  inspect(img: ImageRecord): ImageInspect {
    return imageInspect(img, this.snapshotter.name);
  }

  // ---- startup repair ------------------------------------------------------------

  async cleanup(): Promise<void> {
    await this.load();
    await this.serial(() => collectGarbage({ ...this.catalog, root: this.root, content: this.content }));
  }
}
