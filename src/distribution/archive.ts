import { createReadStream } from 'node:fs';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { pack as tarPack } from 'tar-stream';
import { applyLayer, decompress, resolveInRoot } from '../archive/index.js';

// The one in-root resolver: a path inside the unpacked archive never leads out of it.
const secureJoin = (root: string, path: string): string => resolveInRoot(root, path);
import { InvalidParameterError, NotFoundError } from '../errors/index.js';
import { chainIds, familiarString, hostPlatform, normalizeForStore, parseNormalizedNamed, type ImageRecord, type ImportedLayer, type LocalImageStore, type OciImageConfig, type PendingLayer } from '../image/index.js';
import type { JSONMessage } from '../types/engine.js';
import { MT } from './media-types.js';
import { parseManifest, selectPlatform, type Descriptor, type ImageManifest } from './manifest.js';
import { formatPlatform, platformMatches } from './platform-param.js';
import type { Platform } from '../image/platform.js';
import { Channel } from './progress.js';

// docker save / docker load. save writes what docker 25+ writes: the OCI
// image layout (oci-layout, index.json, blobs/sha256/*) with Docker's
// manifest.json and repositories beside it, layers as plain tars named by
// their diff IDs, so both the reference `docker load` and OCI tools read it.
// load takes that, older docker-archive tars (<id>/layer.tar) and plain OCI
// layouts, gzip or not; the tar is unpacked by the archive code (which never
// writes outside its target) into a temporary directory first.

export type ArchiveStore = Pick<
  LocalImageStore,
  'content' | 'resolve' | 'layer' | 'unpackLayer' | 'createImage' | 'discardLayers' | 'root' | 'tag' | 'get'
>;

interface SavedImage {
  img: ImageRecord;
  tags: string[];
}

/** Writes the images `names` resolve to (with the tags named) as one tar into `out`. */
export async function saveImages(store: ArchiveStore, names: string[], out: NodeJS.WritableStream, signal: AbortSignal): Promise<void> {
  const byId = new Map<string, SavedImage>();
  for (const n of names) {
    const img = await store.resolve(n);
    const entry = byId.get(img.id) ?? { img, tags: [] };
    byId.set(img.id, entry);
    // A name (not an ID) saves its tag; a bare name without tag saves every tag of it.
    if (!/^(sha256:)?[a-f0-9]{6,64}$/.test(n)) {
      const ref = parseNormalizedNamed(n);
      if (ref.digest === undefined) {
        const t = familiarString(normalizeForStore(ref));
        if (img.repoTags.includes(t) && !entry.tags.includes(t)) entry.tags.push(t);
      }
    }
  }
  const pack = tarPack();
  pack.pipe(out as NodeJS.WritableStream & import('node:stream').Writable);
  const written = new Set<string>();
  const temps: string[] = [];
  const mtime = new Date(0);
  const addBytes = (name: string, data: Buffer) =>
    new Promise<void>((resolve, reject) => pack.entry({ name, size: data.length, mode: 0o644, mtime }, data, (err) => (err ? reject(err) : resolve())));
  const addStream = (name: string, size: number, stream: NodeJS.ReadableStream) =>
    new Promise<void>((resolve, reject) => {
      const entry = pack.entry({ name, size, mode: 0o644, mtime }, (err) => (err ? reject(err) : resolve()));
      stream.on('error', reject);
      stream.pipe(entry);
    });
  const onAbort = () => pack.destroy(new Error('client went away'));
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    await addBytes('oci-layout', Buffer.from('{"imageLayoutVersion": "1.0.0"}'));
    const manifestJson: Array<{ Config: string; RepoTags: string[] | null; Layers: string[] }> = [];
    const index: { schemaVersion: 2; mediaType: string; manifests: Descriptor[] } = { schemaVersion: 2, mediaType: MT.ociIndex, manifests: [] };
    const repositories: Record<string, Record<string, string>> = {};
    for (const { img, tags } of byId.values()) {
      const diffIds = img.config.rootfs.diff_ids;
      const layerDescs: Descriptor[] = [];
      for (let i = 0; i < img.chainIds.length; i++) {
        signal.throwIfAborted();
        const diffId = diffIds[i]!;
        const { path, size, temp } = await plainLayer(store, img.chainIds[i]!, diffId);
        if (temp) temps.push(diffId);
        layerDescs.push({ mediaType: MT.ociLayer, digest: diffId, size });
        const name = `blobs/sha256/${diffId.slice(7)}`;
        if (!written.has(name)) {
          written.add(name);
          await addStream(name, size, createReadStream(path));
        }
      }
      const configBytes = await store.content.read(img.id);
      const configName = `blobs/sha256/${img.id.slice(7)}`;
      if (!written.has(configName)) {
        written.add(configName);
        await addBytes(configName, configBytes);
      }
      const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MT.ociManifest, config: { mediaType: MT.ociConfig, digest: img.id, size: configBytes.length }, layers: layerDescs }));
      const { sha256Of } = await import('../content/index.js');
      const mDigest = sha256Of(manifest);
      const mName = `blobs/sha256/${mDigest.slice(7)}`;
      if (!written.has(mName)) {
        written.add(mName);
        await addBytes(mName, manifest);
      }
      if (tags.length === 0) index.manifests.push({ mediaType: MT.ociManifest, digest: mDigest, size: manifest.length });
      for (const t of tags) {
        const ref = parseNormalizedNamed(t);
        index.manifests.push({
          mediaType: MT.ociManifest,
          digest: mDigest,
          size: manifest.length,
          annotations: { 'io.containerd.image.name': `${ref.domain}/${ref.path}:${ref.tag}`, 'org.opencontainers.image.ref.name': ref.tag! },
        });
        const repo = t.slice(0, t.lastIndexOf(':'));
        (repositories[repo] ??= {})[ref.tag!] = (diffIds[diffIds.length - 1] ?? img.id).slice(7);
      }
      manifestJson.push({ Config: configName, RepoTags: tags.length > 0 ? tags : null, Layers: layerDescs.map((d) => `blobs/sha256/${d.digest.slice(7)}`) });
    }
    await addBytes('index.json', Buffer.from(JSON.stringify(index)));
    await addBytes('manifest.json', Buffer.from(JSON.stringify(manifestJson)));
    if (Object.keys(repositories).length > 0) await addBytes('repositories', Buffer.from(JSON.stringify(repositories)));
    pack.finalize();
    await new Promise<void>((resolve, reject) => {
      pack.on('end', resolve);
      pack.on('error', reject);
      pack.on('close', resolve);
    });
  } finally {
    signal.removeEventListener('abort', onAbort);
    for (const d of temps) await store.content.delete(d).catch(() => {});
  }
}

/** A layer as a plain tar blob (digest = diff ID): the kept blob if plain, else decompressed into the content store for the save. */
async function plainLayer(store: ArchiveStore, chainId: string, diffId: string): Promise<{ path: string; size: number; temp: boolean }> {
  const layer = await store.layer(chainId);
  if (!layer?.blob || !(await store.content.info(layer.blob.digest))) throw new NotFoundError(`layer ${chainId} has no stored content to save`);
  const existing = await store.content.info(diffId);
  if (existing) return { path: store.content.path(diffId), size: existing.size, temp: false };
  const { stream } = await decompress(await store.content.reader(layer.blob.digest));
  const info = await store.content.ingest(stream, { expected: diffId });
  return { path: store.content.path(diffId), size: info.size, temp: true };
}

interface LoadManifestEntry {
  Config: string;
  RepoTags?: string[] | null;
  Layers: string[];
}

/** docker load: returns the messages ("Loaded image: …"); the work is done before. */
export async function loadImages(store: ArchiveStore, body: NodeJS.ReadableStream, opts: { quiet: boolean; signal: AbortSignal; platform?: Platform }): Promise<AsyncIterable<JSONMessage>> {
  const dir = await mkdtemp(join(store.root, 'tmp', 'load-'));
  const out = new Channel<JSONMessage>();
  try {
    // Unpacked by the one safe extractor: nothing lands outside `dir`.
    await applyLayer(body as import('node:stream').Readable, dir, { signal: opts.signal });
    const manifestPath = secureJoin(dir, 'manifest.json');
    const hasManifest = await stat(manifestPath).then(() => true, () => false);
    let loaded: string[];
    if (hasManifest) loaded = await loadDockerArchive(store, dir, JSON.parse(await readFile(manifestPath, 'utf8')) as LoadManifestEntry[], opts.signal, opts.platform);
    else if (await stat(secureJoin(dir, 'index.json')).then(() => true, () => false)) loaded = await loadOciLayout(store, dir, opts.signal, opts.platform);
    else throw new InvalidParameterError('open manifest.json: no such file or directory (not a docker-archive or OCI layout tar)');
    for (const line of loaded) out.push({ stream: `${line}\n` });
    out.close();
    return out;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function unpackChain(store: ArchiveStore, files: string[], diffIds: string[] | undefined, signal: AbortSignal): Promise<{ layers: ImportedLayer[]; diffIds: string[] }> {
  if (!diffIds || diffIds.length !== files.length) throw new InvalidParameterError('the image config does not list one diff ID per layer (corrupt archive)');
  const chain = chainIds(diffIds);
  const pendings: Array<PendingLayer | undefined> = [];
  const layers: ImportedLayer[] = [];
  const committed: Array<Promise<void>> = [];
  // Unpacked concurrently where the snapshotter allows, stacked in order.
  const tasks = files.map((f, i) => {
    const below = i === 0 ? Promise.resolve() : committed[i - 1]!;
    const task = (async () => {
      const blob = await store.content.ingest(createReadStream(f), { signal });
      const p = await store.unpackLayer(await store.content.reader(blob.digest), { ...(i > 0 ? { parent: chain[i - 1]! } : {}), parentReady: below, signal });
      pendings[i] = p;
      if (p.diffId !== diffIds[i]) throw new InvalidParameterError(`layer ${i + 1} has diff ID ${p.diffId}, the image config says ${diffIds[i]} (corrupt or tampered archive)`);
      await below;
      pendings[i] = undefined;
      layers.push(await p.commit({ ...(i > 0 ? { parent: chain[i - 1]! } : {}), blob }));
    })();
    committed.push(task);
    return task;
  });
  const results = await Promise.allSettled(tasks);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    for (const p of pendings) await p?.abort();
    for (const l of layers) l.release();
    await store.discardLayers(chain).catch(() => {});
    throw failed.reason;
  }
  return { layers, diffIds };
}

async function loadDockerArchive(store: ArchiveStore, dir: string, entries: LoadManifestEntry[], signal: AbortSignal, platform?: Platform): Promise<string[]> {
  if (!Array.isArray(entries)) throw new InvalidParameterError('invalid manifest.json');
  const lines: string[] = [];
  for (const e of entries) {
    const configBytes = await readFile(secureJoin(dir, e.Config));
    const config = JSON.parse(configBytes.toString('utf8')) as OciImageConfig;
    if (platform && !platformMatches(config, platform)) continue;
    const { layers } = await unpackChain(store, e.Layers.map((l) => secureJoin(dir, l)), config.rootfs?.diff_ids, signal);
    try {
      const tags = e.RepoTags ?? [];
      const img = await store.createImage(config, { configBytes, ...(tags[0] ? { reference: tags[0] } : {}) });
      for (const t of tags.slice(1)) await store.tag(img.id, t);
      if (tags.length === 0) lines.push(`Loaded image ID: ${img.id}`);
      for (const t of tags) lines.push(`Loaded image: ${familiarString(normalizeForStore(parseNormalizedNamed(t)))}`);
    } finally {
      for (const l of layers) l.release();
    }
  }
  if (platform && lines.length === 0) throw new NotFoundError(`no image of platform ${formatPlatform(platform)} in the archive`);
  return lines;
}

async function loadOciLayout(store: ArchiveStore, dir: string, signal: AbortSignal, platform?: Platform): Promise<string[]> {
  const blob = (digest: string) => {
    if (!/^sha256:[a-f0-9]{64}$/.test(digest)) throw new InvalidParameterError(`invalid digest ${digest}`);
    return secureJoin(dir, `blobs/sha256/${digest.slice(7)}`);
  };
  const index = parseManifest(await readFile(secureJoin(dir, 'index.json')), MT.ociIndex);
  if (index.kind !== 'index') throw new InvalidParameterError('index.json is not an image index');
  const lines: string[] = [];
  for (const d of index.index.manifests) {
    let m = parseManifest(await readFile(blob(d.digest)), d.mediaType);
    if (m.kind === 'index') m = parseManifest(await readFile(blob(selectPlatform(m.index, platform ?? hostPlatform()).digest)), undefined);
    if (m.kind !== 'manifest') throw new InvalidParameterError('nested index in OCI layout');
    const manifest: ImageManifest = m.manifest;
    const configBytes = await readFile(blob(manifest.config.digest));
    const config = JSON.parse(configBytes.toString('utf8')) as OciImageConfig;
    // --platform: the archive's images of other platforms are left out.
    if (platform && !platformMatches(config, platform)) continue;
    const { layers } = await unpackChain(store, manifest.layers.map((l) => blob(l.digest)), config.rootfs?.diff_ids, signal);
    try {
      const name = d.annotations?.['io.containerd.image.name'];
      const img = await store.createImage(config, { configBytes, ...(name ? { reference: name } : {}) });
      lines.push(name ? `Loaded image: ${familiarString(normalizeForStore(parseNormalizedNamed(name)))}` : `Loaded image ID: ${img.id}`);
    } finally {
      for (const l of layers) l.release();
    }
  }
  if (platform && lines.length === 0) throw new NotFoundError(`no image of platform ${formatPlatform(platform)} in the archive`);
  return lines;
}
