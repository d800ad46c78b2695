import { execFile } from 'node:child_process';
import {
  chmodSync,
  closeSync,
  constants,
  fchmodSync,
  fchownSync,
  futimesSync,
  lchownSync,
  linkSync,
  lstatSync,
  lutimesSync,
  mkdir as mkdirCb,
  open as openCb,
  readdirSync,
  symlinkSync,
  unlinkSync,
  writeSync,
  type Stats,
} from 'node:fs';
import { lstat, rm } from 'node:fs/promises';
import { promisify } from 'node:util';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { extract as tarExtract, type Header } from 'tar-stream';
import { InvalidParameterError, SystemError, errorMessage } from '../errors/index.js';
import { decompress } from './compression.js';

type Entry = AsyncIterable<Buffer> & { resume(): unknown };
import { entryPath } from './secure-path.js';
import { resolveInRootParts } from './in-root.js';

// Extraction of a layer (or `docker import` body, build context, `cp` upload)
// onto an existing tree, which may be the merged view of an overlay mount.
// OCI whiteouts become deletions in that tree; on an overlay view the kernel
// turns them into its own whiteouts in the upper dir.

export interface ApplyOptions {
  signal?: AbortSignal;
  /** Owner for every extracted entry instead of the tar's (docker cp: the container's root or user). */
  chown?: { uid: number; gid: number };
  /**
   * 'delete' (default): whiteouts delete from the tree below, which is a
   * merged view. 'overlay': the target is an empty overlay upper dir of its
   * own (a layer unpacked apart from its parents, so layers can be unpacked
   * concurrently); whiteouts become overlay's own: a 0/0 character device
   * for a deleted name, trusted.overlay.opaque=y on an opaque directory.
   */
  whiteouts?: 'delete' | 'overlay';
}

export interface ApplyResult {
  /** Bytes of regular-file content written. */
  size: number;
}

const WHITEOUT_PREFIX = '.wh.';
const WHITEOUT_META_PREFIX = '.wh..wh.';
const WHITEOUT_OPAQUE = '.wh..wh..opq';

const isRoot = process.getuid?.() === 0;

function run(cmd: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, (err, _stdout, stderr) => {
      // Keep the errno code: ENOENT means the command itself is missing.
      if (err) reject(Object.assign(new Error(`${cmd}: ${String(stderr).trim() || err.message}`), { code: err.code }));
      else resolve();
    });
  });
}

let setfattrMissing = false;

/**
 * xattrs from PAX SCHILY.xattr.* records. Node has no setxattr(2), so this
 * goes through setfattr(1) (package "attr") and is skipped when it is not
 * installed. tar-stream decodes PAX values as UTF-8, so values that were not
 * valid UTF-8 (e.g. binary security.capability) cannot be restored faithfully
 * and are skipped rather than written corrupted. trusted.overlay.* is never
 * taken from a tar: it would let a layer forge overlayfs metadata.
 */
async function applyXattrs(path: string, pax: unknown): Promise<void> {
  if (!pax || setfattrMissing) return;
  for (const [key, value] of Object.entries(pax as Record<string, string>)) {
    if (!key.startsWith('SCHILY.xattr.')) continue;
    const name = key.slice('SCHILY.xattr.'.length);
    if (!name || name.startsWith('trusted.overlay.') || value.includes('\uFFFD')) continue;
    try {
      await run('setfattr', ['-h', '-n', name, '-v', '0x' + Buffer.from(value, 'utf8').toString('hex'), path]);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        setfattrMissing = true;
        return;
      }
      // Filesystems without xattr support (or namespaces we may not write)
      // must not fail the whole layer, as in Docker's lsetxattr handling.
    }
  }
}

function lstatOrUndefined(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw err;
  }
}

// The callback forms: a plain fd, without FileHandle's bookkeeping.
const openAsync = promisify(openCb);
const mkdirAsync = promisify(mkdirCb);

function writeAll(fd: number, chunk: Buffer): void {
  for (let off = 0; off < chunk.length; ) off += writeSync(fd, chunk, off, chunk.length - off);
}

// Most per-entry work is synchronous fs calls on purpose: stat, chown, chmod,
// utimes and page-cache writes are short syscalls, cheaper than a thread-pool
// round trip each. Creating inodes (open O_CREAT, mkdir) can take a
// millisecond on a busy disk, so those stay asynchronous and the event loop is
// never held for long.
class Applier {
  size = 0;
  /** Resolved relative paths this tar created (opaque dirs keep these). */
  private readonly written = new Set<string>();
  /** Ancestors of written paths. */
  private readonly writtenAncestors = new Set<string>();
  /** Relative dirs known to be real directories reached without symlinks. */
  private readonly realDirs = new Set<string>(['']);
  private readonly dirTimes: Array<{ path: string; mtime: Date }> = [];

  constructor(
    private readonly root: string,
    private readonly chown?: { uid: number; gid: number },
    private readonly overlayWhiteouts = false,
  ) {}

  /** Records a whiteout in overlay's format (the target is a layer's own upper dir). */
  private async overlayWhiteout(parts: string[], base: string): Promise<void> {
    const parent = await this.parentOf(parts);
    const dir = join(this.root, ...parent);
    if (base === WHITEOUT_OPAQUE) {
      await run('setfattr', ['-n', 'trusted.overlay.opaque', '-v', 'y', dir]);
      return;
    }
    if (base.startsWith(WHITEOUT_META_PREFIX)) return;
    const victim = base.slice(WHITEOUT_PREFIX.length);
    if (!victim || victim === '.' || victim === '..' || victim.includes('/')) throw new InvalidParameterError(`invalid whiteout entry ${JSON.stringify(base)}`);
    const path = join(dir, victim);
    const st = lstatOrUndefined(path);
    if (st) await this.removePath([...parent, victim].join('/'), st);
    await run('mknod', [path, 'c', '0', '0']);
  }

  /** Resolves the parent of `parts` securely and creates it if missing. */
  private async parentOf(parts: string[]): Promise<string[]> {
    const lexical = parts.slice(0, -1);
    const key = lexical.join('/');
    if (this.realDirs.has(key)) return lexical;
    const resolved = resolveInRootParts(this.root, lexical);
    const abs = join(this.root, ...resolved);
    const st = lstatOrUndefined(abs);
    if (!st) {
      // Tars often omit parent entries; Docker creates them 0755.
      await mkdirAsync(abs, { recursive: true, mode: 0o755 });
    } else if (!st.isDirectory()) {
      throw new InvalidParameterError(`cannot extract ${parts.join('/')}: ${resolved.join('/') || '/'} is not a directory`);
    }
    if (resolved.join('/') === key) this.realDirs.add(key);
    return resolved;
  }

  private forget(rel: string): void {
    for (const d of this.realDirs) if (d === rel || d.startsWith(rel + '/')) this.realDirs.delete(d);
  }

  private async removePath(rel: string, st: Stats): Promise<void> {
    this.forget(rel);
    const path = join(this.root, rel);
    // Neither call follows symlinks: a link is removed, not its target.
    if (st.isDirectory()) await rm(path, { recursive: true, force: true });
    else unlinkSync(path);
  }

  private markWritten(rel: string): void {
    this.written.add(rel);
    const parts = rel.split('/');
    for (let i = 1; i < parts.length; i++) this.writtenAncestors.add(parts.slice(0, i).join('/'));
  }

  /** Opaque dir: drop what earlier layers put there, keep what this tar wrote. */
  private async makeOpaque(rel: string): Promise<void> {
    const abs = join(this.root, rel);
    if (!lstatOrUndefined(abs)?.isDirectory()) return;
    for (const name of readdirSync(abs)) {
      const child = rel ? `${rel}/${name}` : name;
      const cst = lstatOrUndefined(join(this.root, child));
      if (!cst) continue;
      if (this.written.has(child) || this.writtenAncestors.has(child)) {
        // Its lower contents are hidden as well: the whole subtree was opaque.
        if (cst.isDirectory()) await this.makeOpaque(child);
      } else {
        await this.removePath(child, cst);
      }
    }
  }

  async entry(header: Header, body: Entry): Promise<void> {
    const parts = entryPath(header.name);
    const base = parts[parts.length - 1];

    if (base !== undefined && base.startsWith(WHITEOUT_PREFIX)) {
      body.resume();
      if (this.overlayWhiteouts) return this.overlayWhiteout(parts, base);
      const parentRel = resolveInRootParts(this.root, parts.slice(0, -1)).join('/');
      if (base === WHITEOUT_OPAQUE) {
        await this.makeOpaque(parentRel);
        return;
      }
      // Other .wh..wh.* names are aufs bookkeeping (plnk, aufs), not whiteouts.
      if (base.startsWith(WHITEOUT_META_PREFIX)) return;
      const victim = base.slice(WHITEOUT_PREFIX.length);
      if (!victim || victim === '.' || victim === '..') throw new InvalidParameterError(`invalid whiteout entry ${JSON.stringify(header.name)}`);
      const rel = parentRel ? `${parentRel}/${victim}` : victim;
      const st = lstatOrUndefined(join(this.root, rel));
      if (st) await this.removePath(rel, st);
      return;
    }

    if (parts.length === 0) {
      // "./": the target root itself is not ours to re-create (Docker skips it too).
      body.resume();
      return;
    }

    const parent = await this.parentOf(parts);
    const rel = [...parent, base!].join('/');
    const path = join(this.root, rel);
    const type = header.type ?? 'file';

    let linkTarget: string | undefined;
    if (type === 'link') {
      const targetParts = entryPath(header.linkname ?? '', 'hard link target');
      if (targetParts.length === 0) throw new InvalidParameterError(`invalid hard link ${JSON.stringify(header.name)}: target is the root directory`);
      const targetParent = resolveInRootParts(this.root, targetParts.slice(0, -1));
      linkTarget = join(this.root, ...targetParent, targetParts[targetParts.length - 1]!);
      const tst = lstatOrUndefined(linkTarget);
      if (!tst) throw new InvalidParameterError(`invalid hard link ${JSON.stringify(header.name)}: target ${JSON.stringify(header.linkname)} does not exist`);
      if (tst.isDirectory()) throw new InvalidParameterError(`invalid hard link ${JSON.stringify(header.name)}: target ${JSON.stringify(header.linkname)} is a directory`);
      if (linkTarget === path) {
        body.resume();
        return;
      }
    }

    // Whatever is in the way is replaced, except a directory by a directory
    // (which keeps its contents and takes the new metadata).
    const existing = lstatOrUndefined(path);
    const keepDir = existing !== undefined && existing.isDirectory() && type === 'directory';
    if (existing && !keepDir) await this.removePath(rel, existing);

    const mode = (header.mode ?? (type === 'directory' ? 0o755 : 0o644)) & 0o7777;
    const mtime = header.mtime ?? new Date(0);
    switch (type) {
      case 'file':
      case 'contiguous-file': {
        const fd = await openAsync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
        try {
          for await (const chunk of body) {
            writeAll(fd, chunk);
            this.size += chunk.length;
          }
          // On the descriptor: no path lookup, nothing to follow.
          // chown clears set-id bits, so the mode comes after it.
          if (isRoot) fchownSync(fd, this.chown?.uid ?? header.uid ?? 0, this.chown?.gid ?? header.gid ?? 0);
          fchmodSync(fd, mode);
          futimesSync(fd, mtime, mtime);
        } finally {
          closeSync(fd);
        }
        this.markWritten(rel);
        await applyXattrs(path, header.pax);
        return;
      }
      case 'directory':
        body.resume();
        if (!keepDir) await mkdirAsync(path, { mode: 0o700 });
        this.realDirs.add(rel);
        break;
      case 'symlink':
        body.resume();
        // The link's text is stored as is; it is only ever followed chrooted.
        symlinkSync(header.linkname ?? '', path);
        break;
      case 'link':
        body.resume();
        // link(2) does not follow a symlink target: it links the symlink itself.
        linkSync(linkTarget!, path);
        this.markWritten(rel);
        return; // a hard link shares the target's inode and metadata
      case 'character-device':
      case 'block-device':
      case 'fifo': {
        body.resume();
        const args = type === 'fifo' ? [path, 'p'] : [path, type === 'character-device' ? 'c' : 'b', String(header.devmajor ?? 0), String(header.devminor ?? 0)];
        try {
          await run('mknod', args);
        } catch (err) {
          // Without CAP_MKNOD (rootless, user namespaces) devices cannot exist;
          // Docker skips them there too. As root a failure is a real error.
          if (!isRoot && /not permitted/i.test(errorMessage(err))) return;
          throw new SystemError(`extracting ${header.name}: ${errorMessage(err)}`);
        }
        break;
      }
      default:
        // Sockets and unknown types carry nothing we can create.
        body.resume();
        return;
    }

    this.markWritten(rel);
    if (isRoot) lchownSync(path, this.chown?.uid ?? header.uid ?? 0, this.chown?.gid ?? header.gid ?? 0);
    // Symlinks have no mode of their own.
    if (type !== 'symlink') chmodSync(path, mode);
    await applyXattrs(path, header.pax);
    // Directory times are set last: extracting their children would change them.
    if (type === 'directory') this.dirTimes.push({ path, mtime });
    else lutimesSync(path, mtime, mtime);
  }

  finish(): void {
    for (const { path, mtime } of this.dirTimes) {
      try {
        lutimesSync(path, mtime, mtime);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err; // removed by a later whiteout
      }
    }
  }
}

/**
 * Extracts a plain or compressed tar onto the existing directory `targetDir`.
 * Never writes outside it: `..` that escapes is refused, absolute names are
 * taken relative to the target, and symlinks in the target are resolved as if
 * it were the root of a chroot. OCI whiteouts (`.wh.NAME`, `.wh..wh..opq`)
 * delete what earlier layers left in the tree.
 */
export async function applyLayer(input: Readable, targetDir: string, opts: ApplyOptions = {}): Promise<ApplyResult> {
  const root = targetDir.replace(/\/+$/, '') || '/';
  const st = await lstat(root);
  if (!st.isDirectory()) throw new InvalidParameterError(`extraction target ${root} is not a directory`);
  opts.signal?.throwIfAborted();

  const { stream } = await decompress(input);
  const extract = tarExtract();
  // tar-stream's streams are streamx ones: piped by hand rather than through
  // node's pipeline(), with failures of either side ending the iteration below.
  let failure: unknown;
  const fail = (err: unknown) => {
    failure ??= err;
    extract.destroy(err instanceof Error ? err : new Error(String(err)));
  };
  stream.on('error', fail);
  extract.on('error', (err: unknown) => (failure ??= err));
  const onAbort = () => fail(opts.signal!.reason);
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  stream.pipe(extract as unknown as Writable);
  const applier = new Applier(root, opts.chown, opts.whiteouts === 'overlay');
  try {
    for await (const entry of extract) {
      opts.signal?.throwIfAborted();
      await applier.entry(entry.header, entry as unknown as Entry);
    }
    applier.finish();
  } catch (err) {
    stream.destroy();
    input.destroy();
    if (opts.signal?.aborted) throw opts.signal.reason ?? err;
    // The input's own error says more than the "destroyed" it caused downstream.
    throw failure ?? err;
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
  }
  return { size: applier.size };
}
