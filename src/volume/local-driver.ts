import { mkdir, readdir, rename, rm, lstat, stat } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { InvalidParameterError, SystemError, errorMessage } from '../errors/index.js';
import { readJsonIfExists, writeJsonAtomic, TEMP_PREFIX } from '../util/atomic-file.js';
import { execFile } from 'node:child_process';
import { isMountPoint, unmount, unmountIfMounted } from '../util/mount.js';
import type { VolumeDriver } from './driver.js';

// Docker's `local` driver: a directory per volume, <root>/<name>/_data,
// which is the data itself or, with the options type/device/o, the place
// where berth mounts that device (a bind of a host directory, a tmpfs, an
// NFS export…) while a container uses the volume. A volume exists once its
// directory has its final name: create builds it under a temp name and
// renames it; remove renames it away before deleting, so a kill -9 leaves
// either a whole volume or a sweepable leftover.

const DATA = '_data';
const OPTIONS_FILE = 'opts.json';
const STAGING = '_copyup';
const REMOVING = '.removing-';
const VALID_OPTIONS = ['type', 'device', 'o'];

interface LocalOptions {
  type?: string;
  device?: string;
  o?: string;
}

export class LocalDriver implements VolumeDriver {
  readonly name = 'local';
  /** Which containers hold each volume mounted (only in memory: mounts of devices are re-derived). */
  private readonly refs = new Map<string, Set<string>>();
  private readonly options = new Map<string, LocalOptions>();

  constructor(private readonly root: string) {}

  /** Sweeps what a crash left: half-made and half-removed volumes. */
  async init(): Promise<void> {
    await mkdir(this.root, { recursive: true, mode: 0o701 });
    for (const entry of await readdir(this.root)) {
      if (!entry.startsWith(TEMP_PREFIX) && !entry.startsWith(REMOVING)) continue;
      await this.removeDir(join(this.root, entry)).catch(() => {});
    }
  }

  validate(options: Record<string, string>): void {
    for (const key of Object.keys(options)) {
      if (!VALID_OPTIONS.includes(key)) throw new InvalidParameterError(`invalid option: ${JSON.stringify(key)}`);
    }
    if ((options.type || options.o) && !options.device) throw new InvalidParameterError('missing required option: "device"');
    if (options.device && !options.type && !/(^|,)r?bind(,|$)/.test(options.o ?? '')) {
      throw new InvalidParameterError('missing required option: "type"');
    }
  }

  async create(name: string, options: Record<string, string>): Promise<void> {
    this.validate(options);
    const dir = join(this.root, name);
    if (existsSync(join(dir, DATA))) return;
    const tmp = join(this.root, `${TEMP_PREFIX}${name}-${randomBytes(4).toString('hex')}`);
    await mkdir(join(tmp, DATA), { recursive: true, mode: 0o755 });
    if (Object.keys(options).length) await writeJsonAtomic(join(tmp, OPTIONS_FILE), options);
    try {
      await rename(tmp, dir);
    } catch (err) {
      await rm(tmp, { recursive: true, force: true });
      // Created meanwhile by someone else: that one stands.
      if (!existsSync(join(dir, DATA))) throw err;
    }
  }

  async remove(name: string): Promise<void> {
    const dir = join(this.root, name);
    if (!existsSync(dir)) return;
    await unmountIfMounted(join(dir, DATA));
    const trash = join(this.root, `${REMOVING}${name}-${randomBytes(4).toString('hex')}`);
    await rename(dir, trash);
    this.refs.delete(name);
    this.options.delete(name);
    await this.removeDir(trash);
  }

  /** rm -rf that never descends into something still mounted (a bound host directory). */
  private async removeDir(dir: string): Promise<void> {
    const data = join(dir, DATA);
    if (await isMountPoint(data)) {
      await unmount(data).catch(() => unmount(data, { lazy: true }));
      if (await isMountPoint(data)) throw new SystemError(`cannot remove ${dir}: ${data} is still mounted`);
    }
    await rm(dir, { recursive: true, force: true });
  }

  async list(): Promise<string[]> {
    const out: string[] = [];
    for (const entry of await readdir(this.root).catch(() => [] as string[])) {
      if (entry.startsWith('.') || entry.startsWith('_')) continue;
      if (existsSync(join(this.root, entry, DATA))) out.push(entry);
    }
    return out;
  }

  path(name: string): string {
    return join(this.root, name, DATA);
  }

  private async optionsOf(name: string): Promise<LocalOptions> {
    let o = this.options.get(name);
    if (!o) {
      o = (await readJsonIfExists<LocalOptions>(join(this.root, name, OPTIONS_FILE))) ?? {};
      this.options.set(name, o);
    }
    return o;
  }

  async mount(name: string, ref: string): Promise<string> {
    const path = this.path(name);
    const refs = this.refs.get(name) ?? new Set<string>();
    const o = await this.optionsOf(name);
    if (o.device && refs.size === 0 && !(await isMountPoint(path))) {
      const opts = await mountOptions(o);
      const args = [...(o.type ? ['-t', o.type] : []), ...(opts.length ? ['-o', opts.join(',')] : []), o.device, path];
      try {
        await execMount(args);
      } catch (err) {
        throw new SystemError(`error while mounting volume '${path}': failed to mount local volume: ${errorMessage(err)}`, { cause: err });
      }
    }
    refs.add(ref);
    this.refs.set(name, refs);
    return path;
  }

  async unmount(name: string, ref: string): Promise<void> {
    const refs = this.refs.get(name);
    refs?.delete(ref);
    if (refs && refs.size > 0) return;
    this.refs.delete(name);
    const o = await this.optionsOf(name);
    if (o.device) await unmountIfMounted(this.path(name));
  }

  /** Device mounts nobody holds any more (their containers stopped while berthd was down). */
  async releaseUnused(): Promise<void> {
    for (const name of await this.list()) {
      if (this.refs.has(name)) continue;
      if ((await this.optionsOf(name)).device) await unmountIfMounted(this.path(name)).catch(() => {});
    }
  }

  stagingPath(name: string): string | undefined {
    const o = this.options.get(name);
    if (o?.device || existsSync(join(this.root, name, OPTIONS_FILE))) return undefined;
    return join(this.root, name, STAGING);
  }

  async usage(name: string): Promise<number> {
    return dirSize(this.path(name));
  }
}

/** The mount(8) options: o as given, with an NFS/CIFS addr= host name resolved as Docker does. */
async function mountOptions(o: LocalOptions): Promise<string[]> {
  const opts = (o.o ?? '').split(',').filter(Boolean);
  if (o.type === 'nfs' || o.type === 'nfs4' || o.type === 'cifs') {
    const i = opts.findIndex((x) => x.startsWith('addr='));
    if (i >= 0) {
      const host = opts[i]!.slice(5);
      if (!isIP(host)) opts[i] = `addr=${(await lookup(host)).address}`;
    }
  }
  return opts;
}

/** Bytes of regular files and links under dir (hard links counted once), as Docker's directory.Size. */
export async function dirSize(dir: string): Promise<number> {
  const seen = new Set<string>();
  let total = 0;
  const walk = async (d: string): Promise<void> => {
    let entries: string[];
    try {
      entries = await readdir(d);
    } catch {
      return;
    }
    for (const e of entries) {
      const p = join(d, e);
      let st;
      try {
        st = await lstat(p);
      } catch {
        continue;
      }
      if (st.isDirectory()) {
        await walk(p);
        continue;
      }
      const key = `${st.dev}:${st.ino}`;
      if (st.nlink > 1) {
        if (seen.has(key)) continue;
        seen.add(key);
      }
      total += st.size;
    }
  };
  if (!(await stat(dir).catch(() => undefined))?.isDirectory()) return 0;
  await walk(dir);
  return total;
}

function execMount(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('mount', args, (err, _stdout, stderr) => (err ? reject(new Error(`mount ${args.join(' ')}: ${stderr.trim() || err.message}`)) : resolve()));
  });
}
