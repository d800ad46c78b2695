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

/** The file holding every entry's lastUsed and usageCount (entry files keep what they had when written). */
const USAGE_FILE = 'usage.json';

interface Usage {
  lastUsed: string;
  usageCount: number;
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
      // Usage since each entry was written lives in one file (see flush()).
      const usage = await readFile(join(this.root, USAGE_FILE), 'utf8').then((t) => JSON.parse(t) as Record<string, Usage>, () => ({}) as Record<string, Usage>);
      for (const [key, u] of Object.entries(usage)) {
        const e = this.entries.get(key);
        if (e && typeof u?.lastUsed === 'string' && typeof u.usageCount === 'number') this.entries.set(key, { ...e, lastUsed: u.lastUsed, usageCount: u.usageCount });
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

  /**
   * Persists the usage of entries hit since the last flush: one file holding
   * every entry's usage, replaced whole, rather than a write per entry hit
   * (a cached rebuild hits every step).
   */
  async flush(): Promise<void> {
    if (this.dirty.size === 0) return;
    this.dirty.clear();
    const usage: Record<string, Usage> = {};
    for (const e of this.entries.values()) if (e.usageCount > 0) usage[e.key] = { lastUsed: e.lastUsed, usageCount: e.usageCount };
    await this.writeAtomic(join(this.root, USAGE_FILE), JSON.stringify(usage)).catch(() => {});
  }

  /**
   * One entry file, replaced whole by rename. Not fsynced: an entry lost or
   * emptied by a crash is only a cache miss (load() drops unreadable files),
   * and the images it points at are stored durably by the image store.
   */
  private write(e: CacheEntry): Promise<void> {
    return this.writeAtomic(join(this.root, `${e.key}.json`), JSON.stringify(e));
  }

  private async writeAtomic(path: string, text: string): Promise<void> {
    const tmp = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
    try {
      await writeFile(tmp, text);
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
