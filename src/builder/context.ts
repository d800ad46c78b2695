import type { Hash } from 'node:crypto';
import { chmodSync, closeSync, fchmodSync, ftruncateSync, futimesSync, linkSync, lstatSync, lutimesSync, mkdirSync, openSync, rmSync, symlinkSync, unlinkSync, writeSync } from 'node:fs';
import { readFile, utimes } from 'node:fs/promises';
import { join, relative } from 'node:path';
import type { Readable } from 'node:stream';
import { decompress } from '../archive/compression.js';
import { resolveInRootParts } from '../archive/in-root.js';
import { TarReader } from '../archive/tar-reader.js';
import { entryPath } from '../archive/secure-path.js';
import { InvalidParameterError } from '../errors/index.js';
import { PatternMatcher, readDockerignore } from './dockerignore.js';
import { newFileHash } from './source-hash.js';

// The build context: the tar a client sends with POST /build, unpacked into a
// directory of the daemon's own. Entry names that climb out (`../x`, or
// absolute paths with `..`) are refused; symlinks are recreated as they are
// and never written through, so a context cannot place anything outside its
// directory. .dockerignore is applied as files are read (COPY, checksums).

export interface ExtractOptions {
  signal?: AbortSignal;
}

function isMissing(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/** Removes whatever is at `path` unless it is a directory (which is merged into). */
function clearForWrite(path: string, keepDir: boolean): void {
  let st;
  try {
    st = lstatSync(path);
  } catch (err) {
    if (isMissing(err)) return;
    throw err;
  }
  if (st.isDirectory()) {
    if (keepDir) return;
    rmSync(path, { recursive: true, force: true });
  } else {
    unlinkSync(path);
  }
}

/** A context unpacked into its directory. */
export interface ExtractedContext {
  /** Each regular file's sum as dockerd computes it (source-hash.ts), by host path, taken as it arrived. */
  digests: Map<string, string>;
  /** Whether the content of the file at `path` is still held in memory. */
  isHeld(path: string): boolean;
  /**
   * Writes the content of every held file into its placeholder (once; later
   * calls wait for the first). Call before anything reads a context file's
   * content; names, types, modes, sizes and times are on disk already.
   */
  materialize(): Promise<void>;
}

/**
 * Unpacks a (plain or compressed) context tar into `dir`, which must exist.
 *
 * A rebuild whose steps all come from the cache reads no file of the context:
 * it needs the tree (names, modes, sizes) and each file's digest. So larger
 * files, up to a memory budget, are laid down as placeholders of the right
 * size, mode and mtime whose content stays in memory until `materialize()`;
 * everything else is written as it arrives.
 */
export async function extractContext(body: Readable, dir: string, opts: ExtractOptions = {}): Promise<ExtractedContext> {
  const digests = new Map<string, string>();
  const held = new HeldFiles();
  const dirTimes: Array<{ path: string; mtime: Date }> = [];
  // Directories known to exist, so each parent is made once, not per entry.
  const knownDirs = new Set<string>([dir]);
  const ensureDir = (path: string) => {
    if (knownDirs.has(path)) return;
    mkdirSync(path, { recursive: true, mode: 0o755 });
    knownDirs.add(path);
  };
  // A directory replaced by a file or link takes what was known below it along.
  const forgetDir = (path: string) => {
    if (!knownDirs.delete(path)) return;
    for (const d of knownDirs) if (d.startsWith(`${path}/`)) knownDirs.delete(d);
  };

  // The file being received, if any.
  let file: { fd: number; target: string; hash: Hash; hold: boolean; chunks: Buffer[]; size: number; mode: number; mtime: Date } | undefined;
  const closeFile = () => {
    if (file) closeSync(file.fd);
    file = undefined;
  };

  // Every entry is handled synchronously as its bytes arrive (see tar-reader.ts).
  const reader = new TarReader({
    entry(h) {
      const parts = entryPath(h.name, 'build context entry');
      if (parts.length === 0) return;
      // The parent is resolved inside the context; the last component is never followed.
      const parent = join(dir, ...resolveInRootParts(dir, parts.slice(0, -1)));
      const target = join(parent, parts[parts.length - 1]!);
      ensureDir(parent);
      const mode = h.mode;
      const mtime = h.mtime;
      switch (h.type) {
        case 'directory':
          held.forgetUnder(target);
          clearForWrite(target, true);
          mkdirSync(target, { recursive: true, mode });
          chmodSync(target, mode);
          knownDirs.add(target);
          dirTimes.push({ path: target, mtime });
          break;
        case 'file': {
          forgetDir(target);
          held.forgetUnder(target);
          const hold = h.size >= HOLD_MIN_BYTES && held.bytes + h.size <= HOLD_BUDGET_BYTES;
          // dockerd sums the header as the client sent it (tarsum v1), then the content.
          const hash = newFileHash({ name: relative(dir, target), mode, uid: h.uid, gid: h.gid, size: h.size });
          file = { fd: createFile(target, mode), target, hash, hold, chunks: [], size: h.size, mode, mtime };
          break;
        }
        case 'symlink':
          held.forgetUnder(target);
          clearForWrite(target, false);
          forgetDir(target);
          symlinkSync(h.linkname, target);
          try {
            lutimesSync(target, mtime, mtime);
          } catch {
            /* times on a link are best effort */
          }
          break;
        case 'link': {
          const src = join(dir, ...resolveInRootParts(dir, entryPath(h.linkname, 'build context link')));
          // Both names share one inode: its content goes down now, not by a path a later entry may replace.
          held.write(src);
          held.forgetUnder(target);
          clearForWrite(target, false);
          forgetDir(target);
          linkSync(src, target);
          // Its sum has its own name in it: computed from the content on disk when a step needs it.
          digests.delete(target);
          break;
        }
        default:
        // Devices, fifos and the like have no place in a build context.
      }
    },
    data(chunk) {
      if (!file) return;
      file.hash.update(chunk);
      if (file.hold) file.chunks.push(chunk);
      else writeAll(file.fd, chunk, -1);
    },
    end() {
      if (!file) return;
      const f = file;
      // A sparse file of the right size: lstat and readdir see what they would.
      if (f.hold) ftruncateSync(f.fd, f.size);
      // The mode again: open's mode went through the umask.
      fchmodSync(f.fd, f.mode);
      futimesSync(f.fd, f.mtime, f.mtime);
      closeFile();
      if (f.hold) held.add(f.target, f.chunks, f.size, f.mtime);
      digests.set(f.target, f.hash.digest('hex'));
    },
  });

  const { stream } = await decompress(body);
  try {
    await new Promise<void>((resolve, reject) => {
      const fail = (err: unknown) => {
        stream.destroy();
        reject(err);
      };
      const onAbort = () => fail(opts.signal?.reason ?? new Error('aborted'));
      if (opts.signal?.aborted) return onAbort();
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      const settle = (fn: () => void) => {
        opts.signal?.removeEventListener('abort', onAbort);
        fn();
      };
      stream.on('data', (chunk: Buffer) => {
        try {
          reader.push(chunk);
        } catch (err) {
          settle(() => fail(err));
        }
      });
      stream.on('error', (err) => settle(() => fail(err)));
      stream.on('end', () => {
        try {
          reader.finish();
          settle(resolve);
        } catch (err) {
          settle(() => fail(err));
        }
      });
    });
  } catch (err) {
    closeFile();
    if (err instanceof InvalidParameterError) throw err;
    const msg = err instanceof Error ? err.message : String(err);
    throw new InvalidParameterError(`failed to read the build context: ${msg}`, { cause: err });
  }
  // Directory times last: writing inside a directory changes its mtime.
  for (const d of dirTimes.reverse()) await utimes(d.path, d.mtime, d.mtime).catch(() => {});
  let materialized: Promise<void> | undefined;
  return {
    digests,
    isHeld: (path) => held.has(path),
    materialize: () => (materialized ??= held.writeAll()),
  };
}

/**
 * A new file for a context entry; one already there (an earlier entry of the
 * same name) is replaced. Context files are written with synchronous calls a
 * chunk at a time: each is a short copy into the page cache, far cheaper than
 * a thread-pool round trip, and the event loop still turns between chunks.
 */
function createFile(target: string, mode: number): number {
  try {
    return openSync(target, 'wx', mode);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    const st = lstatSync(target);
    if (st.isDirectory()) rmSync(target, { recursive: true, force: true });
    else unlinkSync(target);
    return openSync(target, 'wx', mode);
  }
}

/** Writes all of `chunk` at `position` (-1: at the file's offset). */
function writeAll(fd: number, chunk: Buffer, position: number): void {
  let off = 0;
  while (off < chunk.length) off += writeSync(fd, chunk, off, chunk.length - off, position < 0 ? null : position + off);
}

/** Files of at least this size are held in memory rather than written at once. */
const HOLD_MIN_BYTES = 64 << 10;
/** Content held in memory for one build at most; past it files are written as they arrive. */
const HOLD_BUDGET_BYTES = 64 << 20;

/** Content of context files not yet written into their placeholders, by host path. */
class HeldFiles {
  private readonly files = new Map<string, { chunks: Buffer[]; size: number; mtime: Date }>();
  bytes = 0;

  add(path: string, chunks: Buffer[], size: number, mtime: Date): void {
    this.files.set(path, { chunks, size, mtime });
    this.bytes += size;
  }

  has(path: string): boolean {
    return this.files.has(path);
  }

  /** The path is being replaced: what was held for it is not its content any more. */
  forget(path: string): void {
    const f = this.files.get(path);
    if (!f) return;
    this.files.delete(path);
    this.bytes -= f.size;
  }

  /** `path` and everything below it are being removed or replaced. */
  forgetUnder(path: string): void {
    this.forget(path);
    if (this.files.size === 0) return;
    for (const p of [...this.files.keys()]) if (p.startsWith(`${path}/`)) this.forget(p);
  }

  /** Writes one held file's content now (synchronously: a hard link is about to share it). */
  write(path: string): void {
    const f = this.files.get(path);
    if (!f) return;
    const fd = openSync(path, 'r+');
    try {
      let pos = 0;
      for (const c of f.chunks) {
        writeAll(fd, c, pos);
        pos += c.length;
      }
      // Writing moved the mtime the tar gave it.
      futimesSync(fd, f.mtime, f.mtime);
    } finally {
      closeSync(fd);
    }
    this.forget(path);
  }

  async writeAll(): Promise<void> {
    for (const path of [...this.files.keys()]) {
      this.write(path);
      // Let other requests in between files.
      await new Promise<void>((r) => setImmediate(r));
    }
  }
}

/** The context's .dockerignore patterns (none when absent). */
export async function loadDockerignore(dir: string): Promise<PatternMatcher> {
  const text = await readFile(join(dir, '.dockerignore'), 'utf8').catch((err: unknown) => {
    if (isMissing(err)) return '';
    throw err;
  });
  return new PatternMatcher(readDockerignore(text));
}

