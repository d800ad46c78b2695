import { randomUUID } from 'node:crypto';
import { mkdir, readFile, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { LocalContentStore, isDigest, sha256Of, type Writer } from '../content/index.js';
import { writeFileAtomic } from '../util/atomic-file.js';
import { RegistryHttpError } from './errors.js';

// The registry's files, beside a content store of its own:
//
//   <root>/blobs/sha256/<hex>                  every blob and manifest, by digest
//   <root>/ingest/                             uploads in progress (the Ingester's)
//   <root>/repositories/<name>/_layers/<hex>   this repository may serve that blob
//   <root>/repositories/<name>/_manifests/<hex>  a manifest of this repository: its media type
//   <root>/repositories/<name>/_tags/<tag>     the digest the tag points at
//   <root>/repositories/<name>/_referrers/<subject hex>/<hex>  manifests whose subject is that digest
//   <root>/repositories/<name>/_uploads/<uuid> an upload of this repository
//
// Every small file is written atomically; a blob becomes visible by rename
// once verified. A repository link is written after its blob, so a crash
// leaves an unlinked blob (collected by garbage-collect), never a link to
// nothing.

const NAME = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;

export function validName(name: string): boolean {
  return name.length <= 255 && NAME.test(name);
}

export function validTag(tag: string): boolean {
  return TAG.test(tag);
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

export class RegistryStorage {
  readonly content: LocalContentStore;
  private readonly writers = new Map<string, Writer>();

  constructor(readonly root: string) {
    this.content = new LocalContentStore(root);
  }

  private repo(name: string): string {
    return join(this.root, 'repositories', name);
  }

  async init(): Promise<void> {
    await mkdir(join(this.root, 'repositories'), { recursive: true });
    await this.content.cleanup();
  }

  async repoExists(name: string): Promise<boolean> {
    return exists(this.repo(name));
  }

  async hasBlob(name: string, digest: string): Promise<number | undefined> {
    if (!isDigest(digest)) throw new RegistryHttpError('DIGEST_INVALID', { digest });
    if (!(await exists(join(this.repo(name), '_layers', digest.slice(7)))) && !(await exists(join(this.repo(name), '_manifests', digest.slice(7))))) return undefined;
    return (await this.content.info(digest))?.size;
  }

  async linkBlob(name: string, digest: string): Promise<void> {
    await writeFileAtomic(join(this.repo(name), '_layers', digest.slice(7)), digest);
  }

  async unlinkBlob(name: string, digest: string): Promise<boolean> {
    const p = join(this.repo(name), '_layers', digest.slice(7));
    if (!(await exists(p))) return false;
    await rm(p, { force: true });
    return true;
  }

  // ---- uploads ---------------------------------------------------------------

  async startUpload(name: string): Promise<string> {
    const id = randomUUID();
    await writeFileAtomic(join(this.repo(name), '_uploads', id), new Date().toISOString());
    return id;
  }

  private async uploadKnown(name: string, id: string): Promise<void> {
    if (!/^[0-9a-f-]{36}$/.test(id) || !(await exists(join(this.repo(name), '_uploads', id)))) throw new RegistryHttpError('BLOB_UPLOAD_UNKNOWN', { uuid: id });
  }

  /** The upload's writer (resumed from disk if this process did not open it). */
  async writer(name: string, id: string): Promise<Writer> {
    await this.uploadKnown(name, id);
    let w = this.writers.get(id);
    if (!w) {
      w = await this.content.writer(`upload-${id}`);
      this.writers.set(id, w);
    }
    return w;
  }

  async uploadOffset(name: string, id: string): Promise<number> {
    return (await this.writer(name, id)).offset;
  }

  async finishUpload(name: string, id: string, digest: string): Promise<void> {
    const w = await this.writer(name, id);
    this.writers.delete(id);
    try {
      await w.commit(digest);
    } catch {
      throw new RegistryHttpError('DIGEST_INVALID', { digest });
    } finally {
      await rm(join(this.repo(name), '_uploads', id), { force: true });
    }
    await this.linkBlob(name, digest);
  }

  async cancelUpload(name: string, id: string): Promise<void> {
    const w = await this.writer(name, id);
    this.writers.delete(id);
    await w.abort();
    await rm(join(this.repo(name), '_uploads', id), { force: true });
  }

  // ---- manifests -------------------------------------------------------------

  async resolveManifest(name: string, reference: string): Promise<{ digest: string; mediaType: string } | undefined> {
    let digest = reference;
    if (!isDigest(reference)) {
      if (!validTag(reference)) throw new RegistryHttpError('MANIFEST_INVALID', { tag: reference });
      digest = (await readFile(join(this.repo(name), '_tags', reference), 'utf8').catch(() => '')).trim();
      if (!digest) return undefined;
    }
    const mediaType = await readFile(join(this.repo(name), '_manifests', digest.slice(7)), 'utf8').catch(() => undefined);
    if (mediaType === undefined) return undefined;
    return { digest, mediaType };
  }

  async putManifest(name: string, reference: string, mediaType: string, bytes: Buffer, subject?: string): Promise<string> {
    const digest = sha256Of(bytes);
    if (isDigest(reference) && reference !== digest) throw new RegistryHttpError('DIGEST_INVALID', { digest: reference });
    await this.content.put(bytes);
    await writeFileAtomic(join(this.repo(name), '_manifests', digest.slice(7)), mediaType);
    if (subject) await writeFileAtomic(join(this.repo(name), '_referrers', subject.slice(7), digest.slice(7)), mediaType);
    if (!isDigest(reference)) await writeFileAtomic(join(this.repo(name), '_tags', reference), digest);
    return digest;
  }

  async deleteManifest(name: string, reference: string): Promise<boolean> {
    if (!isDigest(reference)) {
      const p = join(this.repo(name), '_tags', reference);
      if (!(await exists(p))) return false;
      await rm(p, { force: true });
      return true;
    }
    const p = join(this.repo(name), '_manifests', reference.slice(7));
    if (!(await exists(p))) return false;
    await rm(p, { force: true });
    // Tags pointing at it go with it.
    for (const t of await this.tags(name)) {
      const d = (await readFile(join(this.repo(name), '_tags', t), 'utf8').catch(() => '')).trim();
      if (d === reference) await rm(join(this.repo(name), '_tags', t), { force: true });
    }
    return true;
  }

  async referrers(name: string, subject: string): Promise<Array<{ digest: string; mediaType: string }>> {
    const dir = join(this.repo(name), '_referrers', subject.slice(7));
    const out: Array<{ digest: string; mediaType: string }> = [];
    for (const hex of await readdir(dir).catch(() => [] as string[])) {
      if (!/^[a-f0-9]{64}$/.test(hex)) continue;
      if (!(await exists(join(this.repo(name), '_manifests', hex)))) continue;
      out.push({ digest: `sha256:${hex}`, mediaType: await readFile(join(dir, hex), 'utf8') });
    }
    return out;
  }

  async tags(name: string): Promise<string[]> {
    return (await readdir(join(this.repo(name), '_tags')).catch(() => [] as string[])).filter((t) => validTag(t)).sort();
  }

  async catalog(): Promise<string[]> {
    const out: string[] = [];
    const walk = async (dir: string, prefix: string) => {
      const names = await readdir(dir).catch(() => [] as string[]);
      if (names.includes('_manifests') || names.includes('_layers')) out.push(prefix);
      for (const n of names) if (!n.startsWith('_')) await walk(join(dir, n), prefix ? `${prefix}/${n}` : n);
    };
    await walk(join(this.root, 'repositories'), '');
    return out.filter(Boolean).sort();
  }

  /** Mark and sweep: blobs no repository links (layers, manifests, configs they name) are deleted. */
  async garbageCollect(): Promise<{ deleted: string[] }> {
    const keep = new Set<string>();
    for (const name of await this.catalog()) {
      for (const hex of await readdir(join(this.repo(name), '_manifests')).catch(() => [] as string[])) {
        if (!/^[a-f0-9]{64}$/.test(hex)) continue;
        keep.add(`sha256:${hex}`);
        try {
          const doc = JSON.parse((await this.content.read(`sha256:${hex}`)).toString('utf8')) as { config?: { digest: string }; layers?: Array<{ digest: string }>; manifests?: Array<{ digest: string }> };
          if (doc.config) keep.add(doc.config.digest);
          for (const l of doc.layers ?? []) keep.add(l.digest);
          for (const m of doc.manifests ?? []) keep.add(m.digest);
        } catch {
          // A manifest whose blob is gone keeps nothing.
        }
      }
    }
    const deleted: string[] = [];
    for (const b of await this.content.list()) {
      if (!keep.has(b.digest)) {
        await this.content.delete(b.digest);
        deleted.push(b.digest);
      }
    }
    // Repository links to blobs that are gone.
    for (const name of await this.catalog()) {
      for (const hex of await readdir(join(this.repo(name), '_layers')).catch(() => [] as string[])) {
        if (!(await this.content.info(`sha256:${hex}`))) await rm(join(this.repo(name), '_layers', hex), { force: true });
      }
    }
    return { deleted };
  }
}
