import { Transform } from 'node:stream';
import { createHash } from 'node:crypto';
import { DigestMismatchError, isDigest, type FileIngest } from '../content/index.js';
import { InvalidParameterError, NotFoundError, UnauthorizedError, errorMessage } from '../errors/index.js';
import { chainIds, familiarName, familiarString, hostPlatform, type ImportedLayer, type OciImageConfig, type PendingLayer, type Platform, type Reference } from '../image/index.js';
import type { JSONMessage } from '../types/engine.js';
import { readBody } from './http.js';
import { MANIFEST_ACCEPT, LAYER_TYPES } from './media-types.js';
import { parseManifest, selectPlatform, type Descriptor, type ImageManifest } from './manifest.js';
import { Channel, progress, shortId, status } from './progress.js';
import { failure, type RegistrySession } from './session.js';
import type { DistributionStore } from './store.js';
import type { BlobSources } from './blob-sources.js';

// docker pull. Every layer is downloaded at once (up to a limit), and each is
// decompressed, hashed and unpacked while it arrives, into a snapshot of its
// own (see LayerStore.unpack in src/image), concurrently with the others; moby
// downloads in parallel but extracts one layer at a time. A layer joins the
// store only once its blob digest and its diff ID are verified, bottom layer
// first, and the image (config, tag, RepoDigest) is written last: until then
// nothing of the pull is visible, and a failure or a client hanging up
// removes what was unpacked.

const MAX_CONCURRENT = 8;
// Progress as moby's progress reader sends it: every 512 KiB, at most ten times a second.
const PROGRESS_EVERY_BYTES = 512 * 1024;
const PROGRESS_EVERY_MS = 100;

export interface ResolvedManifest {
  /** Digest of the manifest the tag or digest named (an index's, for multi-arch). */
  digest: string;
  mediaType: string;
  size: number;
  manifest: ImageManifest;
  /** Digest of the platform manifest picked from an index (same as digest otherwise). */
  manifestDigest: string;
}

function scopeOf(ref: Reference, actions = 'pull'): string {
  return `repository:${ref.path}:${actions}`;
}

/** "pull access denied for x, repository does not exist or may require 'docker login'" and friends. */
function manifestError(ref: Reference, err: unknown): unknown {
  const msg = errorMessage(err);
  const name = familiarName(ref);
  if (err instanceof UnauthorizedError || /denied|unauthorized/i.test(msg)) {
    return new NotFoundError(`pull access denied for ${name}, repository does not exist or may require 'docker login': ${msg.replace(/^[^:]*: /, '')}`);
  }
  if (err instanceof NotFoundError) {
    const tagOrDigest = ref.digest ?? ref.tag ?? 'latest';
    return new NotFoundError(`manifest for ${name}${ref.digest ? '@' : ':'}${tagOrDigest} not found: ${msg.replace(/^[^:]*: /, '')}`);
  }
  return err;
}

async function fetchManifest(session: RegistrySession, ref: Reference, reference: string, signal: AbortSignal): Promise<{ bytes: Buffer; digest: string; contentType: string | undefined }> {
  const res = await session.request(`${ref.path}/manifests/${reference}`, { headers: { Accept: MANIFEST_ACCEPT }, scopes: [scopeOf(ref)], signal });
  if (res.statusCode !== 200) throw await failure(res, 'manifest unknown');
  const bytes = await readBody(res, 4 << 20);
  const digest = 'sha256:' + createHash('sha256').update(bytes).digest('hex');
  if (isDigest(reference) && digest !== reference) throw new DigestMismatchError(reference, digest);
  return { bytes, digest, contentType: res.headers['content-type'] };
}

/** Resolves a tag or digest to one image manifest for `platform`. */
export async function resolveManifest(session: RegistrySession, ref: Reference, platform: Platform, signal: AbortSignal): Promise<ResolvedManifest> {
  const reference = ref.digest ?? ref.tag ?? 'latest';
  let top;
  try {
    top = await fetchManifest(session, ref, reference, signal);
  } catch (err) {
    throw manifestError(ref, err);
  }
  const parsed = parseManifest(top.bytes, top.contentType);
  if (parsed.kind === 'manifest') return { digest: top.digest, mediaType: parsed.mediaType, size: top.bytes.length, manifest: parsed.manifest, manifestDigest: top.digest };
  const entry = selectPlatform(parsed.index, platform);
  const inner = await fetchManifest(session, ref, entry.digest, signal);
  const m = parseManifest(inner.bytes, inner.contentType ?? entry.mediaType);
  if (m.kind !== 'manifest') throw new InvalidParameterError(`manifest ${entry.digest} is an index inside an index`);
  return { digest: top.digest, mediaType: parsed.mediaType, size: top.bytes.length, manifest: m.manifest, manifestDigest: inner.digest };
}

/** Fetches a small blob (a config) and verifies it. */
export async function fetchSmallBlob(session: RegistrySession, ref: Reference, d: Descriptor, signal: AbortSignal): Promise<Buffer> {
  const res = await session.request(`${ref.path}/blobs/${d.digest}`, { scopes: [scopeOf(ref)], signal });
  if (res.statusCode !== 200) throw await failure(res, `fetching blob ${d.digest}`);
  const bytes = await readBody(res, 64 << 20);
  const digest = 'sha256:' + createHash('sha256').update(bytes).digest('hex');
  if (digest !== d.digest) throw new DigestMismatchError(d.digest, digest);
  return bytes;
}

export interface PullOptions {
  platform?: Platform;
  signal: AbortSignal;
  /** Where layer blobs were seen: recorded for later pushes. */
  sources?: BlobSources;
}

/** A pull that has its manifest: run() streams the rest. */
export interface PreparedPull {
  ref: Reference;
  resolved: ResolvedManifest;
  run(out: Channel<JSONMessage>): Promise<void>;
}

/**
 * Resolves the manifest first (so "not found" and "access denied" are
 * answered as HTTP errors, as dockerd does), then returns the pull itself.
 */
export async function preparePull(store: DistributionStore, session: RegistrySession, ref: Reference, opts: PullOptions): Promise<PreparedPull> {
  const platform = opts.platform ?? hostPlatform();
  const resolved = await resolveManifest(session, ref, platform, opts.signal);
  return { ref, resolved, run: (out) => runPull(store, session, ref, resolved, opts.signal, out, opts.sources) };
}

async function runPull(store: DistributionStore, session: RegistrySession, ref: Reference, resolved: ResolvedManifest, signal: AbortSignal, out: Channel<JSONMessage>, sources?: BlobSources): Promise<void> {
  const tagOrDigest = ref.digest ?? ref.tag ?? 'latest';
  out.push(status(tagOrDigest, `Pulling from ${ref.path}`));
  const manifest = resolved.manifest;
  const configBytes = await fetchSmallBlob(session, ref, manifest.config, signal);
  const config = JSON.parse(configBytes.toString('utf8')) as OciImageConfig;
  const diffIds = config.rootfs?.diff_ids ?? [];
  const layers = manifest.layers.filter((l) => !l.mediaType || LAYER_TYPES.has(l.mediaType) || l.mediaType.includes('layer'));
  if (diffIds.length !== layers.length) throw new InvalidParameterError(`manifest ${resolved.manifestDigest} has ${layers.length} layers but its config lists ${diffIds.length}`);
  const chain = chainIds(diffIds);

  const held: ImportedLayer[] = [];
  const pendings: Array<PendingLayer | undefined> = [];
  const ac = new AbortController();
  const onAbort = () => ac.abort(signal.reason);
  signal.addEventListener('abort', onAbort, { once: true });
  const inner = ac.signal;
  try {
    // Layers present already (their chain, not just their blob) are skipped.
    const present: boolean[] = [];
    for (let i = 0; i < layers.length; i++) {
      const have = present[i - 1] !== false && (await store.layerByChain(chain[i]!)) !== undefined;
      present.push(have);
      if (have) held.push(await store.holdLayer(chain[i]!));
    }
    for (let i = 0; i < layers.length; i++) {
      out.push(status(shortId(layers[i]!.digest), present[i] ? 'Already exists' : 'Pulling fs layer'));
    }
    let running = 0;
    const queue: Array<() => void> = [];
    const slot = async (id: string) => {
      if (running >= MAX_CONCURRENT) {
        out.push(status(id, 'Waiting'));
        await new Promise<void>((r) => queue.push(r));
      }
      running++;
    };
    const freeSlot = () => {
      running--;
      queue.shift()?.();
    };

    // Each layer's commit waits for the one below it.
    const committed: Array<Promise<void>> = [];
    const tasks = layers.map((desc, i) => {
      const below = i === 0 ? Promise.resolve() : committed[i - 1]!;
      const task = (async () => {
        if (present[i]) return;
        const id = shortId(desc.digest);
        await slot(id);
        let pending: PendingLayer | undefined;
        try {
          pending = await fetchAndUnpack(store, session, ref, desc, diffIds[i]!, i === 0 ? undefined : chain[i - 1], below, inner, out);
          pendings[i] = pending;
        } finally {
          freeSlot();
        }
        await below;
        const layer = await pending.commit({ ...(i > 0 ? { parent: chain[i - 1]! } : {}), blob: { digest: desc.digest, size: desc.size } });
        pendings[i] = undefined;
        held.push(layer);
        out.push(status(id, 'Pull complete'));
      })();
      committed.push(task);
      return task;
    });
    // The first failure stops the others.
    await Promise.all(tasks.map((t) => t.catch((err: unknown) => {
      if (!inner.aborted) ac.abort(err);
      throw err;
    }))).catch(async (err: unknown) => {
      await Promise.allSettled(tasks);
      throw err;
    });

    const record = await store.createImage(config, {
      configBytes,
      ...(ref.digest === undefined ? { reference: familiarString(ref) } : {}),
      repoDigest: `${familiarName(ref)}@${resolved.digest}`,
    });
    void record;
    // This registry has these blobs for these layers: a later push may skip or mount them.
    for (const [i, l] of layers.entries()) {
      await sources?.add(diffIds[i]!, { digest: l.digest, size: l.size, mediaType: l.mediaType, repository: `${ref.domain}/${ref.path}` }).catch(() => {});
    }
  } catch (err) {
    for (const p of pendings) await p?.abort();
    for (const h of held) h.release();
    held.length = 0;
    await store.discardLayers(chain).catch(() => {});
    for (const l of layers) await store.discardBlob(l.digest).catch(() => {});
    throw signal.aborted ? (signal.reason ?? err) : err;
  } finally {
    signal.removeEventListener('abort', onAbort);
    for (const h of held) h.release();
  }
  out.push(status(undefined, `Digest: ${resolved.digest}`));
}

async function fetchAndUnpack(
  store: DistributionStore,
  session: RegistrySession,
  ref: Reference,
  desc: Descriptor,
  diffId: string,
  parent: string | undefined,
  parentReady: Promise<void>,
  signal: AbortSignal,
  out: Channel<JSONMessage>,
): Promise<PendingLayer> {
  const id = shortId(desc.digest);
  const res = await session.request(`${ref.path}/blobs/${desc.digest}`, { scopes: [scopeOf(ref)], signal });
  if (res.statusCode !== 200) throw await failure(res, `fetching blob ${desc.digest}`);
  const total = Number(res.headers['content-length'] ?? desc.size) || desc.size;
  // The blob is kept by the unpacking pipeline itself (tee), not written here:
  // this process only hashes the compressed bytes on their way through.
  let ingest: FileIngest;
  try {
    ingest = await store.content.fileIngest(`pull-${desc.digest}-${Math.random().toString(36).slice(2)}`);
  } catch (err) {
    res.destroy();
    throw err;
  }
  const hash = createHash('sha256');
  let current = 0;
  let reported = 0;
  let reportedAt = 0;
  let mismatch: Error | undefined;
  const body = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      current += chunk.length;
      if (current - reported >= PROGRESS_EVERY_BYTES && Date.now() - reportedAt >= PROGRESS_EVERY_MS) {
        reported = current;
        reportedAt = Date.now();
        out.push(progress(id, 'Downloading', current, total));
      }
      cb(null, chunk);
    },
    flush(cb) {
      out.push(status(id, 'Verifying Checksum'));
      // The blob must be what the manifest named before anything of it is kept.
      const digest = 'sha256:' + hash.digest('hex');
      if (digest !== desc.digest || current !== desc.size) {
        mismatch = new InvalidParameterError(`filesystem layer verification failed for digest ${desc.digest}`);
        cb(mismatch);
        return;
      }
      out.push(status(id, 'Download complete'));
      cb();
    },
  });
  // Its failures reach the unpack that reads it (and `mismatch` says what was wrong).
  body.on('error', () => {});
  res.on('error', (err) => body.destroy(err));
  res.pipe(body);
  const unpacking = store.unpackLayer(body, { ...(parent !== undefined ? { parent } : {}), parentReady, signal, blobPath: ingest.path });
  // A failed unpack must stop the download too.
  unpacking.catch(() => res.destroy());
  let pending: PendingLayer | undefined;
  try {
    try {
      pending = await unpacking;
    } catch (err) {
      // A tampered blob usually breaks the decompression too: say what was wrong with it.
      throw mismatch ?? err;
    }
    if (mismatch) throw mismatch;
    await ingest.commit(desc.digest, desc.size);
    out.push(progress(id, 'Extracting', pending.size, pending.size));
    if (pending.diffId !== diffId) {
      throw new InvalidParameterError(`failed to register layer: layer ${desc.digest} has diff ID ${pending.diffId}, its config says ${diffId}`);
    }
    return pending;
  } catch (err) {
    res.destroy();
    body.destroy();
    await ingest.abort().catch(() => {});
    await pending?.abort();
    throw err;
  }
}
