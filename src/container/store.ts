import { readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ConflictError, InvalidParameterError, NotFoundError, errorMessage } from '../errors/index.js';
import { readJsonIfExists, writeJsonAtomic, TEMP_PREFIX } from '../util/atomic-file.js';
import { privateDir, tightenContainerDir, CONTAINERS_ROOT_MODE } from './private-state.js';
import { Live } from './lifecycle.js';
import type { ContainerRecord } from './record.js';
import { generateName } from './names.js';

// The container records on disk (root/<id>/container.json) and in memory,
// their names and ID prefixes. A record file is the commit point of a create;
// a rename of the directory is the commit point of a remove.

export class ContainerStore {
  private readonly containers = new Map<string, Live>();
  private readonly names = new Map<string, string>();

  constructor(
    readonly root: string,
    private readonly log: (level: 'warn' | 'error', msg: string) => void,
  ) {}

  /** Loads every record; sweeps what a crash left half-made or half-removed. */
  async load(): Promise<void> {
    await privateDir(this.root, CONTAINERS_ROOT_MODE);
    for (const entry of await readdir(this.root)) {
      const dir = join(this.root, entry);
      if (entry.startsWith('.removing-') || entry.startsWith(TEMP_PREFIX)) {
        await rm(dir, { recursive: true, force: true });
        continue;
      }
      const record = await readJsonIfExists<ContainerRecord>(join(dir, 'container.json')).catch(() => undefined);
      if (!record) {
        // Created half-way (crash before the record landed): nothing refers to it.
        await rm(dir, { recursive: true, force: true });
        continue;
      }
      await tightenContainerDir(dir);
      this.containers.set(record.id, new Live(record));
      this.names.set(record.name, record.id);
    }
  }

  dir(id: string): string {
    return join(this.root, id);
  }

  /** By full ID, name (with or without "/"), or unambiguous ID prefix, like Docker. */
  get(ref: string): Live {
    const byId = this.containers.get(ref);
    if (byId) return byId;
    const byName = this.names.get(ref.startsWith('/') ? ref : `/${ref}`);
    if (byName) return this.containers.get(byName)!;
    if (ref.length > 0 && /^[0-9a-f]+$/.test(ref)) {
      const matches = [...this.containers.keys()].filter((id) => id.startsWith(ref));
      if (matches.length === 1) return this.containers.get(matches[0]!)!;
      if (matches.length > 1) throw new InvalidParameterError(`multiple IDs found with provided prefix: ${ref}`);
    }
    throw new NotFoundError(`No such container: ${ref}`);
  }

  byId(id: string): Live | undefined {
    return this.containers.get(id);
  }

  has(id: string): boolean {
    return this.containers.has(id);
  }

  all(): Live[] {
    return [...this.containers.values()];
  }

  get size(): number {
    return this.containers.size;
  }

  /** A free generated name. */
  generateName(): string {
    let name: string;
    let retry = 0;
    do name = `/${generateName(retry++)}`;
    while (this.names.has(name));
    return name;
  }

  /** Throws Docker's conflict when `name` is taken. */
  checkNameFree(name: string): void {
    const taken = this.names.get(name);
    if (taken) {
      throw new ConflictError(`Conflict. The container name "${name}" is already in use by container "${taken}". You have to remove (or rename) that container to be able to reuse that name.`);
    }
  }

  /** Holds a name for a container being created; `releaseName` undoes it. */
  reserveName(name: string, id: string): void {
    this.checkNameFree(name);
    this.names.set(name, id);
  }

  releaseName(name: string, id: string): void {
    if (this.names.get(name) === id) this.names.delete(name);
  }

  /** Writes the first record (the create's commit point) and makes the container known. */
  async add(record: ContainerRecord): Promise<Live> {
    await writeJsonAtomic(join(this.dir(record.id), 'container.json'), record);
    const live = new Live(record);
    this.containers.set(record.id, live);
    return live;
  }

  /** Changes a container's name; the caller persists the record. */
  rename(live: Live, name: string): void {
    this.checkNameFree(name);
    this.names.set(name, live.record.id);
    this.names.delete(live.record.name);
    live.record.name = name;
  }

  /** Queues a write of the record; writes never overlap and never fail the caller. */
  persist(live: Live): Promise<void> {
    const r = live.record;
    const snapshot = JSON.parse(JSON.stringify(r)) as ContainerRecord;
    live.saving = live.saving.then(async () => {
      if (live.removed) return;
      await writeJsonAtomic(join(this.root, r.id, 'container.json'), snapshot).catch((err) => {
        this.log('error', `persisting container ${r.id}: ${errorMessage(err)}`);
      });
    });
    return live.saving;
  }

  /**
   * The record disappears atomically (rename) and the container is forgotten;
   * returns the directory left to sweep.
   */
  async unlink(live: Live): Promise<string> {
    const r = live.record;
    live.removed = true;
    await live.saving;
    const trash = join(this.root, `.removing-${r.id}`);
    await rename(this.dir(r.id), trash);
    this.containers.delete(r.id);
    if (this.names.get(r.name) === r.id) this.names.delete(r.name);
    return trash;
  }
}
