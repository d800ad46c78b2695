import { lstat, mkdir, readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ConflictError, InvalidParameterError, NotFoundError } from '../errors/index.js';
import { TEMP_PREFIX, writeJsonAtomic } from '../util/atomic-file.js';
import type { CommitOptions, Mount, SnapshotInfo, SnapshotKind, SnapshotUsage, Snapshotter } from './snapshotter.js';
import { Mutex } from '../util/mutex.js';

// What overlay and copy share: the on-disk state and its crash rules.
//
//   <root>/<n>/meta.json   the record (key, parent key, kind, labels), atomic
//   <root>/<n>/fs          the snapshot's tree (overlay: its upper dir)
//   <root>/<n>/work        overlay's workdir, active overlay snapshots only
//   <root>/.removing-<n>   a snapshot being deleted
//
// <n> is a small integer, not the key: overlay's lowerdir list must fit in one
// page of mount options, so each layer should cost ~30 bytes, not ~100.
// A directory is a snapshot only once its meta.json exists (written last, by
// rename), so a crash during prepare leaves a directory without one, which
// cleanup() removes. Commit rewrites meta.json in one rename. Remove renames
// the directory away first, so a crash mid-delete never leaves half a layer
// under a live key.

export interface SnapshotRecord {
  id: string;
  key: string;
  parent?: string;
  kind: SnapshotKind;
  created: string;
  labels: Record<string, string>;
}

const REMOVING_PREFIX = '.removing-';
export const PROBE_PREFIX = '.probe-';

export abstract class LocalSnapshotter implements Snapshotter {
  abstract readonly name: string;
  abstract readonly upperIsDiff: boolean;

  private readonly records = new Map<string, SnapshotRecord>();
  /** Keys being prepared right now: taken, and counted as children of their parent. */
  private readonly pending = new Map<string, SnapshotRecord>();
  /** Snapshot dirs without a record found at load (half-made). */
  private readonly incomplete = new Set<string>();
  private nextId = 1;
  private loading: Promise<void> | undefined;
  private readonly mutex = new Mutex();

  constructor(readonly root: string) {
    // Option strings for mount(8) use "," and overlay's lowerdir uses ":".
    if (/[,:]/.test(root)) throw new InvalidParameterError(`snapshot root ${root} must not contain ',' or ':'`);
  }

  /** Creates the snapshot's directories (and contents) in `dir`. */
  protected abstract populate(dir: string, kind: SnapshotKind, chain: SnapshotRecord[]): Promise<void>;
  /** Mount descriptions of an active or view snapshot; `chain` is its parent first, then the grandparent, … */
  protected abstract mountsOf(rec: SnapshotRecord, chain: SnapshotRecord[]): Mount[];
  /** Tidies a snapshot's directory once committed. */
  protected async afterCommit(_dir: string): Promise<void> {}

  protected dirOf(rec: SnapshotRecord | string): string {
    return join(this.root, typeof rec === 'string' ? rec : rec.id);
  }

  protected fsOf(rec: SnapshotRecord): string {
    return join(this.dirOf(rec), 'fs');
  }

  /** Runs metadata changes one at a time, so check-then-act is atomic in-process. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    return this.mutex.run(fn);
  }

  private load(): Promise<void> {
    this.loading ??= (async () => {
      await mkdir(this.root, { recursive: true, mode: 0o711 });
      for (const name of await readdir(this.root)) {
        if (!/^[0-9]+$/.test(name)) continue;
        this.nextId = Math.max(this.nextId, Number(name) + 1);
        let rec: SnapshotRecord | undefined;
        try {
          rec = JSON.parse(await readFile(join(this.root, name, 'meta.json'), 'utf8')) as SnapshotRecord;
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code;
          if (code !== 'ENOENT' && code !== 'ENOTDIR' && !(err instanceof SyntaxError)) throw err;
        }
        if (!rec || rec.id !== name) this.incomplete.add(name);
        else this.records.set(rec.key, rec);
      }
    })();
    return this.loading;
  }

  private get(key: string): SnapshotRecord {
    const rec = this.records.get(key);
    if (!rec) throw new NotFoundError(`snapshot ${key} does not exist`);
    return rec;
  }

  /** The committed parents of `rec`, nearest first. */
  private chainOf(rec: SnapshotRecord): SnapshotRecord[] {
    const chain: SnapshotRecord[] = [];
    for (let p = rec.parent; p !== undefined; ) {
      const parent = this.get(p);
      chain.push(parent);
      p = parent.parent;
    }
    return chain;
  }

  private async create(kind: 'active' | 'view', key: string, parent: string | undefined, labels: Record<string, string>): Promise<Mount[]> {
    await this.load();
    const rec = await this.serial(async () => {
      if (this.records.has(key) || this.pending.has(key)) throw new ConflictError(`snapshot ${key} already exists`);
      if (parent !== undefined) {
        const p = this.records.get(parent);
        if (!p) throw new NotFoundError(`parent snapshot ${parent} does not exist`);
        if (p.kind !== 'committed') throw new InvalidParameterError(`parent snapshot ${parent} is not committed`);
      }
      for (;;) {
        const id = String(this.nextId++);
        try {
          await mkdir(this.dirOf(id), { mode: 0o700 });
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'EEXIST') continue;
          throw err;
        }
        const r: SnapshotRecord = { id, key, kind, created: new Date().toISOString(), labels: { ...labels } };
        if (parent !== undefined) r.parent = parent;
        this.pending.set(key, r);
        return r;
      }
    });
    try {
      const chain = this.chainOf(rec);
      await this.populate(this.dirOf(rec), kind, chain);
      await writeJsonAtomic(join(this.dirOf(rec), 'meta.json'), rec);
      const mounts = this.mountsOf(rec, chain);
      this.records.set(key, rec);
      return mounts;
    } catch (err) {
      await rm(this.dirOf(rec), { recursive: true, force: true }).catch(() => {});
      throw err;
    } finally {
      this.pending.delete(key);
    }
  }

  prepare(key: string, parent?: string, labels: Record<string, string> = {}): Promise<Mount[]> {
    return this.create('active', key, parent, labels);
  }

  view(key: string, parent?: string): Promise<Mount[]> {
    return this.create('view', key, parent, {});
  }

  async mounts(key: string): Promise<Mount[]> {
    await this.load();
    const rec = this.get(key);
    if (rec.kind === 'committed') throw new InvalidParameterError(`snapshot ${key} is committed: mount a view of it instead`);
    return this.mountsOf(rec, this.chainOf(rec));
  }

  async commit(name: string, key: string, labels: Record<string, string> = {}, opts: CommitOptions = {}): Promise<void> {
    await this.load();
    const dir = await this.serial(async () => {
      const rec = this.get(key);
      if (rec.kind !== 'active') throw new InvalidParameterError(`snapshot ${key} is not active`);
      if (this.records.has(name) || this.pending.has(name)) throw new ConflictError(`snapshot ${name} already exists`);
      const committed: SnapshotRecord = { ...rec, key: name, kind: 'committed', labels: { ...labels } };
      if (opts.parent !== undefined) {
        // Only a diff-only upper dir can be stacked on a parent after the fact.
        if (!this.upperIsDiff || rec.parent !== undefined) throw new InvalidParameterError(`snapshot ${key} cannot be given a parent at commit`);
        const p = this.records.get(opts.parent);
        if (!p || p.kind !== 'committed') throw new NotFoundError(`parent snapshot ${opts.parent} does not exist`);
        committed.parent = opts.parent;
      }
      // The one rename that turns the snapshot into a layer.
      await writeJsonAtomic(join(this.dirOf(rec), 'meta.json'), committed);
      this.records.delete(key);
      this.records.set(name, committed);
      return this.dirOf(rec);
    });
    await this.afterCommit(dir).catch(() => {});
  }

  async remove(key: string): Promise<void> {
    await this.load();
    const doomed = await this.serial(async () => {
      const rec = this.get(key);
      const child = [...this.records.values(), ...this.pending.values()].find((r) => r.parent === key);
      if (child) throw new ConflictError(`cannot remove snapshot ${key}: snapshot ${child.key} is based on it`);
      const doomed = join(this.root, REMOVING_PREFIX + rec.id);
      try {
        await rename(this.dirOf(rec), doomed);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
      this.records.delete(key);
      return doomed;
    });
    await rm(doomed, { recursive: true, force: true });
  }

  private info(rec: SnapshotRecord): SnapshotInfo {
    const info: SnapshotInfo = { key: rec.key, kind: rec.kind, created: rec.created, labels: { ...rec.labels } };
    if (rec.parent !== undefined) info.parent = rec.parent;
    return info;
  }

  async stat(key: string): Promise<SnapshotInfo> {
    await this.load();
    return this.info(this.get(key));
  }

  async exists(key: string): Promise<boolean> {
    await this.load();
    return this.records.has(key);
  }

  async list(): Promise<SnapshotInfo[]> {
    await this.load();
    return [...this.records.values()].map((r) => this.info(r));
  }

  async usage(key: string): Promise<SnapshotUsage> {
    await this.load();
    return diskUsage(this.fsOf(this.get(key)));
  }

  async upperDir(key: string): Promise<string> {
    await this.load();
    return this.fsOf(this.get(key));
  }

  async cleanup(): Promise<void> {
    await this.load();
    await this.serial(async () => {
      for (const name of await readdir(this.root)) {
        if (name.startsWith(REMOVING_PREFIX) || name.startsWith(PROBE_PREFIX) || name.startsWith(TEMP_PREFIX)) {
          await rm(join(this.root, name), { recursive: true, force: true });
        }
      }
      const inUse = new Set([...this.pending.values()].map((r) => r.id));
      for (const id of this.incomplete) {
        if (!inUse.has(id)) await rm(this.dirOf(id), { recursive: true, force: true });
      }
      this.incomplete.clear();
      for (const rec of this.records.values()) {
        // Leftovers of an interrupted meta.json write.
        for (const name of await readdir(this.dirOf(rec)).catch(() => [] as string[])) {
          if (name.startsWith(TEMP_PREFIX)) await rm(join(this.dirOf(rec), name), { force: true });
        }
        if (rec.kind === 'committed') await this.afterCommit(this.dirOf(rec)).catch(() => {});
      }
    });
  }
}

/** Bytes of non-directory entries (hard links counted once) and inodes under `dir`. */
export async function diskUsage(dir: string): Promise<SnapshotUsage> {
  const seen = new Set<number>();
  let size = 0;
  let inodes = 0;
  async function walk(path: string): Promise<void> {
    const st = await lstat(path);
    if (seen.has(st.ino)) return;
    seen.add(st.ino);
    inodes++;
    if (!st.isDirectory()) {
      size += st.size;
      return;
    }
    for (const name of await readdir(path)) await walk(join(path, name));
  }
  try {
    await walk(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  return { size, inodes };
}
