import { lstat, mkdir, rmdir } from 'node:fs/promises';
import { join, posix, relative } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { Stats } from 'node:fs';
import { ForbiddenError, InvalidParameterError, NotFoundError } from '../errors/index.js';
import { applyLayer, createTarOfPath, resolveInRoot } from '../archive/index.js';
import type { TaskService } from '../runtime/index.js';
import type { Snapshotter } from '../snapshot/snapshotter.js';
import { mountAll, unmountIfMounted } from '../util/mount.js';
import { isRunning, type Live } from './lifecycle.js';
import { resolveUser } from './user.js';
import { mountsOf } from './volumes.js';
import type { ContainerRecord } from './record.js';

// docker cp's server side (GET/HEAD/PUT /containers/{id}/archive), with
// dockerd's path rules: the path is taken inside the container's root, its
// directories are resolved through symlinks as if that root were "/", the
// last element is followed only for a trailing "/" or "/." (and always for
// an extraction point). A running container is read through its mounted
// rootfs; a stopped one through a temporary mount of its snapshot.

/** types.ContainerPathStat, as the X-Docker-Container-Path-Stat header carries it. */
export interface PathStat {
  name: string;
  size: number;
  /** Go's os.FileMode bits. */
  mode: number;
  mtime: string;
  linkTarget: string;
}

export interface PutArchiveOptions {
  noOverwriteDirNonDir: boolean;
  copyUIDGID: boolean;
}

/** Go's os.FileMode from a stat's mode. */
function goFileMode(st: Stats): number {
  let m = st.mode & 0o777;
  if (st.mode & 0o4000) m |= 1 << 23;
  if (st.mode & 0o2000) m |= 1 << 22;
  if (st.mode & 0o1000) m |= 1 << 20;
  if (st.isDirectory()) m |= 1 << 31;
  else if (st.isSymbolicLink()) m |= 1 << 27;
  else if (st.isFIFO()) m |= 1 << 25;
  else if (st.isSocket()) m |= 1 << 24;
  else if (st.isCharacterDevice()) m |= (1 << 26) | (1 << 21);
  else if (st.isBlockDevice()) m |= 1 << 26;
  return m >>> 0;
}

/** archive.PreserveTrailingDotOrSeparator over filepath.Join("/", path). */
function absolutePath(path: string): string {
  let abs = posix.join('/', path);
  if (abs.length > 1) abs = abs.replace(/\/+$/, '');
  if (path.endsWith('/.') && !abs.endsWith('/.')) abs = abs === '/' ? '/.' : `${abs}/.`;
  else if (path.endsWith('/') && !abs.endsWith('/')) abs = `${abs}/`;
  return abs;
}

/** Go's filepath.Base: the last element, trailing slashes ignored; "/" for the root. */
function goBase(p: string): string {
  const t = p.replace(/\/+$/, '');
  if (t === '') return '/';
  return t.slice(t.lastIndexOf('/') + 1);
}

/**
 * Where a container path really lives: binds and the /etc files are mounted
 * over the root inside the container, so cp reads and writes their sources
 * (as dockerd mounts them for the copy). Returns the root to resolve in and
 * the path inside it.
 */
function locate(r: ContainerRecord, root: string, abs: string, volumePath: (name: string) => string | undefined): { root: string; path: string; fileMount?: string } {
  const mounts = [
    { destination: '/etc/hostname', source: r.hostnamePath },
    { destination: '/etc/hosts', source: r.hostsPath },
    { destination: '/etc/resolv.conf', source: r.resolvConfPath },
    ...mountsOf(r).flatMap((m) => {
      if (m.type === 'bind') return [{ destination: m.destination, source: m.source }];
      const path = m.type === 'volume' && m.name ? volumePath(m.name) : undefined;
      return path ? [{ destination: m.destination, source: path }] : [];
    }),
  ];
  const clean = posix.normalize(abs);
  let best: { destination: string; source: string } | undefined;
  for (const m of mounts) {
    const dest = posix.normalize(m.destination).replace(/\/+$/, '') || '/';
    if ((clean === dest || clean.startsWith(`${dest}/`) || clean === `${dest}/.`) && (!best || dest.length > best.destination.length)) {
      best = { destination: dest, source: m.source };
    }
  }
  if (!best) return { root, path: abs };
  const rest = abs.slice(best.destination.length);
  if (rest === '' || rest === '/' || rest === '/.') {
    // The mount point itself: a file mount is its source, a directory mount its source's root.
    return { root: best.source, path: rest || '/', fileMount: rest === '' ? best.source : undefined };
  }
  return { root: best.source, path: rest };
}

export class ContainerArchive {
  constructor(
    private readonly tasks: TaskService,
    private readonly snapshotter: Snapshotter,
    /** Where stopped containers' roots are mounted for a moment (on the exec root's tmpfs). */
    private readonly scratchRoot: string,
    /** A named volume's host directory, when its driver keeps one. */
    private readonly volumePath: (name: string) => string | undefined = () => undefined,
  ) {}

  /** Clears mounts a crash left behind. */
  async init(): Promise<void> {
    await mkdir(this.scratchRoot, { recursive: true });
    const { readdir } = await import('node:fs/promises');
    for (const entry of await readdir(this.scratchRoot)) {
      const dir = join(this.scratchRoot, entry);
      await unmountIfMounted(dir).catch(() => {});
      await rmdir(dir).catch(() => {});
    }
  }

  /**
   * Runs `fn` with the container's root visible at a host path. A running
   * container's teardown waits for it; a stopped container stays locked (no
   * start) while its snapshot is mounted here.
   */
  async withRoot<T>(live: Live, fn: (root: string) => Promise<T>): Promise<T> {
    if (live.removed) throw new NotFoundError(`No such container: ${live.record.id}`);
    if (isRunning(live.record.state.status)) {
      const op = fn(this.tasks.rootfs(live.record.id));
      live.busy.add(op);
      try {
        return await op;
      } finally {
        live.busy.delete(op);
      }
    }
    return live.serialize(async () => {
      if (isRunning(live.record.state.status)) return this.withRoot(live, fn);
      await live.teardown;
      const dir = join(this.scratchRoot, `${live.record.id.slice(0, 12)}-${randomBytes(4).toString('hex')}`);
      await mkdir(dir);
      try {
        await mountAll(await this.snapshotter.mounts(live.record.id), dir);
        return await fn(dir);
      } finally {
        await unmountIfMounted(dir);
        await rmdir(dir).catch(() => {});
      }
    });
  }

  /** dockerd's ResolvePath + StatPath. */
  async stat(live: Live, containerRoot: string, path: string): Promise<{ stat: PathStat; resolved: string; abs: string }> {
    const abs = absolutePath(path);
    const where = locate(live.record, containerRoot, abs, this.volumePath);
    const root = where.root;
    const inner = where.path;
    const slash = inner.lastIndexOf('/');
    const dir = inner.slice(0, slash + 1);
    const base = inner.slice(slash + 1);
    const resolvedDir = where.fileMount ?? resolveInRoot(root, dir);
    const resolved = where.fileMount ?? (base ? join(resolvedDir, base) : resolvedDir);
    let st: Stats;
    try {
      st = await lstat(!where.fileMount && base === '.' ? `${resolvedDir}/.` : resolved);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') throw new NotFoundError(`Could not find the file ${path} in container ${live.record.name.slice(1)}`);
      throw err;
    }
    let linkTarget = '';
    if (st.isSymbolicLink()) linkTarget = posix.join('/', relative(containerRoot, resolveInRoot(containerRoot, abs)));
    return {
      stat: { name: goBase(abs), size: st.size, mode: goFileMode(st), mtime: st.mtime.toISOString(), linkTarget },
      resolved,
      abs,
    };
  }

  /** The tar docker cp reads: the resource renamed to the last element of the requested path. */
  tar(resolved: string, abs: string): Readable {
    let rebase = goBase(abs);
    if (rebase === '/') rebase = '.';
    return createTarOfPath(resolved, rebase);
  }

  /** Extracts a tar into the directory at `path` (its last element followed if it is a link). */
  async extract(live: Live, containerRoot: string, path: string, body: Readable, opts: PutArchiveOptions): Promise<void> {
    const r = live.record;
    const abs = absolutePath(path);
    const where = locate(r, containerRoot, abs, this.volumePath);
    const resolved = where.fileMount ?? resolveInRoot(where.root, where.path);
    let st: Stats;
    try {
      st = await lstat(resolved);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') throw new NotFoundError(`Could not find the file ${path} in container ${r.name.slice(1)}`);
      throw err;
    }
    if (!st.isDirectory()) throw new InvalidParameterError('extraction point is not a directory');
    if (r.hostConfig.ReadonlyRootfs && where.root === containerRoot) throw new ForbiddenError('container rootfs is marked read-only');
    // Owned by the container's root, or with copyUIDGID (cp -a) by its user, as dockerd does.
    let owner = { uid: 0, gid: 0 };
    if (opts.copyUIDGID && r.config.User) {
      const u = await resolveUser(containerRoot, r.config.User, []);
      owner = { uid: u.uid, gid: u.gid };
    }
    await applyLayer(body, resolved, { chown: owner });
  }
}
