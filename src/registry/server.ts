import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { readFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import bcrypt from 'bcryptjs';
import { isDigest } from '../content/index.js';
import { MT } from '../distribution/media-types.js';
import { RegistryHttpError } from './errors.js';
import { RegistryStorage, validName, validTag } from './storage.js';

// berth's registry server: the OCI Distribution spec (Docker Registry v2
// API) over RegistryStorage. Blobs: HEAD/GET (with Range)/DELETE; uploads:
// monolithic (POST ?digest=, or POST then PUT), chunked (PATCH with
// Content-Range), status (GET), cancel (DELETE), cross-repository mount
// (POST ?mount=&from=); manifests by tag and digest: GET/HEAD/PUT/DELETE;
// tags/list and _catalog with n/last pagination and Link; referrers.

export interface RegistryServerOptions {
  root: string;
  /** htpasswd file (bcrypt entries): Basic auth for every request but the version check's challenge. */
  htpasswd?: string;
  tlsCert?: string;
  tlsKey?: string;
  /** Largest blob accepted, bytes. */
  maxUploadSize?: number;
  log?: (line: string) => void;
}

const DEFAULT_MAX_UPLOAD = 32 * 1024 ** 3;
const MANIFEST_LIMIT = 4 * 1024 * 1024;
const ROUTE = /^\/v2\/(.+?)\/(blobs\/uploads\/?([^/]*)|blobs\/([^/]+)|manifests\/([^/]+)|tags\/list|referrers\/([^/]+))$/;

export class RegistryServer {
  readonly storage: RegistryStorage;
  private server: Server | undefined;
  private users = new Map<string, string>();
  private readonly maxUpload: number;

  constructor(private readonly opts: RegistryServerOptions) {
    this.storage = new RegistryStorage(opts.root);
    this.maxUpload = opts.maxUploadSize ?? DEFAULT_MAX_UPLOAD;
  }

  async listen(host: string, port: number): Promise<AddressInfo> {
    await this.storage.init();
    if (this.opts.htpasswd) {
      for (const line of (await readFile(this.opts.htpasswd, 'utf8')).split('\n')) {
        const i = line.indexOf(':');
        if (i > 0) this.users.set(line.slice(0, i).trim(), line.slice(i + 1).trim());
      }
    }
    const handler = (req: IncomingMessage, res: ServerResponse) => {
      this.handle(req, res).catch((err: unknown) => {
        const e = err instanceof RegistryHttpError ? err : new RegistryHttpError('UNSUPPORTED', String((err as Error)?.message ?? err), 500);
        if (!(err instanceof RegistryHttpError)) this.opts.log?.(`error: ${String((err as Error)?.stack ?? err)}`);
        if (res.headersSent) {
          res.destroy();
          return;
        }
        res.writeHead(e.status, { 'Content-Type': 'application/json', 'Docker-Distribution-API-Version': 'registry/2.0' });
        res.end(req.method === 'HEAD' ? undefined : e.body());
      });
    };
    this.server =
      this.opts.tlsCert && this.opts.tlsKey
        ? createHttpsServer({ cert: await readFile(this.opts.tlsCert), key: await readFile(this.opts.tlsKey) }, handler)
        : createHttpServer(handler);
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(port, host, () => resolve());
    });
    return this.server.address() as AddressInfo;
  }

  async close(): Promise<void> {
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }

  private authorized(req: IncomingMessage): boolean {
    if (this.users.size === 0) return true;
    const h = req.headers.authorization ?? '';
    if (!h.startsWith('Basic ')) return false;
    const plain = Buffer.from(h.slice(6), 'base64').toString('utf8');
    const i = plain.indexOf(':');
    const hash = this.users.get(plain.slice(0, i));
    return hash !== undefined && bcrypt.compareSync(plain.slice(i + 1), hash.replace(/^\$2y\$/, '$2a$'));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    res.setHeader('Docker-Distribution-API-Version', 'registry/2.0');
    const url = new URL(req.url ?? '/', 'http://registry');
    const method = req.method ?? 'GET';
    if (!this.authorized(req)) {
      req.resume();
      res.setHeader('WWW-Authenticate', 'Basic realm="berth-registry"');
      throw new RegistryHttpError('UNAUTHORIZED');
    }
    if (url.pathname === '/v2/' || url.pathname === '/v2') {
      res.writeHead(200, { 'Content-Type': 'application/json' }).end('{}');
      return;
    }
    if (url.pathname === '/v2/_catalog' && method === 'GET') {
      const repos = await this.storage.catalog();
      return this.page(res, url, repos, 'repositories', (n, last) => `/v2/_catalog?n=${n}&last=${encodeURIComponent(last)}`);
    }
    const m = ROUTE.exec(url.pathname);
    if (!m) throw new RegistryHttpError('UNSUPPORTED', { path: url.pathname }, 404);
    const name = decodeURIComponent(m[1]!);
    if (!validName(name)) throw new RegistryHttpError('NAME_INVALID', { name });
    const [, , what, uploadId, blobDigest, manifestRef, referrer] = m;
    if (what === 'tags/list') {
      if (method !== 'GET') throw new RegistryHttpError('UNSUPPORTED');
      if (!(await this.storage.repoExists(name))) throw new RegistryHttpError('NAME_UNKNOWN', { name });
      const tags = await this.storage.tags(name);
      return this.page(res, url, tags, 'tags', (n, last) => `/v2/${name}/tags/list?n=${n}&last=${encodeURIComponent(last)}`, { name });
    }
    if (referrer !== undefined) return this.referrers(res, name, decodeURIComponent(referrer), url);
    if (what!.startsWith('blobs/uploads')) return this.upload(req, res, url, name, uploadId ? decodeURIComponent(uploadId) : undefined);
    if (blobDigest !== undefined) return this.blob(req, res, name, decodeURIComponent(blobDigest));
    if (manifestRef !== undefined) return this.manifest(req, res, name, decodeURIComponent(manifestRef));
    throw new RegistryHttpError('UNSUPPORTED', undefined, 404);
  }

  private page(res: ServerResponse, url: URL, all: string[], key: string, link: (n: number, last: string) => string, extra: Record<string, unknown> = {}): void {
    const last = url.searchParams.get('last');
    let items = last ? all.filter((x) => x > last) : all;
    const nText = url.searchParams.get('n');
    if (nText !== null) {
      const n = Number(nText);
      if (!Number.isInteger(n) || n < 0) throw new RegistryHttpError('UNSUPPORTED', { n: nText }, 400);
      if (items.length > n) {
        items = items.slice(0, n);
        if (n > 0) res.setHeader('Link', `<${link(n, items[items.length - 1]!)}>; rel="next"`);
      }
    }
    res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ ...extra, [key]: items }));
  }

  // ---- blobs -------------------------------------------------------------------

  private async blob(req: IncomingMessage, res: ServerResponse, name: string, digest: string): Promise<void> {
    const method = req.method ?? 'GET';
    if (!isDigest(digest)) throw new RegistryHttpError('DIGEST_INVALID', { digest });
    if (method === 'DELETE') {
      if (!(await this.storage.unlinkBlob(name, digest))) throw new RegistryHttpError('BLOB_UNKNOWN', { digest });
      res.writeHead(202, { 'Content-Length': '0' }).end();
      return;
    }
    if (method !== 'GET' && method !== 'HEAD') throw new RegistryHttpError('UNSUPPORTED');
    const size = await this.storage.hasBlob(name, digest);
    if (size === undefined) throw new RegistryHttpError('BLOB_UNKNOWN', { digest });
    const headers: Record<string, string> = { 'Docker-Content-Digest': digest, 'Content-Type': 'application/octet-stream', 'Accept-Ranges': 'bytes', ETag: `"${digest}"` };
    const range = req.headers.range ? /^bytes=(\d*)-(\d*)$/.exec(req.headers.range) : undefined;
    if (req.headers.range && !range) throw new RegistryHttpError('RANGE_INVALID', undefined, 416);
    if (range) {
      let start = range[1] ? Number(range[1]) : size - Number(range[2]);
      let end = range[1] ? (range[2] ? Math.min(Number(range[2]), size - 1) : size - 1) : size - 1;
      if (start < 0) start = 0;
      if (start > end || start >= size) {
        res.writeHead(416, { 'Content-Range': `bytes */${size}` }).end();
        return;
      }
      res.writeHead(206, { ...headers, 'Content-Range': `bytes ${start}-${end}/${size}`, 'Content-Length': String(end - start + 1) });
      if (method === 'HEAD') return void res.end();
      (await this.storage.content.reader(digest, { start, end })).pipe(res);
      return;
    }
    res.writeHead(200, { ...headers, 'Content-Length': String(size) });
    if (method === 'HEAD') return void res.end();
    const r = await this.storage.content.reader(digest);
    r.on('error', () => res.destroy());
    r.pipe(res);
  }

  // ---- uploads -----------------------------------------------------------------

  /** Where an upload stands. No Content-Length here: a response that carries a body sets its own. */
  private uploadHeaders(name: string, id: string, offset: number): Record<string, string> {
    return {
      Location: `/v2/${name}/blobs/uploads/${id}`,
      'Docker-Upload-UUID': id,
      Range: `0-${Math.max(0, offset - 1)}`,
    };
  }

  /**
   * A chunk whose Content-Range does not start where the upload stands: 416
   * with the upload's state, so the client can GET the status and resume.
   * Returns false when the chunk may be taken.
   */
  private async refuseOutOfOrder(req: IncomingMessage, res: ServerResponse, name: string, id: string): Promise<boolean> {
    const cr = req.headers['content-range'];
    if (!cr) return false;
    const m = /^(?:bytes )?(\d+)-(\d+)$/.exec(cr);
    const offset = await this.storage.uploadOffset(name, id);
    if (m && Number(m[1]) === offset) return false;
    req.resume();
    const body = new RegistryHttpError('BLOB_UPLOAD_INVALID', { range: cr }).body();
    res.writeHead(416, { ...this.uploadHeaders(name, id, offset), 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(body)) }).end(body);
    return true;
  }

  /** Appends the request body to the upload, within the size limit. */
  private async receive(req: IncomingMessage, name: string, id: string): Promise<number> {
    const w = await this.storage.writer(name, id);
    const declared = req.headers['content-length'] !== undefined ? Number(req.headers['content-length']) : undefined;
    if (declared !== undefined && w.offset + declared > this.maxUpload) {
      req.resume();
      throw new RegistryHttpError('SIZE_INVALID', { limit: this.maxUpload }, 413);
    }
    for await (const chunk of req as AsyncIterable<Buffer>) {
      if (w.offset + chunk.length > this.maxUpload) {
        req.destroy();
        await this.storage.cancelUpload(name, id).catch(() => {});
        throw new RegistryHttpError('SIZE_INVALID', { limit: this.maxUpload }, 413);
      }
      await w.write(chunk);
    }
    return w.offset;
  }

  private async upload(req: IncomingMessage, res: ServerResponse, url: URL, name: string, id: string | undefined): Promise<void> {
    const method = req.method ?? 'GET';
    if (id === undefined) {
      if (method !== 'POST') throw new RegistryHttpError('UNSUPPORTED');
      const mount = url.searchParams.get('mount');
      const from = url.searchParams.get('from');
      if (mount && from) {
        if (!isDigest(mount)) throw new RegistryHttpError('DIGEST_INVALID', { digest: mount });
        if (validName(from) && (await this.storage.hasBlob(from, mount)) !== undefined) {
          req.resume();
          await this.storage.linkBlob(name, mount);
          res.writeHead(201, { Location: `/v2/${name}/blobs/${mount}`, 'Docker-Content-Digest': mount, 'Content-Length': '0' }).end();
          return;
        }
      }
      const newId = await this.storage.startUpload(name);
      const digest = url.searchParams.get('digest');
      if (digest) {
        // Monolithic: the whole blob in the POST.
        if (!isDigest(digest)) throw new RegistryHttpError('DIGEST_INVALID', { digest });
        await this.receive(req, name, newId);
        await this.storage.finishUpload(name, newId, digest);
        res.writeHead(201, { Location: `/v2/${name}/blobs/${digest}`, 'Docker-Content-Digest': digest, 'Content-Length': '0' }).end();
        return;
      }
      req.resume();
      res.writeHead(202, { ...this.uploadHeaders(name, newId, 0), 'Content-Length': '0' }).end();
      return;
    }
    switch (method) {
      case 'GET': {
        const offset = await this.storage.uploadOffset(name, id);
        res.writeHead(204, this.uploadHeaders(name, id, offset)).end();
        return;
      }
      case 'PATCH': {
        if (await this.refuseOutOfOrder(req, res, name, id)) return;
        const offset = await this.receive(req, name, id);
        res.writeHead(202, { ...this.uploadHeaders(name, id, offset), 'Content-Length': '0' }).end();
        return;
      }
      case 'PUT': {
        const digest = url.searchParams.get('digest');
        if (!digest || !isDigest(digest)) {
          req.resume();
          throw new RegistryHttpError('DIGEST_INVALID', { digest });
        }
        // The closing PUT may carry the last chunk; out of order, it is refused like a PATCH.
        if (await this.refuseOutOfOrder(req, res, name, id)) return;
        await this.receive(req, name, id);
        await this.storage.finishUpload(name, id, digest);
        res.writeHead(201, { Location: `/v2/${name}/blobs/${digest}`, 'Docker-Content-Digest': digest, 'Content-Length': '0' }).end();
        return;
      }
      case 'DELETE':
        await this.storage.cancelUpload(name, id);
        res.writeHead(204).end();
        return;
      default:
        throw new RegistryHttpError('UNSUPPORTED');
    }
  }

  // ---- manifests ---------------------------------------------------------------

  private async manifest(req: IncomingMessage, res: ServerResponse, name: string, reference: string): Promise<void> {
    const method = req.method ?? 'GET';
    const wellFormed = isDigest(reference) || validTag(reference);
    // A reference that is neither a tag nor a digest names nothing that can
    // exist: reading or deleting it is a 404, as for any missing manifest;
    // only a PUT to it is a bad request.
    if (!wellFormed && method === 'PUT') throw new RegistryHttpError(reference.includes(':') ? 'DIGEST_INVALID' : 'MANIFEST_INVALID', { reference });
    if (method === 'GET' || method === 'HEAD') {
      const found = wellFormed ? await this.storage.resolveManifest(name, reference) : undefined;
      if (!found) throw new RegistryHttpError((await this.storage.repoExists(name)) ? 'MANIFEST_UNKNOWN' : 'NAME_UNKNOWN', { name, reference });
      const bytes = await this.storage.content.read(found.digest);
      res.writeHead(200, { 'Content-Type': found.mediaType, 'Docker-Content-Digest': found.digest, 'Content-Length': String(bytes.length), ETag: `"${found.digest}"` });
      res.end(method === 'HEAD' ? undefined : bytes);
      return;
    }
    if (method === 'DELETE') {
      if (!wellFormed || !(await this.storage.deleteManifest(name, reference))) throw new RegistryHttpError('MANIFEST_UNKNOWN', { reference });
      res.writeHead(202, { 'Content-Length': '0' }).end();
      return;
    }
    if (method !== 'PUT') throw new RegistryHttpError('UNSUPPORTED');
    const chunks: Buffer[] = [];
    let n = 0;
    for await (const c of req as AsyncIterable<Buffer>) {
      n += c.length;
      if (n > MANIFEST_LIMIT) throw new RegistryHttpError('SIZE_INVALID', { limit: MANIFEST_LIMIT }, 413);
      chunks.push(c);
    }
    const bytes = Buffer.concat(chunks);
    let doc: { schemaVersion?: number; mediaType?: string; config?: { digest?: string }; layers?: Array<{ digest?: string }>; manifests?: Array<{ digest?: string }>; subject?: { digest?: string } };
    try {
      doc = JSON.parse(bytes.toString('utf8')) as typeof doc;
    } catch {
      throw new RegistryHttpError('MANIFEST_INVALID', 'not JSON');
    }
    const contentType = (req.headers['content-type'] ?? '').split(';')[0]!.trim();
    const mediaType = doc.mediaType ?? (contentType || (Array.isArray(doc.manifests) ? MT.ociIndex : MT.ociManifest));
    if (doc.mediaType && contentType && contentType !== doc.mediaType && contentType !== 'application/json') {
      throw new RegistryHttpError('MANIFEST_INVALID', 'mediaType does not match Content-Type');
    }
    if (doc.schemaVersion !== 2) throw new RegistryHttpError('MANIFEST_INVALID', 'schemaVersion must be 2');
    if (Array.isArray(doc.manifests)) {
      for (const m of doc.manifests) {
        if (!m.digest || !isDigest(m.digest) || !(await this.storage.resolveManifest(name, m.digest))) throw new RegistryHttpError('MANIFEST_UNKNOWN', { digest: m.digest });
      }
    } else {
      if (!doc.config?.digest || !Array.isArray(doc.layers)) throw new RegistryHttpError('MANIFEST_INVALID', 'config and layers are required');
      for (const d of [doc.config.digest, ...doc.layers.map((l) => l.digest ?? '')]) {
        if (!isDigest(d) || (await this.storage.hasBlob(name, d)) === undefined) throw new RegistryHttpError('MANIFEST_BLOB_UNKNOWN', { digest: d });
      }
    }
    const subject = doc.subject?.digest && isDigest(doc.subject.digest) ? doc.subject.digest : undefined;
    const digest = await this.storage.putManifest(name, reference, mediaType, bytes, subject);
    const headers: Record<string, string> = { Location: `/v2/${name}/manifests/${digest}`, 'Docker-Content-Digest': digest, 'Content-Length': '0' };
    if (subject) headers['OCI-Subject'] = subject;
    res.writeHead(201, headers).end();
  }

  private async referrers(res: ServerResponse, name: string, subject: string, url: URL): Promise<void> {
    if (!isDigest(subject)) throw new RegistryHttpError('DIGEST_INVALID', { digest: subject });
    const artifactType = url.searchParams.get('artifactType');
    const manifests = [];
    for (const r of await this.storage.referrers(name, subject)) {
      const bytes = await this.storage.content.read(r.digest);
      const doc = JSON.parse(bytes.toString('utf8')) as { artifactType?: string; config?: { mediaType?: string }; annotations?: Record<string, string> };
      const type = doc.artifactType ?? doc.config?.mediaType;
      if (artifactType && type !== artifactType) continue;
      manifests.push({ mediaType: r.mediaType, digest: r.digest, size: bytes.length, ...(type ? { artifactType: type } : {}), ...(doc.annotations ? { annotations: doc.annotations } : {}) });
    }
    const headers: Record<string, string> = { 'Content-Type': MT.ociIndex };
    if (artifactType) headers['OCI-Filters-Applied'] = 'artifactType';
    res.writeHead(200, headers).end(JSON.stringify({ schemaVersion: 2, mediaType: MT.ociIndex, manifests }));
  }
}

/** "HOST:PORT", "[V6]:PORT" or ":PORT" (all interfaces) → where to listen. */
export function parseListenAddress(addr: string): { host: string; port: number } | undefined {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(addr);
  if (!m || Number(m[3]) > 65535) return undefined;
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port: Number(m[3]) };
}
