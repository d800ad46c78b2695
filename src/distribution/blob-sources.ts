import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeJsonAtomic } from '../util/atomic-file.js';

// Where the compressed blobs of a layer live in registries: diff ID ->
// (blob digest, size, media type, registry/repository), learnt from pulls and
// pushes, as moby's v2 metadata service keeps it. A push uses it to skip a
// blob the registry has (HEAD) or to mount it from a repository that has it,
// even when the layer was unpacked here from another blob (or imported).

export interface BlobSource {
  digest: string;
  size: number;
  mediaType: string;
  /** "host[:port]/path" of the repository the blob was seen in. */
  repository: string;
}

const MAX_SOURCES = 16;

export class BlobSources {
  constructor(private readonly root: string) {}

  private path(diffId: string): string {
    return join(this.root, `${diffId.slice(diffId.indexOf(':') + 1)}.json`);
  }

  async get(diffId: string): Promise<BlobSource[]> {
    if (!/^sha256:[a-f0-9]{64}$/.test(diffId)) return [];
    try {
      const v = JSON.parse(await readFile(this.path(diffId), 'utf8')) as unknown;
      return Array.isArray(v) ? (v as BlobSource[]) : [];
    } catch {
      return [];
    }
  }

  /** Remembers a source (newest first, a bounded list). */
  async add(diffId: string, source: BlobSource): Promise<void> {
    if (!/^sha256:[a-f0-9]{64}$/.test(diffId)) return;
    const list = (await this.get(diffId)).filter((s) => !(s.digest === source.digest && s.repository === source.repository));
    list.unshift(source);
    await mkdir(this.root, { recursive: true, mode: 0o700 });
    await writeJsonAtomic(this.path(diffId), list.slice(0, MAX_SOURCES));
  }
}
