import { randomBytes } from 'node:crypto';
import { mkdir, readdir, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { ConflictError, InvalidParameterError, NotFoundError, errorMessage } from '../errors/index.js';
import type { EventBus } from '../events/index.js';
import type { HostConfig, MountPoint } from '../types/engine.js';
import type { Volume, VolumeCreateOptions, VolumeListResponse, VolumePruneResponse } from '../types/volume.js';
import { readJsonIfExists, writeJsonAtomic, TEMP_PREFIX } from '../util/atomic-file.js';
import type { VolumeDriver } from './driver.js';
import { LocalDriver } from './local-driver.js';
import { copyUp, recoverCopyUp } from './copy-up.js';
import { validateVolumeName } from './names.js';
import { parseMounts, prepareBindSources, runtimeMount, type MountRecord, type RuntimeMount, type VolumesFromSource } from './mounts.js';
import { labelMatches } from '../util/filters.js';

// The volume store: one record per volume (volumes/_meta/<name>.json, written
// atomically) over drivers that hold the data. It never reads container
// records: containers tell it which volumes they reference (resolve/restore/
// forget) and which they have mounted (setup/release), and it keeps those
// users in memory. A volume with users is in use and cannot be removed.

export const ANONYMOUS_LABEL = 'com.docker.volume.anonymous';
const META = '_meta';

interface VolumeRecord {
  name: string;
  driver: string;
  labels: Record<string, string> | null;
  options: Record<string, string> | null;
  createdAt: string;
}

export interface VolumeServiceOptions {
  /** <data-root>/volumes */
  root: string;
  events: EventBus;
  log: (level: 'debug' | 'info' | 'warn' | 'error', msg: string) => void;
}

export interface ResolveRequest {
  hostConfig: HostConfig;
  /** The merged config's Volumes (image VOLUMEs and -v /path). */
  configVolumes: Record<string, object> | null | undefined;
  volumesFrom?: VolumesFromSource[];
}

function rfc3339(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}


function boolFilter(key: string, v: string): boolean {
  const s = v.toLowerCase();
  if (s === 'true' || s === '1') return true;
  if (s === 'false' || s === '0') return false;
  throw new InvalidParameterError(`invalid filter '${key}=${v}'`);
}

export class VolumeService {
  private readonly records = new Map<string, VolumeRecord>();
  /** Containers referencing each volume. */
  private readonly users = new Map<string, Set<string>>();
  /** Volumes each container has mounted for its current run. */
  private readonly mounted = new Map<string, Set<string>>();
  /** Releases under way, so a second caller can wait for the first. */
  private readonly releasing = new Map<string, Promise<void>>();
  private readonly drivers = new Map<string, VolumeDriver>();
  private readonly local: LocalDriver;
  /** Metadata changes (create, remove, references) one at a time. */
  private metaLock: Promise<unknown> = Promise.resolve();
  /** Mount, copy-up and unmount of one volume one at a time. */
  private readonly volumeLocks = new Map<string, Promise<unknown>>();

  constructor(private readonly o: VolumeServiceOptions) {
    this.local = new LocalDriver(o.root);
    this.drivers.set(this.local.name, this.local);
  }

  private get metaDir(): string {
    return join(this.o.root, META);
  }

  /** Loads records and reconciles them with the drivers after a crash. */
  async init(): Promise<void> {
    await this.local.init();
    await mkdir(this.metaDir, { recursive: true, mode: 0o700 });
    for (const file of await readdir(this.metaDir)) {
      const path = join(this.metaDir, file);
      if (file.startsWith(TEMP_PREFIX) || !file.endsWith('.json')) {
        await unlink(path).catch(() => {});
        continue;
      }
      const rec = await readJsonIfExists<VolumeRecord>(path).catch(() => undefined);
      if (rec?.name) this.records.set(rec.name, rec);
    }
    for (const driver of this.drivers.values()) {
      const held = new Set(await driver.list());
      for (const rec of [...this.records.values()]) {
        if (rec.driver !== driver.name || held.has(rec.name)) continue;
        // The record was written but the volume never made (or its removal had begun): drop it.
        this.records.delete(rec.name);
        await unlink(this.recordPath(rec.name)).catch(() => {});
      }
      for (const name of held) {
        if (!this.records.has(name)) {
          // Data without a record (its record was lost): keep the data, give it a record.
          const created = (await stat(driver.path(name)).catch(() => undefined))?.mtime ?? new Date();
          await this.saveRecord({ name, driver: driver.name, labels: null, options: null, createdAt: rfc3339(created) });
        }
        // A copy-up a crash interrupted is undone now; the next start redoes it.
        await recoverCopyUp(driver.path(name), driver.stagingPath(name)).catch((err) => this.o.log('warn', `recovering copy-up of volume ${name}: ${errorMessage(err)}`));
      }
    }
  }

  /** After containers re-registered: device mounts no running container holds are released. */
  async settle(): Promise<void> {
    await this.local.releaseUnused();
  }

  private recordPath(name: string): string {
    return join(this.metaDir, `${name}.json`);
  }

  private async saveRecord(rec: VolumeRecord): Promise<void> {
    await writeJsonAtomic(this.recordPath(rec.name), rec);
    this.records.set(rec.name, rec);
  }

  private driver(name: string): VolumeDriver {
    const d = this.drivers.get(name);
    if (!d) throw new NotFoundError(`error looking up volume plugin ${name}: plugin "${name}" not found`);
    return d;
  }

  private withMeta<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.metaLock.then(fn, fn);
    this.metaLock = run.catch(() => {});
    return run;
  }

  private withVolume<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.volumeLocks.get(name) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    const tail = run.catch(() => {});
    this.volumeLocks.set(name, tail);
    void tail.then(() => {
      if (this.volumeLocks.get(name) === tail) this.volumeLocks.delete(name);
    });
    return run;
  }

  private get(name: string): VolumeRecord {
    const rec = this.records.get(name);
    if (!rec) throw new NotFoundError(`get ${name}: no such volume`);
    return rec;
  }

  private view(rec: VolumeRecord): Volume {
    return {
      CreatedAt: rec.createdAt,
      Driver: rec.driver,
      Labels: rec.labels,
      Mountpoint: this.drivers.get(rec.driver)?.path(rec.name) ?? '',
      Name: rec.name,
      Options: rec.options,
      Scope: 'local',
    };
  }

  // ---- the /volumes API ------------------------------------------------------

  create(opts: VolumeCreateOptions): Promise<Volume> {
    return this.withMeta(async () => this.view(await this.createLocked(opts)));
  }

  private async createLocked(opts: VolumeCreateOptions): Promise<VolumeRecord> {
    const name = opts.Name || randomBytes(32).toString('hex');
    const driverName = opts.Driver || 'local';
    const existing = this.records.get(name);
    if (existing) {
      if (existing.driver !== driverName) {
        throw new ConflictError(`create ${name}: driver '${existing.driver}' already has volume '${name}': volume name must be unique`);
      }
      return existing;
    }
    let driver: VolumeDriver;
    try {
      driver = this.driver(driverName);
    } catch (err) {
      throw new NotFoundError(`create ${name}: ${errorMessage(err)}`);
    }
    if (driverName === 'local') validateVolumeName(name);
    const options = opts.DriverOpts && Object.keys(opts.DriverOpts).length ? { ...opts.DriverOpts } : null;
    try {
      driver.validate(options ?? {});
    } catch (err) {
      throw new InvalidParameterError(`create ${name}: ${errorMessage(err)}`);
    }
    const rec: VolumeRecord = { name, driver: driverName, labels: opts.Labels ?? null, options: opts.DriverOpts ?? null, createdAt: rfc3339(new Date()) };
    // The record first: a crash before the driver made the volume leaves a record startup drops.
    await this.saveRecord(rec);
    try {
      await driver.create(name, options ?? {});
    } catch (err) {
      this.records.delete(name);
      await unlink(this.recordPath(name)).catch(() => {});
      throw err;
    }
    this.o.events.emit('volume', 'create', name, { driver: driverName });
    return rec;
  }

  inspect(name: string): Volume {
    return this.view(this.get(name));
  }

  list(filters: Record<string, string[]> = {}): VolumeListResponse {
    for (const key of Object.keys(filters)) {
      if (!['dangling', 'name', 'label', 'driver'].includes(key)) throw new InvalidParameterError(`invalid filter '${key}'`);
    }
    const dangling = (filters.dangling ?? []).map((v) => boolFilter('dangling', v));
    const vols = [...this.records.values()].filter((rec) => {
      const inUse = (this.users.get(rec.name)?.size ?? 0) > 0;
      return (
        dangling.every((d) => d === !inUse) &&
        (!filters.name?.length || filters.name.some((n) => rec.name.includes(n))) &&
        (!filters.driver?.length || filters.driver.includes(rec.driver)) &&
        (!filters.label?.length || filters.label.every((l) => labelMatches(rec.labels ?? {}, l)))
      );
    });
    vols.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    return { Volumes: vols.map((r) => this.view(r)), Warnings: null };
  }

  remove(name: string, opts: { force?: boolean } = {}): Promise<void> {
    return this.withMeta(async () => {
      const rec = this.records.get(name);
      if (!rec) {
        if (opts.force) return;
        throw new NotFoundError(`get ${name}: no such volume`);
      }
      const users = this.users.get(name);
      // As dockerd: even force does not remove a volume a container references.
      if (users?.size) throw new ConflictError(`remove ${name}: volume is in use - [${[...users].join(', ')}]`);
      await this.removeLocked(rec);
    });
  }

  private async removeLocked(rec: VolumeRecord): Promise<void> {
    // The driver's removal is the commit point; the record goes after it.
    await this.drivers.get(rec.driver)?.remove(rec.name);
    this.records.delete(rec.name);
    this.users.delete(rec.name);
    await unlink(this.recordPath(rec.name)).catch(() => {});
    this.o.events.emit('volume', 'destroy', rec.name, { driver: rec.driver });
  }

  prune(filters: Record<string, string[]> = {}): Promise<VolumePruneResponse> {
    for (const key of Object.keys(filters)) {
      if (!['label', 'label!', 'all'].includes(key)) throw new InvalidParameterError(`invalid filter '${key}'`);
    }
    const all = (filters.all ?? []).some((v) => boolFilter('all', v));
    return this.withMeta(async () => {
      const deleted: string[] = [];
      let reclaimed = 0;
      for (const rec of [...this.records.values()]) {
        const labels = rec.labels ?? {};
        if (this.users.get(rec.name)?.size) continue;
        // Without all=true only anonymous volumes go (API 1.42 and later).
        if (!all && !(ANONYMOUS_LABEL in labels)) continue;
        if (filters.label?.length && !filters.label.every((l) => labelMatches(labels, l))) continue;
        if (filters['label!']?.length && filters['label!'].some((l) => labelMatches(labels, l))) continue;
        const size = await this.drivers.get(rec.driver)?.usage(rec.name).catch(() => 0) ?? 0;
        try {
          await this.removeLocked(rec);
        } catch (err) {
          this.o.log('warn', `prune: removing volume ${rec.name}: ${errorMessage(err)}`);
          continue;
        }
        deleted.push(rec.name);
        reclaimed += Math.max(size, 0);
      }
      this.o.events.emit('volume', 'prune', '', { reclaimed: String(reclaimed) });
      return { VolumesDeleted: deleted.length ? deleted : null, SpaceReclaimed: reclaimed };
    });
  }

  /** /system/df's volumes: with their size and how many containers reference them. */
  async usage(): Promise<Volume[]> {
    const out: Volume[] = [];
    for (const rec of [...this.records.values()].sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const size = await this.drivers.get(rec.driver)?.usage(rec.name).catch(() => -1) ?? -1;
      out.push({ ...this.view(rec), UsageData: { Size: size, RefCount: this.users.get(rec.name)?.size ?? 0 } });
    }
    return out;
  }

  // ---- what containers ask ---------------------------------------------------

  /**
   * A new container's mounts: parsed, checked, every volume given (named ones
   * created when missing, anonymous ones made) and referenced by `containerId`.
   * On failure nothing stays referenced and no anonymous volume is left.
   */
  resolve(containerId: string, req: ResolveRequest): Promise<MountRecord[]> {
    const mounts = parseMounts(req.hostConfig, req.configVolumes, req.volumesFrom);
    return this.withMeta(async () => {
      // --mount binds must exist already (checked now, as dockerd does); -v creates its source at start.
      await prepareBindSources(mounts.filter((m) => m.type === 'bind' && !m.createSource));
      const made: string[] = [];
      try {
        const out: MountRecord[] = [];
        for (const m of mounts) {
          if (m.type !== 'volume') {
            out.push(m);
            continue;
          }
          let rec: VolumeRecord;
          if (m.name && this.records.has(m.name)) {
            rec = this.records.get(m.name)!;
          } else {
            const labels = m.anonymous ? { [ANONYMOUS_LABEL]: '', ...(m.labels ?? {}) } : m.labels;
            try {
              rec = await this.createLocked({ Name: m.name, Driver: m.driver, DriverOpts: m.driverOptions, Labels: labels ?? null });
            } catch (err) {
              // A 404 from container create makes the docker CLI try to pull the image.
              if (err instanceof NotFoundError) throw new InvalidParameterError(errorMessage(err), { cause: err });
              throw err;
            }
            if (m.anonymous) made.push(rec.name);
          }
          out.push({ ...m, name: rec.name, driver: rec.driver });
        }
        for (const m of out) if (m.type === 'volume') this.addUser(m.name!, containerId);
        return out;
      } catch (err) {
        for (const name of made) {
          const rec = this.records.get(name);
          if (rec) await this.removeLocked(rec).catch(() => {});
        }
        throw err;
      }
    });
  }

  private addUser(name: string, containerId: string): void {
    const set = this.users.get(name) ?? new Set<string>();
    set.add(containerId);
    this.users.set(name, set);
  }

  /** At startup: an existing container's references, and the mounts of one still running. */
  async restore(containerId: string, mounts: MountRecord[], running: boolean): Promise<void> {
    for (const m of mounts) {
      if (m.type !== 'volume' || !m.name) continue;
      if (!this.records.has(m.name)) {
        this.o.log('warn', `container ${containerId.slice(0, 12)} refers to volume ${m.name}, which is gone`);
        continue;
      }
      this.addUser(m.name, containerId);
      if (running) {
        // The driver finds its mount still there and only counts the user.
        const rec = this.records.get(m.name)!;
        await this.drivers.get(rec.driver)?.mount(m.name, containerId).catch((err) => this.o.log('warn', `re-adopting volume ${m.name}: ${errorMessage(err)}`));
        const set = this.mounted.get(containerId) ?? new Set<string>();
        set.add(m.name);
        this.mounted.set(containerId, set);
      }
    }
  }

  /**
   * The container is gone: its references are dropped and, with
   * removeAnonymous (rm -v, --rm), its anonymous volumes that no other
   * container uses are removed; named ones stay, as with dockerd.
   */
  forget(containerId: string, opts: { removeAnonymous?: boolean } = {}): Promise<void> {
    return this.withMeta(async () => {
      for (const [name, set] of [...this.users]) {
        if (!set.delete(containerId)) continue;
        if (set.size === 0) this.users.delete(name);
        const rec = this.records.get(name);
        if (!opts.removeAnonymous || !rec || set.size > 0 || !(ANONYMOUS_LABEL in (rec.labels ?? {}))) continue;
        await this.removeLocked(rec).catch((err) => this.o.log('warn', `removing anonymous volume ${name}: ${errorMessage(err)}`));
      }
    });
  }

  /**
   * Before a start: bind sources made, volumes mounted and, when new and
   * empty, filled from the image (rootfs must be mounted). Returns the OCI
   * mounts in order. On failure whatever was mounted is released.
   */
  async setup(containerId: string, mounts: MountRecord[], rootfs: string): Promise<RuntimeMount[]> {
    await prepareBindSources(mounts);
    const out: RuntimeMount[] = [];
    try {
      for (const m of mounts) {
        if (m.type !== 'volume') {
          out.push(runtimeMount(m));
          continue;
        }
        const name = m.name!;
        const rec = this.get(name);
        const driver = this.driver(rec.driver);
        const path = await this.withVolume(name, async () => {
          const othersHaveIt = [...this.mounted].some(([id, set]) => id !== containerId && set.has(name));
          const p = await driver.mount(name, containerId);
          const set = this.mounted.get(containerId) ?? new Set<string>();
          set.add(name);
          this.mounted.set(containerId, set);
          if (m.copyData) {
            const t0 = Date.now();
            await copyUp({
              rootfs, containerPath: m.destination, dataDir: p, stagingDir: othersHaveIt ? undefined : driver.stagingPath(name),
            });
            this.o.log('debug', `copy-up of ${name} at ${m.destination}: ${Date.now() - t0} ms`);
          }
          return p;
        });
        this.o.events.emit('volume', 'mount', name, {
          container: containerId, destination: m.destination, driver: rec.driver, propagation: '', 'read/write': String(!m.readOnly),
        });
        out.push(runtimeMount(m, path));
      }
    } catch (err) {
      await this.release(containerId);
      throw err;
    }
    return out;
  }

  /**
   * After a run: the container's volume mounts are released. Safe to call
   * more than once; a call while a release is under way waits for it.
   */
  release(containerId: string): Promise<void> {
    const inFlight = this.releasing.get(containerId);
    if (inFlight) return inFlight;
    const names = this.mounted.get(containerId);
    if (!names) return Promise.resolve();
    this.mounted.delete(containerId);
    const done = (async () => {
      for (const name of names) {
        const rec = this.records.get(name);
        if (!rec) continue;
        await this.withVolume(name, () => this.driver(rec.driver).unmount(name, containerId)).catch((err) => this.o.log('warn', `unmounting volume ${name}: ${errorMessage(err)}`));
        this.o.events.emit('volume', 'unmount', name, { container: containerId, driver: rec.driver });
      }
    })().finally(() => this.releasing.delete(containerId));
    this.releasing.set(containerId, done);
    return done;
  }

  /** inspect's and ps's Mounts, as dockerd shows them. */
  mountPoints(mounts: MountRecord[]): MountPoint[] {
    return mounts.filter((m) => m.listed).map((m) => {
      if (m.type === 'volume') {
        const driver = m.driver ?? 'local';
        return {
          Type: 'volume', Name: m.name, Source: this.drivers.get(driver)?.path(m.name ?? '') ?? '', Destination: m.destination,
          Driver: driver, Mode: m.mode, RW: !m.readOnly, Propagation: '',
        };
      }
      return {
        Type: m.type, Source: m.type === 'bind' ? m.source : '', Destination: m.destination, Mode: m.mode, RW: !m.readOnly,
        Propagation: m.type === 'bind' ? m.propagation : '',
      };
    });
  }
}
