import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, rm, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { sha256Of, type ContentStore } from '../content/index.js';
import { applyLayer } from '../archive/apply.js';
import { applyLayerNative, nativeTarAvailable } from '../archive/apply-native.js';
import { decompress, type Compression } from '../archive/compression.js';
import { teeToFile } from '../archive/tap.js';
import { ConflictError, NotFoundError } from '../errors/index.js';
import type { Snapshotter } from '../snapshot/snapshotter.js';
import { writeJsonAtomic } from '../util/atomic-file.js';
import { mountAll, unmountIfMounted } from '../util/mount.js';
import type { Mutex } from '../util/mutex.js';
import { RECORD_NAME, layerPath, readJson, tmpDir } from './layout.js';
import { unpackInWorker } from './unpack-thread.js';

// Layers -> snapshots: one record per layer (layers/<chain hex>.json) beside
// the committed snapshot of the same key, leases that keep a layer an import
// or a pull relies on, the unpacking of a layer tar into a snapshot of its
// own, and its commit under its chain ID. What images use which layer is not
// known here: the caller says which chains are used when it asks to free some.

const UNPACK_LABEL = 'berth.image.unpack';
const LAYER_LABEL = 'berth.image.layer';
const UNPACK_PREFIX = 'berth-unpack-';

export interface LayerRecord {
  chainId: string;
  diffId: string;
  parent?: string;
  /** Bytes of file content in the layer (what Docker shows as its size). */
  size: number;
  /** The blob as received, if kept. */
  blob?: { digest: string; size: number; compression: Compression };
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
  /**
   * Keep the input as it came (the compressed blob) in this file too: the
   * unpacking pipeline writes it (tee) where it can, else it is written here
   * as it passes. Complete once the unpack resolves.
   */
  blobPath?: string;
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

/** OCI chain IDs of a list of diff IDs. */
export function chainIds(diffIds: readonly string[]): string[] {
  const out: string[] = [];
  for (const d of diffIds) out.push(out.length === 0 ? d : sha256Of(`${out[out.length - 1]} ${d}`));
  return out;
}

/**
 * The layers of the store. Methods marked "inside the lock" expect the
 * caller to hold the store's mutex; the others take it for their own
 * critical sections (an unpack runs for long outside of it).
 */
export class LayerStore {
  private readonly records = new Map<string, LayerRecord>();
  /** Chain IDs an import in progress relies on: not to be removed. */
  private readonly leases = new Map<string, number>();

  constructor(
    private readonly root: string,
    private readonly snapshotter: Snapshotter,
    private readonly content: ContentStore,
    private readonly mutex: Mutex,
  ) {}

  async load(): Promise<void> {
    for (const name of await readdir(join(this.root, 'layers'))) {
      if (!RECORD_NAME.test(name)) continue;
      const rec = await readJson<LayerRecord>(join(this.root, 'layers', name));
      if (rec && rec.chainId === `sha256:${name.slice(0, 64)}`) this.records.set(rec.chainId, rec);
    }
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    return this.mutex.run(fn);
  }

  // ---- lookups -----------------------------------------------------------------

  get(chainId: string): LayerRecord | undefined {
    return this.records.get(chainId);
  }

  has(chainId: string): boolean {
    return this.records.has(chainId);
  }

  all(): IterableIterator<LayerRecord> {
    return this.records.values();
  }

  /** The layer is recorded and its snapshot is there. */
  async present(chainId: string): Promise<boolean> {
    return this.records.has(chainId) && (await this.snapshotter.exists(chainId));
  }

  /** Some layer keeps blob `digest`. */
  blobInUse(digest: string): boolean {
    for (const l of this.records.values()) if (l.blob?.digest === digest) return true;
    return false;
  }

  // ---- leases ------------------------------------------------------------------

  private lease(chainId: string): void {
    this.leases.set(chainId, (this.leases.get(chainId) ?? 0) + 1);
  }
  private release(chainId: string): void {
    const n = (this.leases.get(chainId) ?? 0) - 1;
    if (n <= 0) this.leases.delete(chainId);
    else this.leases.set(chainId, n);
  }

  leased(): IterableIterator<string> {
    return this.leases.keys();
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

  /** Protects existing layer `chainId` from removal until release(). Inside the lock. */
  async hold(chainId: string): Promise<ImportedLayer> {
    const rec = this.records.get(chainId);
    if (!rec || !(await this.snapshotter.exists(chainId))) throw new NotFoundError(`layer ${chainId} does not exist`);
    return this.handle(rec);
  }

  // ---- import ------------------------------------------------------------------

  /**
   * Receives one layer tar (plain or compressed): keeps the blob, unpacks it
   * into a snapshot committed under its chain ID (unless that layer exists
   * already) and records it. The layer is protected from removal until the
   * returned release() is called, normally after the image is created.
   */
  async import(body: Readable, opts: ImportLayerOptions = {}): Promise<ImportedLayer> {
    if (opts.parent !== undefined && !this.records.has(opts.parent)) throw new NotFoundError(`layer ${opts.parent} does not exist`);
    // 1. The blob, verified and kept by the content store.
    const blob = await this.content.ingest(body, opts.signal ? { signal: opts.signal } : {});
    // The same blob on the same parent is the same layer: no need to unpack it again.
    const known = await this.serial(async () => {
      for (const l of this.records.values()) {
        if (l.blob?.digest === blob.digest && l.parent === opts.parent && (await this.snapshotter.exists(l.chainId))) return this.handle(l);
      }
      return undefined;
    });
    if (known) return known;
    // 2. Unpacked from the stored blob, then committed under its chain ID.
    let pending: PendingLayer | undefined;
    try {
      pending = await this.unpack(await this.content.reader(blob.digest), { ...opts, wait: false });
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

  /** Deletes a blob no layer keeps (a failed pull's). */
  async discardBlob(digest: string): Promise<void> {
    await this.serial(async () => {
      if (!this.blobInUse(digest)) await this.content.delete(digest);
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
  async unpack(input: Readable, opts: UnpackOptions = {}): Promise<PendingLayer> {
    const rand = randomBytes(8).toString('hex');
    const key = `${UNPACK_PREFIX}${rand}`;
    const apart = this.snapshotter.upperIsDiff === true;
    if (!apart && opts.wait !== false) await opts.parentReady;
    if (!apart && opts.parent !== undefined) {
      if (!this.records.has(opts.parent)) throw new NotFoundError(`layer ${opts.parent} does not exist`);
      this.lease(opts.parent);
    }
    let prepared = false;
    const mountpoint = join(tmpDir(this.root), `mnt-${rand}`);
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
      // The unpackers that cannot keep the blob themselves get a copy written here.
      let blobWritten: Promise<void> | undefined;
      if (opts.blobPath !== undefined && !(apart && nativeTarAvailable())) ({ stream: input, written: blobWritten } = teeToFile(input, opts.blobPath));
      if (apart) {
        // A layer of its own, unpacked beside the others: by GNU tar, else on a worker thread.
        const r = nativeTarAvailable()
          ? await applyLayerNative(input, target, opts.signal, opts.blobPath !== undefined ? { blobPath: opts.blobPath } : {})
          : await unpackInWorker(input, target, 'overlay', opts.signal);
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
      if (blobWritten) {
        input.destroy(); // the unpacker is done with it; the file takes the rest
        await blobWritten;
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
        try {
          return await this.serial(() => this.commitSnapshot(key, diffId, size, compression, apart, c));
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

  /** The commit point of a layer: its snapshot under its chain ID, then its record. Inside the lock. */
  private async commitSnapshot(
    key: string,
    diffId: string,
    size: number,
    compression: Compression,
    apart: boolean,
    c: { parent?: string; blob?: { digest: string; size: number } },
  ): Promise<ImportedLayer> {
    const parent = c.parent;
    const chainId = parent === undefined ? diffId : sha256Of(`${parent} ${diffId}`);
    if (parent !== undefined && !this.records.has(parent)) throw new NotFoundError(`layer ${parent} does not exist`);
    const existing = this.records.get(chainId);
    if (existing && (await this.snapshotter.exists(chainId))) {
      await this.snapshotter.remove(key);
      // A layer kept without a blob gets this one, so push and save can use it.
      if (!existing.blob && c.blob) {
        const rec: LayerRecord = { ...existing, blob: { digest: c.blob.digest, size: c.blob.size, compression } };
        await writeJsonAtomic(layerPath(this.root, chainId), rec);
        this.records.set(chainId, rec);
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
    await writeJsonAtomic(layerPath(this.root, chainId), rec);
    this.records.set(chainId, rec);
    return this.handle(rec);
  }

  /** Replaces the blob kept for a layer (push compresses a plain one once). Inside the lock. */
  async setBlob(chainId: string, blob: { digest: string; size: number; compression: Compression }): Promise<void> {
    const rec = this.records.get(chainId);
    if (!rec) throw new NotFoundError(`layer ${chainId} does not exist`);
    const old = rec.blob?.digest;
    const next: LayerRecord = { ...rec, blob: { ...blob } };
    await writeJsonAtomic(layerPath(this.root, chainId), next);
    this.records.set(chainId, next);
    if (old && old !== blob.digest && !this.blobInUse(old)) await this.content.delete(old);
  }

  // ---- removal -----------------------------------------------------------------

  /** Removes one layer's snapshot, record and (unshared) blob; false while a snapshot stands on it. Inside the lock. */
  private async removeOne(chainId: string): Promise<boolean> {
    try {
      if (await this.snapshotter.exists(chainId)) await this.snapshotter.remove(chainId);
    } catch (err) {
      if (err instanceof ConflictError) return false;
      throw err;
    }
    const rec = this.records.get(chainId);
    await unlink(layerPath(this.root, chainId)).catch(() => {});
    this.records.delete(chainId);
    if (rec?.blob && !this.blobInUse(rec.blob.digest)) await this.content.delete(rec.blob.digest).catch(() => {});
    return true;
  }

  /**
   * Removes the layers of `chain` (top first) that are not in `used` and not
   * leased; returns their chain IDs. Stops at the first one kept: a
   * container's snapshot (or a build's) still standing on a layer keeps it and
   * everything below, for the startup sweep to collect later. Inside the lock.
   */
  async releaseChain(chain: readonly string[], used: ReadonlySet<string>): Promise<string[]> {
    const removed: string[] = [];
    for (const chainId of [...chain].reverse()) {
      if (used.has(chainId) || this.leases.has(chainId)) break;
      if (!(await this.removeOne(chainId))) break;
      removed.push(chainId);
    }
    return removed;
  }

  /**
   * Startup sweep: unpacks a dead process left, and every layer (record or
   * snapshot) outside `used` and the leases, children before parents. Returns
   * the blobs the surviving layers keep. Inside the lock.
   */
  async sweep(used: ReadonlySet<string>): Promise<Set<string>> {
    const keep = new Set([...used, ...this.leases.keys()]);
    const snapshots = await this.snapshotter.list();
    for (const s of snapshots) {
      if (s.kind === 'active' && s.labels[UNPACK_LABEL] && s.key.startsWith(UNPACK_PREFIX)) await this.snapshotter.remove(s.key).catch(() => {});
    }
    const doomed = new Set<string>();
    for (const s of snapshots) if (s.kind === 'committed' && s.labels[LAYER_LABEL] && !keep.has(s.key)) doomed.add(s.key);
    for (const c of this.records.keys()) if (!keep.has(c)) doomed.add(c);
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
        await rm(layerPath(this.root, c), { force: true });
        this.records.delete(c);
        doomed.delete(c);
        progress = true;
      }
    }
    const blobs = new Set<string>();
    for (const l of this.records.values()) if (l.blob) blobs.add(l.blob.digest);
    return blobs;
  }
}
