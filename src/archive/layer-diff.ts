import { execFile } from 'node:child_process';
import type { Stats } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pack as tarPack, type Header } from 'tar-stream';
import { entry, fileEntry } from './create.js';

// A snapshot's own changes as an OCI layer tar, for a build step's layer and
// for `commit` alike: the overlay upper directory of the snapshot as an OCI
// layer tar. Overlay whiteouts (0/0 character devices) become
// `.wh.NAME` entries; opaque directories (trusted.overlay.opaque=y, what
// overlayfs marks when a directory was removed and made again) get a
// `.wh..wh..opq` entry. The stubs the runtime creates for its own bind mounts
// (/etc/hosts, /etc/resolv.conf, /etc/hostname, /dev, /proc, /sys …) are left
// out when they are empty and the lower layers did not have them, as BuildKit
// does, so a RUN leaves only what the command itself wrote.

const STUBS = new Set(['etc/hosts', 'etc/resolv.conf', 'etc/hostname', 'dev', 'proc', 'sys', 'run', 'sbin/docker-init', 'dev/shm', 'dev/pts', 'dev/mqueue']);

function run(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve) => {
    execFile(cmd, args, { maxBuffer: 64 * 1024 * 1024 }, (_err, stdout) => resolve(String(stdout ?? '')));
  });
}

/** Directories under `upper` marked opaque, relative paths. getfattr(1) reads what Node cannot. */
async function opaqueDirs(upper: string): Promise<Set<string>> {
  const named = await run('getfattr', ['-R', '-P', '--absolute-names', '-n', 'trusted.overlay.opaque', upper]);
  const dirs = new Set<string>();
  let current: string | undefined;
  for (const line of named.split('\n')) {
    if (line.startsWith('# file: ')) current = line.slice('# file: '.length);
    else if (current && /^trusted\.overlay\.opaque="y"/.test(line)) {
      const rel = current === upper ? '' : current.slice(upper.length + 1);
      dirs.add(rel);
    }
  }
  return dirs;
}

function mtimeOf(st: Stats): Date {
  return new Date(Math.floor(st.mtimeMs / 1000) * 1000);
}

async function existsIn(lowers: readonly string[], rel: string): Promise<boolean> {
  for (const l of lowers) {
    try {
      await lstat(join(l, rel));
      return true;
    } catch {
      /* not in this one */
    }
  }
  return false;
}

export interface DiffOptions {
  /** The lower directories (top first) the upper directory sits on, to tell stubs from real files. */
  lowers?: readonly string[];
  /** More mount targets (relative) whose empty stubs are no change (RUN --mount targets). */
  stubs?: readonly string[];
}

/** Streams the OCI layer tar of an overlay upper directory. */
export function diffUpperDir(upper: string, opts: DiffOptions = {}): Readable {
  const pack = tarPack();
  const lowers = opts.lowers ?? [];
  const stubs = new Set([...STUBS, ...(opts.stubs ?? [])]);
  const walk = async () => {
    const opaque = await opaqueDirs(upper);
    const seen = new Map<string, string>();
    // Directories the lower layers already have are written only when something
    // below them is (or their own metadata changed): runc's mount stubs leave
    // copied-up parents such as etc/ behind that are no change at all.
    const pending: Array<Partial<Header> & { name: string }> = [];
    const put = async (h: Partial<Header> & { name: string }, path?: string) => {
      for (const p of pending.splice(0)) await entry(pack, p);
      if (path !== undefined) await fileEntry(pack, h, path);
      else await entry(pack, h);
    };
    const lowerStat = async (rel: string) => {
      for (const l of lowers) {
        try {
          return await lstat(join(l, rel));
        } catch {
          /* not in this one */
        }
      }
      return undefined;
    };
    const visit = async (abs: string, rel: string): Promise<void> => {
      if (opaque.has(rel) && rel !== '') await put({ name: `${rel}/.wh..wh..opq`, type: 'file', size: 0, mode: 0, uid: 0, gid: 0, mtime: new Date(0) });
      for (const name of (await readdir(abs)).sort()) {
        const path = join(abs, name);
        const r = rel ? `${rel}/${name}` : name;
        const st = await lstat(path);
        if (stubs.has(r) && (st.isDirectory() ? (await readdir(path)).length === 0 : st.isFile() && st.size === 0) && !(await existsIn(lowers, r))) continue;
        const common = { mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, mtime: mtimeOf(st) };
        if (st.isDirectory()) {
          const header = { ...common, name: r + '/', type: 'directory' as const };
          const low = await lowerStat(r);
          const same = low?.isDirectory() && (low.mode & 0o7777) === common.mode && low.uid === st.uid && low.gid === st.gid;
          if (same && !opaque.has(r)) {
            pending.push(header);
            const depth = pending.length;
            await visit(path, r);
            // Nothing below was written: forget this directory (and only it).
            if (pending.length >= depth) pending.splice(depth - 1);
          } else {
            await put(header);
            await visit(path, r);
          }
        } else if (st.isSymbolicLink()) {
          await put({ ...common, name: r, type: 'symlink', linkname: await readlink(path) });
        } else if (st.isCharacterDevice() && st.rdev === 0) {
          await put({ name: rel ? `${rel}/.wh.${name}` : `.wh.${name}`, type: 'file', size: 0, mode: 0, uid: 0, gid: 0, mtime: new Date(0) });
        } else if (st.isFile()) {
          const id = `${st.dev}:${st.ino}`;
          const first = st.nlink > 1 ? seen.get(id) : undefined;
          if (first !== undefined) {
            await put({ ...common, name: r, type: 'link', linkname: first });
            continue;
          }
          if (st.nlink > 1) seen.set(id, r);
          await put({ ...common, name: r, type: 'file', size: st.size }, path);
        } else if (st.isCharacterDevice() || st.isBlockDevice()) {
          const major = Number((BigInt(st.rdev) >> 8n) & 0xfffn);
          const minor = Number((BigInt(st.rdev) & 0xffn) | ((BigInt(st.rdev) >> 12n) & 0xfff00n));
          await put({ ...common, name: r, type: st.isCharacterDevice() ? 'character-device' : 'block-device', devmajor: major, devminor: minor });
        } else if (st.isFIFO()) {
          await put({ ...common, name: r, type: 'fifo' });
        }
      }
    };
    await visit(upper, '');
  };
  walk().then(
    () => pack.finalize(),
    (err) => pack.destroy(err),
  );
  return Readable.from(pack as AsyncIterable<Buffer>, { objectMode: false });
}

/** The lowerdir list of an overlay mount description, top first. */
export function lowerDirsOf(options: readonly string[]): string[] {
  const opt = options.find((o) => o.startsWith('lowerdir='));
  return opt ? opt.slice('lowerdir='.length).split(':').filter(Boolean) : [];
}

/**
 * The layer tar between two full trees (the copy snapshotter keeps whole
 * trees, not diffs): what is new or changed in `upper` (type, mode, owner,
 * size, mtime, link target), and a whiteout for what `lower` has and `upper`
 * no longer does. Unchanged directories are written only as parents of a change.
 */
export function diffTrees(upper: string, lower: string | undefined, opts: DiffOptions = {}): Readable {
  const pack = tarPack();
  const stubs = new Set([...STUBS, ...(opts.stubs ?? [])]);
  const walk = async () => {
    const seen = new Map<string, string>();
    const pending: Array<Partial<Header> & { name: string }> = [];
    const put = async (h: Partial<Header> & { name: string }, path?: string) => {
      for (const p of pending.splice(0)) await entry(pack, p);
      if (path !== undefined) await fileEntry(pack, h, path);
      else await entry(pack, h);
    };
    const lstatOr = async (p: string) => lstat(p).catch(() => undefined);
    const visit = async (abs: string, lowAbs: string | undefined, rel: string): Promise<void> => {
      const names = (await readdir(abs)).sort();
      const present = new Set(names);
      // Deletions first, as whiteouts next to where the entries were.
      if (lowAbs) {
        for (const name of (await readdir(lowAbs).catch(() => [] as string[])).sort()) {
          if (!present.has(name)) await put({ name: rel ? `${rel}/.wh.${name}` : `.wh.${name}`, type: 'file', size: 0, mode: 0, uid: 0, gid: 0, mtime: new Date(0) });
        }
      }
      for (const name of names) {
        const path = join(abs, name);
        const r = rel ? `${rel}/${name}` : name;
        const st = await lstat(path);
        const low = lowAbs ? await lstatOr(join(lowAbs, name)) : undefined;
        if (!low && stubs.has(r) && (st.isDirectory() ? (await readdir(path)).length === 0 : st.isFile() && st.size === 0)) continue;
        const common = { mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, mtime: mtimeOf(st) };
        const sameMeta = low !== undefined && (low.mode & 0o170000) === (st.mode & 0o170000) && (low.mode & 0o7777) === common.mode && low.uid === st.uid && low.gid === st.gid;
        if (st.isDirectory()) {
          const header = { ...common, name: r + '/', type: 'directory' as const };
          if (sameMeta) {
            pending.push(header);
            const depth = pending.length;
            await visit(path, join(lowAbs!, name), r);
            if (pending.length >= depth) pending.splice(depth - 1);
          } else {
            await put(header);
            await visit(path, low?.isDirectory() ? join(lowAbs!, name) : undefined, r);
          }
        } else if (st.isSymbolicLink()) {
          const target = await readlink(path);
          if (sameMeta && (await readlink(join(lowAbs!, name)).catch(() => undefined)) === target) continue;
          await put({ ...common, name: r, type: 'symlink', linkname: target });
        } else if (st.isFile()) {
          if (sameMeta && low!.size === st.size && Math.floor(low!.mtimeMs) === Math.floor(st.mtimeMs)) continue;
          const id = `${st.dev}:${st.ino}`;
          const first = st.nlink > 1 ? seen.get(id) : undefined;
          if (first !== undefined) {
            await put({ ...common, name: r, type: 'link', linkname: first });
            continue;
          }
          if (st.nlink > 1) seen.set(id, r);
          await put({ ...common, name: r, type: 'file', size: st.size }, path);
        } else if (st.isCharacterDevice() || st.isBlockDevice()) {
          if (sameMeta && low!.rdev === st.rdev) continue;
          const major = Number((BigInt(st.rdev) >> 8n) & 0xfffn);
          const minor = Number((BigInt(st.rdev) & 0xffn) | ((BigInt(st.rdev) >> 12n) & 0xfff00n));
          await put({ ...common, name: r, type: st.isCharacterDevice() ? 'character-device' : 'block-device', devmajor: major, devminor: minor });
        } else if (st.isFIFO()) {
          if (sameMeta) continue;
          await put({ ...common, name: r, type: 'fifo' });
        }
      }
    };
    await visit(upper, lower, '');
  };
  walk().then(
    () => pack.finalize(),
    (err) => pack.destroy(err),
  );
  return Readable.from(pack as AsyncIterable<Buffer>, { objectMode: false });
}

/**
 * The layer of active snapshot `key` whatever the snapshotter: its upper
 * directory where that holds the diff (overlay), else the difference between
 * its full tree and a view of its parent (copy). `release` drops the view.
 */
export async function snapshotDiff(
  snapshotter: import('../snapshot/snapshotter.js').Snapshotter,
  key: string,
  stubs: readonly string[] = [],
): Promise<{ stream: Readable; release: () => Promise<void> }> {
  const upper = await snapshotter.upperDir(key);
  if (snapshotter.upperIsDiff) {
    const mounts = await snapshotter.mounts(key);
    return { stream: diffUpperDir(upper, { lowers: lowerDirsOf(mounts[0]?.options ?? []), stubs }), release: async () => {} };
  }
  const parent = (await snapshotter.stat(key)).parent;
  if (!parent) return { stream: diffTrees(upper, undefined, { stubs }), release: async () => {} };
  const viewKey = `berth-build-view-${key.slice(-12)}-${Date.now().toString(36)}`;
  const mounts = await snapshotter.view(viewKey, parent);
  const lower = mounts[0]?.source;
  return {
    stream: diffTrees(upper, lower, { stubs }),
    release: () => snapshotter.remove(viewKey).catch(() => {}),
  };
}
