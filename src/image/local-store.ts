import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, readdir, rm, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { LocalContentStore, sha256Of, type ContentStore } from '../content/index.js';
import { applyLayer } from '../archive/apply.js';
import { decompress, type Compression } from '../archive/compression.js';
import { ConflictError, InvalidParameterError, NotFoundError, errorMessage } from '../errors/index.js';
import type { Snapshotter } from '../snapshot/snapshotter.js';
import type { ImageDeleteResponseItem, ImageHistoryItem, ImageInspect, ImageSummary } from '../types/engine.js';
import { TEMP_PREFIX, writeJsonAtomic } from '../util/atomic-file.js';
import { mountAll, unmountIfMounted } from '../util/mount.js';
import { applyChanges } from './changes.js';
import type { ImageRecord, ImageStore, ImageUsers, ImportOptions, ListOptions, OciImageConfig, RemoveOptions } from './image-store.js';
import { hostPlatform, parsePlatform } from './platform.js';
import { unpackInWorker } from './unpack-thread.js';
import { applyLayerNative, nativeTarAvailable } from '../archive/apply-native.js';
import {
  familiarMatch,
  familiarName,
  familiarString,
  isNamed,
  normalizeForStore,
  parseAnyReference,
  parseNormalizedNamed,
  referenceString,
  tagNameOnly,
  type Reference,
} from './reference.js';
import { Mutex } from '../util/mutex.js';

// The image store on disk (under its root):
//
//   blobs/sha256/<hex>        content by digest (src/content): image configs,
//   ingest/                   layer tars as received (gzip kept gzip)
//   layers/<chain hex>.json   one record per layer: diffID, parent chain, size, blob
//   images/<id hex>.json      one record per image: parent, last tag time
//   repositories.json         the tags, in Docker's format
//   tmp/                      blobs being received, unpack mount points
//
// Every record is written atomically (temp + fsync + rename), and in an order
// where a kill -9 leaves only garbage, never a dangling reference: blob, then
// layer snapshot + record, then config blob, then image record, then tags.
// Removal runs the other way round. cleanup() at startup sweeps tmp/ and does
// a mark-and-sweep from the image records over layers, snapshots and blobs.
// Layers are unpacked into a temporary snapshot and committed under their
// chain ID only once complete.

const UNPACK_LABEL = 'berth.image.unpack';
const LAYER_LABEL = 'berth.image.layer';
const UNPACK_PREFIX = 'berth-unpack-';
const ZERO_TIME = '0001-01-01T00:00:00Z';

export interface LayerRecord {
  chainId: string;
  diffId: string;
  parent?: string;
  /** Bytes of file content in the layer (what Docker shows as its size). */
  size: number;
  /** The blob as received, if kept. */
  blob?: { digest: string; size: number; compression: Compression };
}

interface ImageMeta {
  id: string;
  parent?: string;
  lastTagTime?: string;
}

interface Image {
  meta: ImageMeta;
  config: OciImageConfig;
  chainIds: string[];
}

interface RepositoriesFile {
  Repositories: Record<string, Record<string, string>>;
}

/** A layer just imported; protected from removal until released. */
export interface ImportedLayer extends LayerRecord {
  /** Call once an image references the layer (or the import is abandoned). */
  release(): void;
}

export interface UnpackOptions {
  /** Chain ID of the layer below, if any. */
  parent?: string;
  /** Resolves once `parent` is committed (needed before unpacking on snapshotters that copy). */
  parentReady?: Promise<unknown>;
  /** false: the parent is committed already. */
  wait?: boolean;
  signal?: AbortSignal;
}

/** A layer unpacked into a snapshot of its own, waiting to join the store. */
export interface PendingLayer {
  diffId: string;
  size: number;
  compression: Compression;
  /** Stacks it on `parent` under its chain ID and records it (with the blob it came from). */
  commit(opts: { parent?: string; blob?: { digest: string; size: number } }): Promise<ImportedLayer>;
  /** Throws the unpacked snapshot away. */
  abort(): Promise<void>;
}

export interface ImportLayerOptions {
  /** Chain ID of the layer below, if any. */
  parent?: string;
  signal?: AbortSignal;
}

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

const sha256 = sha256Of;

function hexOf(digest: string): string {
  return digest.slice(digest.indexOf(':') + 1);
}

function shortId(id: string): string {
  return hexOf(id).slice(0, 12);
}

/** OCI chain IDs of a list of diff IDs. */
export function chainIds(diffIds: readonly string[]): string[] {
  const out: string[] = [];
  for (const d of diffIds) out.push(out.length === 0 ? d : sha256(`${out[out.length - 1]} ${d}`));
  return out;
}

function seconds(iso: string | undefined): number {
  const t = iso ? Date.parse(iso) : NaN;
  return Number.isNaN(t) ? 0 : Math.floor(t / 1000);
}

function isMissing(err: unknown): boolean {
  return (err as NodeJS.ErrnoException).code === 'ENOENT';
}

class DeleteConflict extends ConflictError {
  constructor(id: string, readonly hard: boolean, readonly used: boolean, reason: string) {
    super(`conflict: unable to delete ${shortId(id)} (${hard ? 'cannot be forced' : 'must be forced'}) - ${reason}`);
  }
}

export class LocalImageStore implements ImageStore {
  private readonly images = new Map<string, Image>();
  private readonly layers = new Map<string, LayerRecord>();
  /** Stored references by referenceString of the normalised form. */
  private readonly refs = new Map<string, { ref: Reference; id: string }>();
  /** Chain IDs an import in progress relies on: not to be removed. */
  private readonly leases = new Map<string, number>();
  private loading: Promise<void> | undefined;
  private readonly mutex = new Mutex();

  /** Where blobs live: configs and layer tars by digest. */
  readonly content: ContentStore;

  constructor(
    readonly root: string,
    private readonly snapshotter: Snapshotter,
    private readonly imageUsers: ImageUsers,
    content?: ContentStore,
  ) {
    this.content = content ?? new LocalContentStore(root);
  }

  // ---- paths and persistence ---------------------------------------------------

  private imagePath(id: string): string {
    return join(this.root, 'images', `${hexOf(id)}.json`);
  }
  private layerPath(chainId: string): string {
    return join(this.root, 'layers', `${hexOf(chainId)}.json`);
  }
  private get tmpDir(): string {
    return join(this.root, 'tmp');
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    return this.mutex.run(fn);
  }

  private load(): Promise<void> {
    this.loading ??= (async () => {
      for (const d of ['blobs/sha256', 'layers', 'images', 'tmp']) await mkdir(join(this.root, d), { recursive: true, mode: 0o700 });
      for (const name of await readdir(join(this.root, 'layers'))) {
        if (!/^[a-f0-9]{64}\.json$/.test(name)) continue;
        const rec = await readJson<LayerRecord>(join(this.root, 'layers', name));
        if (rec && rec.chainId === `sha256:${name.slice(0, 64)}`) this.layers.set(rec.chainId, rec);
      }
      for (const name of await readdir(join(this.root, 'images'))) {
        if (!/^[a-f0-9]{64}\.json$/.test(name)) continue;
        const meta = await readJson<ImageMeta>(join(this.root, 'images', name));
        if (!meta || meta.id !== `sha256:${name.slice(0, 64)}`) continue;
        const bytes = await this.content.read(meta.id).catch(() => undefined);
        // An image is only as good as its config: a record without one is garbage.
        if (!bytes || sha256(bytes) !== meta.id) continue;
        const config = JSON.parse(bytes.toString('utf8')) as OciImageConfig;
        this.images.set(meta.id, { meta, config, chainIds: chainIds(config.rootfs?.diff_ids ?? []) });
      }
      const repos = await readJson<RepositoriesFile>(join(this.root, 'repositories.json'));
      for (const byRef of Object.values(repos?.Repositories ?? {})) {
        for (const [ref, id] of Object.entries(byRef)) {
          if (!this.images.has(id)) continue;
          try {
            this.putRef(normalizeForStore(parseNormalizedNamed(ref)), id);
          } catch {
            // A reference this version cannot parse: dropped at the next save.
          }
        }
      }
    })();
    return this.loading;
  }

  private async saveRefs(): Promise<void> {
    const file: RepositoriesFile = { Repositories: {} };
    for (const { ref, id } of [...this.refs.values()].sort((a, b) => familiarString(a.ref).localeCompare(familiarString(b.ref)))) {
      (file.Repositories[familiarName(ref)] ??= {})[familiarString(ref)] = id;
    }
    await writeJsonAtomic(join(this.root, 'repositories.json'), file);
  }

  private lease(chainId: string): void {
    this.leases.set(chainId, (this.leases.get(chainId) ?? 0) + 1);
  }
  private release(chainId: string): void {
    const n = (this.leases.get(chainId) ?? 0) - 1;
    if (n <= 0) this.leases.delete(chainId);
    else this.leases.set(chainId, n);
  }

  // ---- lookups -----------------------------------------------------------------

  private putRef(ref: Reference, id: string): void {
    this.refs.set(referenceString(ref), { ref, id });
  }

  private refsOf(id: string): Reference[] {
    const out: Reference[] = [];
    for (const r of this.refs.values()) if (r.id === id) out.push(r.ref);
    return out.sort((a, b) => familiarString(a).localeCompare(familiarString(b)));
  }

  private toRecord(img: Image): ImageRecord {
    const refs = this.refsOf(img.meta.id);
    const rec: ImageRecord = {
      id: img.meta.id,
      config: img.config,
      repoTags: refs.filter((r) => r.digest === undefined).map(familiarString),
      repoDigests: refs.filter((r) => r.digest !== undefined).map(familiarString),
      chainIds: [...img.chainIds],
      size: img.chainIds.reduce((n, c) => n + (this.layers.get(c)?.size ?? 0), 0),
    };
    if (img.meta.lastTagTime) rec.lastTagTime = img.meta.lastTagTime;
    if (img.meta.parent) rec.parent = img.meta.parent;
    const comment = img.config.comment ?? img.config.history?.[img.config.history.length - 1]?.comment;
    if (comment !== undefined) rec.comment = comment;
    return rec;
  }

  /** Docker's GetImage: reference store first, then (short) image IDs. */
  private find(ref: string): Image {
    const parsed = parseAnyReference(ref);
    // Docker's ErrImageDoesNotExist names the reference in familiar form: "No such image: nope:latest".
    const notFound = () => new NotFoundError(`No such image: ${isNamed(parsed) ? familiarString(tagNameOnly(parsed)) : parsed.digest}`);
    if (!isNamed(parsed)) {
      const img = this.images.get(parsed.digest);
      if (!img) throw notFound();
      return img;
    }
    const stored = this.refs.get(referenceString(normalizeForStore(parsed)));
    if (stored !== undefined) {
      const img = this.images.get(stored.id);
      if (img) return img;
    }
    // A short ID, with or without "sha256:"; ambiguity finds nothing, as in Docker.
    const hex = ref.startsWith('sha256:') ? ref.slice(7) : ref;
    if (/^[a-f0-9]+$/.test(hex)) {
      const matches = [...this.images.keys()].filter((k) => k.startsWith(`sha256:${hex}`));
      if (matches.length === 1) return this.images.get(matches[0]!)!;
    }
    throw notFound();
  }

  async resolve(ref: string): Promise<ImageRecord> {
    await this.load();
    return this.toRecord(this.find(ref));
  }

  async get(id: string): Promise<ImageRecord | undefined> {
    await this.load();
    const img = this.images.get(id);
    return img && this.toRecord(img);
  }

  private childrenOf(id: string): string[] {
    return [...this.images.values()].filter((i) => i.meta.parent === id).map((i) => i.meta.id);
  }

  // ---- list --------------------------------------------------------------------

  async list(opts: ListOptions = {}): Promise<ImageRecord[]> {
    await this.load();
    const filters = opts.filters ?? {};
    for (const key of Object.keys(filters)) {
      if (!['dangling', 'label', 'before', 'since', 'reference', 'until'].includes(key)) throw new InvalidParameterError(`invalid filter '${key}'`);
    }
    let danglingOnly: boolean | undefined;
    for (const v of filters['dangling'] ?? []) {
      const b = v.toLowerCase();
      if (b === 'true' || b === '1') danglingOnly = true;
      else if (b === 'false' || b === '0') danglingOnly = danglingOnly ?? false;
      else throw new InvalidParameterError(`invalid filter 'dangling=${v}'`);
    }
    let before: number | undefined;
    let since: number | undefined;
    for (const v of filters['before'] ?? []) before = Date.parse(this.find(v).config.created ?? ZERO_TIME);
    for (const v of filters['since'] ?? []) since = Date.parse(this.find(v).config.created ?? ZERO_TIME);
    let until: number | undefined;
    for (const v of filters['until'] ?? []) until = parseTimestamp(v);
    const labels = filters['label'] ?? [];
    const patterns = filters['reference'] ?? [];

    const out: ImageRecord[] = [];
    for (const img of this.images.values()) {
      const created = Date.parse(img.config.created ?? ZERO_TIME);
      if (before !== undefined && !(created < before)) continue;
      if (since !== undefined && !(created > since)) continue;
      if (until !== undefined && !(created < until)) continue;
      const imgLabels = img.config.config?.Labels ?? {};
      if (!labels.every((l) => matchLabel(l, imgLabels))) continue;
      const rec = this.toRecord(img);
      let refs = this.refsOf(img.meta.id);
      if (patterns.length > 0) refs = refs.filter((r) => patterns.some((p) => familiarMatch(p, r)));
      rec.repoTags = refs.filter((r) => r.digest === undefined).map(familiarString);
      rec.repoDigests = refs.filter((r) => r.digest !== undefined).map(familiarString);
      if (rec.repoTags.length === 0 && rec.repoDigests.length === 0) {
        // Untagged: shown only as a head (intermediate images need `all`),
        // never for dangling=false or a reference filter.
        if (!opts.all && this.childrenOf(img.meta.id).length > 0) continue;
        if (danglingOnly === false || patterns.length > 0) continue;
      } else if (danglingOnly && rec.repoTags.length > 0) {
        continue;
      }
      out.push(rec);
    }
    // Newest first, as docker images prints them.
    return out.sort((a, b) => Date.parse(b.config.created ?? ZERO_TIME) - Date.parse(a.config.created ?? ZERO_TIME));
  }

  // ---- import --------------------------------------------------------------------

  /**
   * Receives one layer tar (plain or compressed): keeps the blob, unpacks it
   * into a snapshot committed under its chain ID (unless that layer exists
   * already) and records it. The layer is protected from removal until the
   * returned release() is called, normally after createImage().
   */
  async importLayer(body: Readable, opts: ImportLayerOptions = {}): Promise<ImportedLayer> {
    await this.load();
    if (opts.parent !== undefined && !this.layers.has(opts.parent)) throw new NotFoundError(`layer ${opts.parent} does not exist`);
    // 1. The blob, verified and kept by the content store.
    const blob = await this.content.ingest(body, opts.signal ? { signal: opts.signal } : {});
    // The same blob on the same parent is the same layer: no need to unpack it again.
    const known = await this.serial(async () => {
      for (const l of this.layers.values()) {
        if (l.blob?.digest === blob.digest && l.parent === opts.parent && (await this.snapshotter.exists(l.chainId))) return this.handle(l);
      }
      return undefined;
    });
    if (known) return known;
    // 2. Unpacked from the stored blob, then committed under its chain ID.
    let pending: PendingLayer | undefined;
    try {
      pending = await this.unpackLayer(await this.content.reader(blob.digest), { ...opts, wait: false });
      const layer = await pending.commit({ ...(opts.parent !== undefined ? { parent: opts.parent } : {}), blob });
      // The layer was there already, brought by another blob: this one is not needed.
      if (layer.blob?.digest !== blob.digest) await this.discardBlob(blob.digest);
      return layer;
    } catch (err) {
      await pending?.abort();
      await this.discardBlob(blob.digest);
      throw err;
    }
  }

  private handle(rec: LayerRecord): ImportedLayer {
    this.lease(rec.chainId);
    let released = false;
    return {
      ...rec,
      release: () => {
        if (!released) this.release(rec.chainId);
        released = true;
      },
    };
  }

  /** Deletes a blob no layer keeps (a failed pull's). */
  async discardBlob(digest: string): Promise<void> {
    await this.serial(async () => {
      if (![...this.layers.values()].some((l) => l.blob?.digest === digest)) await this.content.delete(digest);
    });
  }

  /**
   * Unpacks a layer tar (plain or compressed, as it arrives) into a snapshot
   * of its own, not yet a layer of the store. With a diff-only snapshotter
   * (overlay) it needs nothing of its parent, so the layers of an image are
   * unpacked concurrently and stacked when committed; otherwise it waits for
   * `parentReady` and unpacks on top of the parent. commit() must be called
   * bottom layer first.
   */
  async unpackLayer(input: Readable, opts: UnpackOptions = {}): Promise<PendingLayer> {
    await this.load();
    const rand = randomBytes(8).toString('hex');
    const key = `${UNPACK_PREFIX}${rand}`;
    const apart = this.snapshotter.upperIsDiff === true;
    if (!apart && opts.wait !== false) await opts.parentReady;
    if (!apart && opts.parent !== undefined) {
      if (!this.layers.has(opts.parent)) throw new NotFoundError(`layer ${opts.parent} does not exist`);
      this.lease(opts.parent);
    }
    let prepared = false;
    const mountpoint = join(this.tmpDir, `mnt-${rand}`);
    const releaseParent = () => {
      if (!apart && opts.parent !== undefined) this.release(opts.parent);
    };
    try {
      const mounts = await this.snapshotter.prepare(key, apart ? undefined : opts.parent, { [UNPACK_LABEL]: '1' });
      prepared = true;
      let target: string;
      if (apart) {
        target = await this.snapshotter.upperDir(key);
      } else {
        await mkdir(mountpoint);
        await mountAll(mounts, mountpoint);
        target = mountpoint;
      }
      const diffHash = createHash('sha256');
      let size: number;
      let compression: Compression;
      let plain: { compression: Compression; stream: Readable } | undefined;
      let workerDiffId: string | undefined;
      if (apart) {
        // A layer of its own, unpacked beside the others: by GNU tar, else on a worker thread.
        const r = nativeTarAvailable() ? await applyLayerNative(input, target, opts.signal) : await unpackInWorker(input, target, 'overlay', opts.signal);
        workerDiffId = r.diffId;
        size = r.size;
        compression = r.compression;
      } else try {
        plain = await decompress(input);
        compression = plain.compression;
        const hashing = new Transform({
          transform(chunk: Buffer, _enc, cb) {
            diffHash.update(chunk);
            cb(null, chunk);
          },
        });
        const source = plain.stream;
        source.on('error', (err) => hashing.destroy(err));
        source.pipe(hashing);
        size = (await applyLayer(hashing, target, { ...(opts.signal ? { signal: opts.signal } : {}), whiteouts: apart ? 'overlay' : 'delete' })).size;
      } finally {
        plain?.stream.destroy();
        if (!apart) {
          await unmountIfMounted(mountpoint);
          await rm(mountpoint, { recursive: true, force: true });
        }
      }
      const diffId = workerDiffId ?? `sha256:${diffHash.digest('hex')}`;
      let settled = false;
      const abort = async () => {
        if (settled) return;
        settled = true;
        releaseParent();
        await this.snapshotter.remove(key).catch(() => {});
      };
      const commit = async (c: { parent?: string; blob?: { digest: string; size: number } }): Promise<ImportedLayer> => {
        if (settled) throw new ConflictError(`layer ${diffId} was already committed or abandoned`);
        settled = true;
        const parent = c.parent;
        const chainId = parent === undefined ? diffId : sha256(`${parent} ${diffId}`);
        try {
          return await this.serial(async () => {
            if (parent !== undefined && !this.layers.has(parent)) throw new NotFoundError(`layer ${parent} does not exist`);
            const existing = this.layers.get(chainId);
            if (existing && (await this.snapshotter.exists(chainId))) {
              await this.snapshotter.remove(key);
              // A layer kept without a blob gets this one, so push and save can use it.
              if (!existing.blob && c.blob) {
                const rec: LayerRecord = { ...existing, blob: { digest: c.blob.digest, size: c.blob.size, compression } };
                await writeJsonAtomic(this.layerPath(chainId), rec);
                this.layers.set(chainId, rec);
                return this.handle(rec);
              }
              return this.handle(existing);
            }
            if (await this.snapshotter.exists(chainId)) {
              // A snapshot whose record was lost (crash between commit and record).
              await this.snapshotter.remove(key);
            } else {
              await this.snapshotter.commit(chainId, key, { [LAYER_LABEL]: diffId }, apart && parent !== undefined ? { parent } : {});
            }
            const rec: LayerRecord = { chainId, diffId, size };
            if (c.blob) rec.blob = { digest: c.blob.digest, size: c.blob.size, compression };
            if (parent !== undefined) rec.parent = parent;
            await writeJsonAtomic(this.layerPath(chainId), rec);
            this.layers.set(chainId, rec);
            return this.handle(rec);
          });
        } catch (err) {
          await this.snapshotter.remove(key).catch(() => {});
          throw err;
        } finally {
          releaseParent();
        }
      };
      prepared = false;
      return { diffId, size, compression, commit, abort };
    } catch (err) {
      releaseParent();
      throw err;
    } finally {
      if (!apart) {
        await unmountIfMounted(mountpoint).catch(() => {});
        await rm(mountpoint, { recursive: true, force: true }).catch(() => {});
      }
      if (prepared) await this.snapshotter.remove(key).catch(() => {});
    }
  }

  /** Removes the layers of `chain` that no image uses and nothing holds (a failed pull's). */
  async discardLayers(chain: readonly string[]): Promise<void> {
    await this.load();
    await this.serial(async () => {
      await this.releaseLayers(chain);
    });
  }

  /** Replaces the blob kept for a layer (push compresses a plain one once). */
  async setLayerBlob(chainId: string, blob: { digest: string; size: number; compression: Compression }): Promise<void> {
    await this.load();
    await this.serial(async () => {
      const rec = this.layers.get(chainId);
      if (!rec) throw new NotFoundError(`layer ${chainId} does not exist`);
      const old = rec.blob?.digest;
      const next: LayerRecord = { ...rec, blob: { ...blob } };
      await writeJsonAtomic(this.layerPath(chainId), next);
      this.layers.set(chainId, next);
      if (old && old !== blob.digest && ![...this.layers.values()].some((l) => l.blob?.digest === old)) await this.content.delete(old);
    });
  }

  /** Records repo@digest (a push's manifest digest) for image `id`. */
  async addRepoDigest(id: string, repoDigest: string): Promise<void> {
    await this.load();
    const ref = normalizeForStore(parseNormalizedNamed(repoDigest));
    await this.serial(async () => {
      if (!this.images.has(id)) throw new NotFoundError(`No such image: ${id}`);
      this.putRef(ref, id);
      await this.saveRefs();
    });
  }

  /** Records a layer blob for a layer already in the store (pull of a layer that was imported plain). */
  async layerByChain(chainId: string): Promise<LayerRecord | undefined> {
    await this.load();
    const rec = this.layers.get(chainId);
    return rec && (await this.snapshotter.exists(chainId)) ? { ...rec } : undefined;
  }

  /** Protects existing layer `chainId` from removal until release() (a pull that reuses it). */
  async holdLayer(chainId: string): Promise<ImportedLayer> {
    await this.load();
    return this.serial(async () => {
      const rec = this.layers.get(chainId);
      if (!rec || !(await this.snapshotter.exists(chainId))) throw new NotFoundError(`layer ${chainId} does not exist`);
      return this.handle(rec);
    });
  }

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
        if (!this.layers.has(c) || !(await this.snapshotter.exists(c))) throw new NotFoundError(`layer ${c} of the image is not in the store`);
      }
      if (opts.parent !== undefined && !this.images.has(opts.parent)) throw new NotFoundError(`No such image: ${opts.parent}`);
      const id = sha256(bytes);
      let img = this.images.get(id);
      if (!img) {
        await this.content.put(bytes);
        const meta: ImageMeta = { id };
        if (opts.parent !== undefined) meta.parent = opts.parent;
        await writeJsonAtomic(this.imagePath(id), meta);
        img = { meta, config, chainIds: chain };
        this.images.set(id, img);
      }
      if (digestRef) this.putRef(digestRef, id);
      if (target) await this.setTag(target, id);
      else if (digestRef) await this.saveRefs();
      return this.toRecord(img);
    });
  }

  async importTarball(body: Readable, opts: ImportOptions): Promise<ImageRecord> {
    await this.load();
    // Everything that can be refused is refused before the body is read.
    if (opts.reference !== undefined) parseTagTarget(opts.reference);
    const changed = applyChanges({}, opts.changes ?? []);
    const platform = opts.platform ? parsePlatform(opts.platform) : hostPlatform();
    const layer = await this.importLayer(body, opts.signal ? { signal: opts.signal } : {});
    try {
      const created = new Date().toISOString();
      const comment = opts.message || 'Imported from -';
      const config: OciImageConfig = {
        architecture: platform.architecture,
        ...(platform.variant ? { variant: platform.variant } : {}),
        os: platform.os,
        created,
        config: changed,
        rootfs: { type: 'layers', diff_ids: [layer.diffId] },
        history: [{ created, created_by: '', comment }],
        comment,
      };
      return await this.createImage(config, opts.reference !== undefined ? { reference: opts.reference } : {});
    } finally {
      layer.release();
    }
  }

  // ---- tags ----------------------------------------------------------------------

  /** Points a normalised reference at `id` and persists (image record first, then tags). */
  private async setTag(ref: Reference, id: string): Promise<void> {
    const img = this.images.get(id)!;
    img.meta = { ...img.meta, lastTagTime: new Date().toISOString() };
    await writeJsonAtomic(this.imagePath(id), img.meta);
    this.putRef(ref, id);
    await this.saveRefs();
  }

  async tag(source: string, target: string): Promise<void> {
    await this.load();
    const ref = parseTagTarget(target);
    await this.serial(async () => {
      const img = this.find(source);
      await this.setTag(ref, img.meta.id);
    });
  }

  // ---- remove (docker rmi) ------------------------------------------------------------

  private isSingleReference(refs: Reference[]): boolean {
    if (refs.length <= 1) return refs.length === 1;
    let single: Reference | undefined;
    const canonical = new Set<string>();
    for (const r of refs) {
      if (r.digest !== undefined) canonical.add(referenceString({ domain: r.domain, path: r.path }));
      else if (single === undefined) single = r;
      else return false;
    }
    single ??= refs[0]!;
    return canonical.size === 1 && canonical.has(referenceString({ domain: single.domain, path: single.path }));
  }

  /** Docker's checkImageDeleteConflict; container users are all treated as "stopped" (names are all we know). */
  private deleteConflict(id: string, opts: { hard: boolean; references: boolean; users: boolean }): DeleteConflict | undefined {
    if (opts.hard && this.childrenOf(id).length > 0) return new DeleteConflict(id, true, false, 'image has dependent child images');
    if (opts.references && this.refsOf(id).length > 0) return new DeleteConflict(id, false, false, 'image is referenced in multiple repositories');
    if (opts.users) {
      const users = this.imageUsers(id);
      if (users.length > 0) return new DeleteConflict(id, false, true, `image is being used by stopped container ${users[0]}`);
    }
    return undefined;
  }

  private untag(ref: Reference, records: ImageDeleteResponseItem[]): void {
    this.refs.delete(referenceString(ref));
    records.push({ Untagged: familiarString(ref) });
  }

  async remove(ref: string, opts: RemoveOptions = {}): Promise<ImageDeleteResponseItem[]> {
    await this.load();
    const force = opts.force === true;
    return this.serial(async () => {
      const img = this.find(ref);
      const id = img.meta.id;
      const records: ImageDeleteResponseItem[] = [];
      let repoRefs = this.refsOf(id);
      let quiet = false;
      try {
        if (!isImageIdPrefix(id, ref)) {
          // A repository reference: untag it first.
          const users = this.imageUsers(id);
          if (!force && this.isSingleReference(repoRefs) && users.length > 0) {
            throw new ConflictError(`conflict: unable to remove repository reference "${ref}" (must force) - container ${users[0]} is using its referenced image ${shortId(id)}`);
          }
          const parsed = normalizeForStore(parseNormalizedNamed(ref));
          this.untag(parsed, records);
          repoRefs = this.refsOf(id);
          if (parsed.digest === undefined) {
            // Its last tag in this repository gone: the repository's digests go too.
            const sameRepo = (r: Reference) => r.domain === parsed.domain && r.path === parsed.path;
            if (!repoRefs.some((r) => r.digest === undefined && sameRepo(r))) {
              for (const r of repoRefs) if (r.digest !== undefined && sameRepo(r)) this.untag(r, records);
              repoRefs = this.refsOf(id);
            }
          }
          if (repoRefs.length > 0) return records;
          quiet = true;
        } else if (this.isSingleReference(repoRefs)) {
          // An ID with one tag (plus its digests): remove those with the image.
          const conflict = this.deleteConflict(id, { hard: true, references: false, users: !force });
          if (conflict) throw conflict;
          for (const r of repoRefs) this.untag(r, records);
        }
        await this.deleteImage(id, records, force, opts.noPrune !== true, quiet);
        return records;
      } finally {
        // Whatever was untagged stays untagged, even if deleting failed after.
        if (records.length > 0) await this.saveRefs();
      }
    });
  }

  /** Docker's imageDeleteHelper. Runs inside serial(). */
  private async deleteImage(id: string, records: ImageDeleteResponseItem[], force: boolean, prune: boolean, quiet: boolean): Promise<void> {
    const conflict = this.deleteConflict(id, { hard: true, references: !force, users: !force });
    if (conflict) {
      // Pruning parents stops quietly at one that is tagged, used or has another child (not dangling).
      if (quiet && (this.refsOf(id).length > 0 || this.childrenOf(id).length > 0 || conflict.used)) return;
      throw conflict;
    }
    for (const r of this.refsOf(id)) this.untag(r, records);
    // A container still uses it: forced, it loses its tags but stays, so the
    // container keeps a working image (Docker refuses for running ones).
    if (this.imageUsers(id).length > 0) return;
    const img = this.images.get(id)!;
    const parent = img.meta.parent;
    await this.saveRefs();
    // The image record is the commit point: once it is gone, the rest is garbage.
    await unlink(this.imagePath(id)).catch((err) => {
      if (!isMissing(err)) throw err;
    });
    this.images.delete(id);
    await this.content.delete(id).catch(() => {});
    records.push({ Deleted: id });
    for (const chainId of await this.releaseLayers(img.chainIds)) records.push({ Deleted: chainId });
    if (prune && parent !== undefined && this.images.has(parent)) await this.deleteImage(parent, records, false, true, true);
  }

  /** Removes the layers of `chain` (top first) no image uses any more; returns their chain IDs. */
  private async releaseLayers(chain: readonly string[]): Promise<string[]> {
    const used = new Set<string>();
    for (const img of this.images.values()) for (const c of img.chainIds) used.add(c);
    const removed: string[] = [];
    for (const chainId of [...chain].reverse()) {
      if (used.has(chainId) || this.leases.has(chainId)) break;
      try {
        if (await this.snapshotter.exists(chainId)) await this.snapshotter.remove(chainId);
      } catch (err) {
        // A container's snapshot (or a build's) still stands on it: keep it and
        // everything below; cleanup() collects them later.
        if (err instanceof ConflictError) break;
        throw err;
      }
      const rec = this.layers.get(chainId);
      await unlink(this.layerPath(chainId)).catch(() => {});
      this.layers.delete(chainId);
      if (rec?.blob && ![...this.layers.values()].some((l) => l.blob?.digest === rec.blob!.digest)) {
        await this.content.delete(rec.blob.digest).catch(() => {});
      }
      removed.push(chainId);
    }
    return removed;
  }

  // ---- presentation ---------------------------------------------------------------

  async history(ref: string): Promise<ImageHistoryItem[]> {
    await this.load();
    const top = this.find(ref);
    const items: ImageHistoryItem[] = [];
    let layer = 0;
    for (const h of top.config.history ?? []) {
      let size = 0;
      if (!h.empty_layer) {
        const chainId = top.chainIds[layer++];
        if (chainId === undefined) throw new InvalidParameterError('too many non-empty layers in History section');
        size = this.layers.get(chainId)?.size ?? 0;
      }
      items.unshift({ Id: '<missing>', Created: seconds(h.created), CreatedBy: h.created_by ?? '', Tags: [], Size: size, Comment: h.comment ?? '' });
    }
    // IDs and tags along the parent chain, newest first, as Docker fills them.
    let img: Image | undefined = top;
    for (const item of items) {
      if (!img) break;
      item.Id = img.meta.id;
      item.Tags = this.refsOf(img.meta.id).filter((r) => r.digest === undefined).map(familiarString);
      img = img.meta.parent !== undefined ? this.images.get(img.meta.parent) : undefined;
    }
    return items;
  }

  summary(img: ImageRecord, containers: number): ImageSummary {
    return {
      Id: img.id,
      ParentId: img.parent ?? '',
      RepoTags: img.repoTags,
      RepoDigests: img.repoDigests,
      Created: seconds(img.config.created),
      Size: img.size,
      SharedSize: -1,
      Labels: img.config.config?.Labels ?? {},
      Containers: containers,
    };
  }

  inspect(img: ImageRecord): ImageInspect {
    const out: ImageInspect = {
      Id: img.id,
      RepoTags: img.repoTags,
      RepoDigests: img.repoDigests,
      Parent: img.parent ?? '',
      Comment: img.comment ?? '',
      Created: img.config.created ?? ZERO_TIME,
      DockerVersion: '',
      Author: img.config.author ?? '',
      Config: img.config.config ?? {},
      Architecture: img.config.architecture,
      Os: img.config.os,
      Size: img.size,
      GraphDriver: { Name: this.snapshotter.name, Data: null },
      RootFS: { Type: 'layers', Layers: [...img.config.rootfs.diff_ids] },
      Metadata: { LastTagTime: img.lastTagTime ?? ZERO_TIME },
    };
    if (img.config.variant) out.Variant = img.config.variant;
    return out;
  }

  async layerSizes(): Promise<Map<string, number>> {
    await this.load();
    return new Map([...this.layers.values()].map((l) => [l.chainId, l.size]));
  }

  /** Blob path for a digest (configs and layer blobs), for save/push. */
  async blob(digest: string): Promise<string | undefined> {
    await this.load();
    return (await this.content.info(digest)) ? this.content.path(digest) : undefined;
  }

  /** The layer record of a chain ID, for save/push. */
  async layer(chainId: string): Promise<LayerRecord | undefined> {
    await this.load();
    const rec = this.layers.get(chainId);
    return rec && { ...rec };
  }

  // ---- startup repair ------------------------------------------------------------

  async cleanup(): Promise<void> {
    await this.load();
    await this.serial(async () => {
      // Half-received blobs and unpack mounts of a process that died.
      for (const name of await readdir(this.tmpDir)) {
        const path = join(this.tmpDir, name);
        if (name.startsWith('mnt-')) await unmountIfMounted(path);
        await rm(path, { recursive: true, force: true });
      }
      for (const dir of ['', 'blobs/sha256', 'layers', 'images']) {
        for (const name of await readdir(join(this.root, dir))) {
          if (name.startsWith(TEMP_PREFIX)) await rm(join(this.root, dir, name), { force: true });
        }
      }
      // Mark: what the images use.
      const usedChains = new Set<string>();
      const usedBlobs = new Set<string>();
      for (const img of this.images.values()) {
        usedBlobs.add(hexOf(img.meta.id));
        for (const c of img.chainIds) usedChains.add(c);
      }
      for (const c of this.leases.keys()) usedChains.add(c);
      // Sweep: image records the load rejected, layers and snapshots no image uses.
      for (const name of await readdir(join(this.root, 'images'))) {
        if (/^[a-f0-9]{64}\.json$/.test(name) && !this.images.has(`sha256:${name.slice(0, 64)}`)) await rm(join(this.root, 'images', name), { force: true });
      }
      const snapshots = await this.snapshotter.list();
      for (const s of snapshots) {
        if (s.kind === 'active' && s.labels[UNPACK_LABEL] && s.key.startsWith(UNPACK_PREFIX)) await this.snapshotter.remove(s.key).catch(() => {});
      }
      const doomed = new Set<string>();
      for (const s of snapshots) if (s.kind === 'committed' && s.labels[LAYER_LABEL] && !usedChains.has(s.key)) doomed.add(s.key);
      for (const c of this.layers.keys()) if (!usedChains.has(c)) doomed.add(c);
      // Children before parents: keep going while something could be removed.
      for (let progress = true; progress && doomed.size > 0; ) {
        progress = false;
        for (const c of [...doomed]) {
          try {
            if (await this.snapshotter.exists(c)) await this.snapshotter.remove(c);
          } catch (err) {
            if (err instanceof ConflictError) continue;
            throw err;
          }
          await rm(this.layerPath(c), { force: true });
          this.layers.delete(c);
          doomed.delete(c);
          progress = true;
        }
      }
      for (const l of this.layers.values()) if (l.blob) usedBlobs.add(hexOf(l.blob.digest));
      await this.content.cleanup();
      for (const b of await this.content.list()) if (!usedBlobs.has(hexOf(b.digest))) await this.content.delete(b.digest);
      // Tags of images that did not survive.
      const before = this.refs.size;
      for (const [k, { id }] of this.refs) if (!this.images.has(id)) this.refs.delete(k);
      if (this.refs.size !== before || !(await readJson(join(this.root, 'repositories.json')))) await this.saveRefs();
    });
  }
}

/** repo[:tag] for tag/import/commit: a name, never a digest; ":latest" by default. */
function parseTagTarget(target: string): Reference {
  const ref = parseNormalizedNamed(target);
  if (ref.digest !== undefined) throw new InvalidParameterError('refusing to create a tag with a digest reference');
  return normalizeForStore(ref);
}

function isImageIdPrefix(id: string, ref: string): boolean {
  return id.startsWith(ref) || hexOf(id).startsWith(ref);
}

function matchLabel(filter: string, labels: Record<string, string>): boolean {
  const i = filter.indexOf('=');
  if (i === -1) return Object.hasOwn(labels, filter);
  const k = filter.slice(0, i);
  return Object.hasOwn(labels, k) && labels[k] === filter.slice(i + 1);
}

/** Docker's timestamp filter values: RFC 3339, Unix seconds, or a Go duration before now. */
function parseTimestamp(v: string): number {
  if (/^[0-9]+(\.[0-9]+)?$/.test(v)) return Number(v) * 1000;
  const d = /^([0-9]+(?:\.[0-9]+)?)(ns|us|ms|s|m|h)$/.exec(v);
  if (d) {
    const unit: Record<string, number> = { ns: 1e-6, us: 1e-3, ms: 1, s: 1e3, m: 60e3, h: 3600e3 };
    return Date.now() - Number(d[1]) * unit[d[2]!]!;
  }
  const t = Date.parse(v);
  if (Number.isNaN(t)) throw new InvalidParameterError(`invalid filter 'until=${v}'`);
  return t;
}

async function readJson<T>(path: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as T;
  } catch (err) {
    if (isMissing(err) || err instanceof SyntaxError) return undefined;
    throw new Error(`reading ${path}: ${errorMessage(err)}`);
  }
}
