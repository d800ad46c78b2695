import { createGzip } from 'node:zlib';
import { Transform } from 'node:stream';
import { createHash } from 'node:crypto';
import { NotFoundError, InvalidParameterError } from '../errors/index.js';
import { decompress } from '../archive/index.js';
import { familiarName, familiarString, type ImageRecord, type Reference } from '../image/index.js';
import type { JSONMessage } from '../types/engine.js';
import { readBody } from './http.js';
import { MT } from './media-types.js';
import type { Descriptor } from './manifest.js';
import { Channel, progress, shortId, status } from './progress.js';
import { failure, type RegistrySession } from './session.js';
import type { DistributionStore } from './store.js';
import type { BlobSource, BlobSources } from './blob-sources.js';

// docker push: each layer's blob is checked (HEAD), mounted from another
// repository of the same registry when the image came from one, or
// uploaded (POST, then PUT with the digest); then the config, then the
// manifest. The RepoDigest the registry now knows is recorded locally.

const PUSH_CONCURRENCY = 5;

/** A layer blob to push: gzip, compressing a plain one once and keeping the result. */
async function layerBlob(store: DistributionStore, chainId: string): Promise<Descriptor> {
  const layer = await store.layer(chainId);
  if (!layer) throw new NotFoundError(`layer ${chainId} does not exist`);
  if (layer.blob && layer.blob.compression === 'gzip' && (await store.content.info(layer.blob.digest))) {
    return { mediaType: MT.dockerLayerGzip, digest: layer.blob.digest, size: layer.blob.size };
  }
  if (!layer.blob || !(await store.content.info(layer.blob.digest))) throw new InvalidParameterError(`layer ${chainId} has no stored blob to push`);
  const { stream } = await decompress(await store.content.reader(layer.blob.digest));
  const gz = createGzip();
  stream.on('error', (err) => gz.destroy(err));
  stream.pipe(gz);
  const info = await store.content.ingest(gz);
  await store.setLayerBlob(chainId, { digest: info.digest, size: info.size, compression: 'gzip' });
  return { mediaType: MT.dockerLayerGzip, digest: info.digest, size: info.size };
}

/** Repositories of the same registry this image was pulled from: mount sources. */
function mountSources(img: ImageRecord, target: Reference): string[] {
  const out: string[] = [];
  for (const rd of img.repoDigests) {
    const at = rd.indexOf('@');
    const name = rd.slice(0, at);
    const slash = name.indexOf('/');
    const domain = slash > 0 && /[.:]|^localhost$/.test(name.slice(0, slash)) ? name.slice(0, slash) : undefined;
    if (domain !== target.domain) continue;
    const path = name.slice(slash + 1);
    if (path !== target.path && !out.includes(path)) out.push(path);
  }
  return out;
}

async function blobExists(session: RegistrySession, repo: string, digest: string, scopes: string[], signal: AbortSignal): Promise<boolean> {
  const res = await session.request(`${repo}/blobs/${digest}`, { method: 'HEAD', scopes, signal });
  res.resume();
  if (res.statusCode === 200) return true;
  if (res.statusCode === 404) return false;
  throw await failure(res, `checking blob ${digest}`);
}

async function uploadBlob(
  store: DistributionStore,
  session: RegistrySession,
  repo: string,
  d: Descriptor,
  scopes: string[],
  signal: AbortSignal,
  onProgress: (n: number) => void,
): Promise<void> {
  const start = await session.request(`${repo}/blobs/uploads/`, { method: 'POST', scopes, signal, headers: { 'Content-Length': '0' } });
  start.resume();
  if (start.statusCode !== 202) throw await failure(start, `starting upload of ${d.digest}`);
  const location = start.headers.location;
  if (!location) throw new InvalidParameterError('registry gave no upload location');
  const base = await session.base(signal);
  const url = new URL(location, new URL('v2/', base));
  url.searchParams.set('digest', d.digest);
  const source = await store.content.reader(d.digest);
  let sent = 0;
  // Counting on the way through: a 'data' listener would start the flow before the request takes it.
  const body = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      sent += chunk.length;
      onProgress(sent);
      cb(null, chunk);
    },
  });
  source.on('error', (err) => body.destroy(err));
  source.pipe(body);
  const res = await session.request(url.href, { method: 'PUT', scopes, signal, body, headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': String(d.size) } });
  if (res.statusCode !== 201) throw await failure(res, `uploading ${d.digest}`);
  res.resume();
}

async function tryMount(session: RegistrySession, repo: string, digest: string, from: string, signal: AbortSignal): Promise<boolean> {
  const scopes = [`repository:${repo}:pull,push`, `repository:${from}:pull`];
  const res = await session.request(`${repo}/blobs/uploads/?mount=${encodeURIComponent(digest)}&from=${encodeURIComponent(from)}`, { method: 'POST', scopes, signal, headers: { 'Content-Length': '0' } });
  res.resume();
  if (res.statusCode === 201) return true;
  if (res.statusCode === 202) {
    // The registry started an upload instead: cancel it.
    const loc = res.headers.location;
    if (loc) {
      const base = await session.base(signal);
      await session.request(new URL(loc, new URL('v2/', base)).href, { method: 'DELETE', scopes, signal }).then((r) => r.resume()).catch(() => {});
    }
  }
  return false;
}

/** Pushes one tag of an image; returns the manifest digest. */
export async function pushImage(store: DistributionStore, session: RegistrySession, target: Reference, img: ImageRecord, signal: AbortSignal, out: Channel<JSONMessage>, sources?: BlobSources): Promise<string> {
  const repo = target.path;
  const scopes = [`repository:${repo}:pull,push`];
  const mounts = mountSources(img, target);
  const diffIds = img.config.rootfs.diff_ids;
  // Blobs this registry is known to have for each layer (from pulls and pushes).
  const known: BlobSource[][] = [];
  for (const d of diffIds) known.push(((await sources?.get(d)) ?? []).filter((s) => s.repository.startsWith(`${target.domain}/`)));
  const descs: Descriptor[] = [];
  for (const [i, c] of img.chainIds.entries()) {
    const k = known[i]![0];
    descs.push(k && !(await store.content.info(k.digest)) ? { mediaType: k.mediaType, digest: k.digest, size: k.size } : await layerBlob(store, c));
  }
  // Docker lists layers top first.
  for (const d of [...descs].reverse()) out.push(status(shortId(d.digest), 'Preparing'));
  let running = 0;
  const queue: Array<() => void> = [];
  await Promise.all(
    [...descs.keys()].reverse().map(async (i) => {
      let d = descs[i]!;
      const id = shortId(d.digest);
      if (running >= PUSH_CONCURRENCY) {
        out.push(status(id, 'Waiting'));
        await new Promise<void>((r) => queue.push(r));
      }
      running++;
      try {
        if (await blobExists(session, repo, d.digest, scopes, signal)) {
          out.push(status(id, 'Layer already exists'));
          return;
        }
        // Another blob of the same layer may be there already, or in another repository.
        for (const k of known[i]!) {
          const from = k.repository.slice(target.domain.length + 1);
          const exists = k.digest !== d.digest && (await blobExists(session, repo, k.digest, scopes, signal));
          if (exists || (from !== repo && (await tryMount(session, repo, k.digest, from, signal)))) {
            descs[i] = d = { mediaType: k.mediaType, digest: k.digest, size: k.size };
            out.push(status(id, exists ? 'Layer already exists' : `Mounted from ${from}`));
            return;
          }
        }
        for (const from of mounts) {
          if (await tryMount(session, repo, d.digest, from, signal)) {
            out.push(status(id, `Mounted from ${from}`));
            return;
          }
        }
        if (!(await store.content.info(d.digest))) descs[i] = d = await layerBlob(store, img.chainIds[i]!);
        let last = 0;
        await uploadBlob(store, session, repo, d, scopes, signal, (n) => {
          if (n - last >= 512 * 1024 || n === d.size) {
            last = n;
            out.push(progress(id, 'Pushing', n, d.size));
          }
        });
        out.push(status(id, 'Pushed'));
      } finally {
        running--;
        queue.shift()?.();
      }
    }),
  );
  // The config, exactly as stored (its digest is the image ID).
  const configBytes = await store.content.read(img.id);
  const config: Descriptor = { mediaType: MT.dockerConfig, digest: img.id, size: configBytes.length };
  if (!(await blobExists(session, repo, img.id, scopes, signal))) await uploadBlob(store, session, repo, config, scopes, signal, () => {});
  const manifest = Buffer.from(
    JSON.stringify({ schemaVersion: 2, mediaType: MT.dockerManifest, config, layers: descs.map((d) => ({ mediaType: d.mediaType, size: d.size, digest: d.digest })) }, null, 3),
  );
  const digest = 'sha256:' + createHash('sha256').update(manifest).digest('hex');
  const tag = target.tag ?? 'latest';
  const res = await session.request(`${repo}/manifests/${tag}`, { method: 'PUT', scopes, signal, body: manifest, headers: { 'Content-Type': MT.dockerManifest } });
  if (res.statusCode !== 201 && res.statusCode !== 200) throw await failure(res, `pushing manifest for ${familiarString(target)}`);
  await readBody(res).catch(() => Buffer.alloc(0));
  await store.addRepoDigest(img.id, `${familiarName(target)}@${digest}`);
  for (const [i, d] of descs.entries()) await sources?.add(diffIds[i]!, { digest: d.digest, size: d.size, mediaType: d.mediaType, repository: `${target.domain}/${repo}` }).catch(() => {});
  out.push({ status: `${tag}: digest: ${digest} size: ${manifest.length}` });
  out.push({ progressDetail: {}, aux: { Tag: tag, Digest: digest, Size: manifest.length } } as JSONMessage);
  return digest;
}
