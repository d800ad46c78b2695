import { createHash } from 'node:crypto';
import { mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

// The layer cache of the classic builder: a step is reused when the image it
// starts from, the instruction after substitution (for RUN with the build
// args in use), and for COPY/ADD the content checksum of its sources are the
// same. Each entry maps that key to the image the step produced; entries are
// files under the data root, so the cache survives restarts. An entry whose
// image has gone is a miss (and is dropped).

export interface CacheKeyInput {
  /** The image the step starts from ("" for scratch). */
  parent: string;
  /** The instruction as Docker records it after substitution, e.g. "/bin/sh -c #(nop)  ENV A=b" or "|1 X=y /bin/sh -c make". */
  instruction: string;
  /** COPY/ADD: checksum of the sources ("file:…", "dir:…", "multi:…"). */
  sources?: string;
  /** Anything else that changes the result: platform, chown, chmod, network. */
  extra?: Record<string, string>;
}

/** The cache key of one step: a sha256 over its inputs in a fixed order. */
export function cacheKey(input: CacheKeyInput): string {
  const h = createHash('sha256');
  h.update(`parent\0${input.parent}\0instruction\0${input.instruction}\0sources\0${input.sources ?? ''}\0`);
  for (const k of Object.keys(input.extra ?? {}).sort()) h.update(`${k}\0${input.extra![k]}\0`);
  return h.digest('hex');
}

export interface CacheEntry {
  key: string;
  imageId: string;
  /** The step's instruction, for `docker system df -v` and `builder prune` output. */
  description: string;
  created: string;
  lastUsed: string;
  usageCount: number;
  /** Bytes the step's own layer added (0 for metadata-only steps). */
  size: number;
  /** The image the step started from. */
  parent: string;
}

export class BuildCache {
  private entries = new Map<string, CacheEntry>();
  private readonly dirty = new Set<string>();
  private loaded: Promise<void> | undefined;

  constructor(private readonly root: string) {}

  private load(): Promise<void> {
    this.loaded ??= (async () => {
      await mkdir(this.root, { recursive: true, mode: 0o700 });
      for (const name of await readdir(this.root)) {
        if (name.endsWith('.tmp')) {
          await rm(join(this.root, name), { force: true });
          continue;
        }
        if (!/^[a-f0-9]{64}\.json$/.test(name)) continue;
        try {
          const e = JSON.parse(await readFile(join(this.root, name), 'utf8')) as CacheEntry;
          if (e.key === name.slice(0, 64)) this.entries.set(e.key, e);
        } catch {
          await rm(join(this.root, name), { force: true });
        }
      }
    })();
    return this.loaded;
  }

  /** The entry for `key`, if its image still exists (`exists` checks). */
  async lookup(key: string, exists: (imageId: string) => Promise<boolean>): Promise<CacheEntry | undefined> {
    await this.load();
    const e = this.entries.get(key);
    if (!e) return undefined;
    if (!(await exists(e.imageId))) {
      await this.delete(key);
      return undefined;
    }
    const used: CacheEntry = { ...e, lastUsed: new Date().toISOString(), usageCount: e.usageCount + 1 };
    this.entries.set(key, used);
    // Usage figures are bookkeeping: written once per build by flush(), not per hit.
    this.dirty.add(key);
    return used;
  }

  /** Persists the usage of entries hit since the last flush. */
  async flush(): Promise<void> {
    const keys = [...this.dirty];
    this.dirty.clear();
    for (const k of keys) {
      const e = this.entries.get(k);
      if (e) await this.write(e).catch(() => {});
    }
  }

  /**
   * One entry file, replaced whole by rename. Not fsynced: an entry lost or
   * emptied by a crash is only a cache miss (load() drops unreadable files),
   * and the images it points at are stored durably by the image store.
   */
  private async write(e: CacheEntry): Promise<void> {
    const path = join(this.root, `${e.key}.json`);
    const tmp = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
    try {
      await writeFile(tmp, JSON.stringify(e));
      await rename(tmp, path);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
  }

  async store(entry: Omit<CacheEntry, 'created' | 'lastUsed' | 'usageCount'>): Promise<void> {
    await this.load();
    const now = new Date().toISOString();
    const e: CacheEntry = { ...entry, created: now, lastUsed: now, usageCount: 0 };
    await this.write(e);
    this.entries.set(e.key, e);
  }

  async delete(key: string): Promise<void> {
    await this.load();
    this.entries.delete(key);
    this.dirty.delete(key);
    await rm(join(this.root, `${key}.json`), { force: true });
  }

  async list(): Promise<CacheEntry[]> {
    await this.load();
    return [...this.entries.values()];
  }
}
