import { createHash } from 'node:crypto';
import { closeSync, createReadStream, fchmodSync, ftruncateSync, futimesSync, lstatSync, openSync, rmSync, unlinkSync, writeSync } from 'node:fs';
import { lstat, lutimes, mkdir, readFile, readdir, readlink, rm, symlink, unlink, chmod, link, utimes } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { extract as tarExtract, type Header } from 'tar-stream';
import { decompress } from '../archive/compression.js';
import { resolveInRootParts } from '../archive/in-root.js';
import { entryPath } from '../archive/secure-path.js';
import { InvalidParameterError } from '../errors/index.js';
import { PatternMatcher, readDockerignore } from './dockerignore.js';

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
async function clearForWrite(path: string, keepDir: boolean): Promise<void> {
  let st;
  try {
    st = await lstat(path);
  } catch (err) {
    if (isMissing(err)) return;
    throw err;
  }
  if (st.isDirectory()) {
    if (keepDir) return;
    await rm(path, { recursive: true, force: true });
  } else {
    await unlink(path);
  }
}

/** A context unpacked into its directory. */
export interface ExtractedContext {
  /** sha256 of each regular file's content, by host path (hashed as it arrived). */
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
  const { stream: raw } = await decompress(body);
  // The docker CLI's `-f -` appends the Dockerfile to the context tar without
  // the final padding and end-of-archive blocks; dockerd accepts that, so
  // complete the archive here rather than fail on a truncated end.
  let total = 0;
  const stream = raw.pipe(
    new Transform({
      transform(chunk: Buffer, _enc, cb) {
        total += chunk.length;
        cb(null, chunk);
      },
      flush(cb) {
        cb(null, Buffer.alloc((512 - (total % 512)) % 512 + 1024));
      },
    }),
  );
  raw.on('error', (err) => stream.destroy(err));
  const ex = tarExtract();
  const dirTimes: Array<{ path: string; mtime: Date }> = [];
  // Directories known to exist, so each parent is made once, not per entry.
  const knownDirs = new Set<string>([dir]);
  const ensureDir = async (path: string) => {
    if (knownDirs.has(path)) return;
    await mkdir(path, { recursive: true, mode: 0o755 });
    knownDirs.add(path);
  };
  // A directory replaced by a file or link takes what was known below it along.
  const forgetDir = (path: string) => {
    if (!knownDirs.delete(path)) return;
    for (const d of knownDirs) if (d.startsWith(`${path}/`)) knownDirs.delete(d);
  };
  const done = (async () => {
    for await (const entry of ex) {
      const h: Header = entry.header;
      const parts = entryPath(h.name, 'build context entry');
      if (parts.length === 0) {
        entry.resume();
        continue;
      }
      // The parent is resolved inside the context; the last component is never followed.
      const parent = join(dir, ...resolveInRootParts(dir, parts.slice(0, -1)));
      const target = join(parent, parts[parts.length - 1]!);
      await ensureDir(parent);
      const mode = (h.mode ?? 0o644) & 0o7777;
      const mtime = h.mtime ?? new Date(0);
      switch (h.type) {
        case 'directory':
          held.forgetUnder(target);
          await clearForWrite(target, true);
          await mkdir(target, { recursive: true, mode });
          await chmod(target, mode);
          knownDirs.add(target);
          dirTimes.push({ path: target, mtime });
          entry.resume();
          break;
        case 'file':
        case 'contiguous-file': {
          forgetDir(target);
          held.forgetUnder(target);
          const hash = createHash('sha256');
          const fd = createFile(target, mode);
          const size = h.size ?? 0;
          const hold = size >= HOLD_MIN_BYTES && held.bytes + size <= HOLD_BUDGET_BYTES;
          const chunks: Buffer[] = [];
          try {
            for await (const chunk of entry as AsyncIterable<Buffer>) {
              hash.update(chunk);
              if (hold) chunks.push(chunk);
              else writeAll(fd, chunk, -1);
            }
            // A sparse file of the right size: lstat and readdir see what they would.
            if (hold) ftruncateSync(fd, size);
            // The mode again: open's mode went through the umask.
            fchmodSync(fd, mode);
            futimesSync(fd, mtime, mtime);
          } finally {
            closeSync(fd);
          }
          if (hold) held.add(target, chunks, size, mtime);
          digests.set(target, hash.digest('hex'));
          break;
        }
        case 'symlink':
          held.forgetUnder(target);
          await clearForWrite(target, false);
          forgetDir(target);
          await symlink(h.linkname ?? '', target);
          await lutimes(target, mtime, mtime).catch(() => {});
          entry.resume();
          break;
        case 'link': {
          const src = join(dir, ...resolveInRootParts(dir, entryPath(h.linkname ?? '', 'build context link')));
          // Both names share one inode: its content goes down now, not by a path a later entry may replace.
          held.write(src);
          held.forgetUnder(target);
          await clearForWrite(target, false);
          forgetDir(target);
          await link(src, target);
          const known = digests.get(src);
          if (known) digests.set(target, known);
          entry.resume();
          break;
        }
        default:
          // Devices, fifos and the like have no place in a build context.
          entry.resume();
      }
    }
  })();
  try {
    await Promise.all([pipeline(stream, ex, ...(opts.signal ? [{ signal: opts.signal }] : [])), done]);
  } catch (err) {
    raw.destroy();
    stream.destroy();
    ex.destroy();
    // Nothing may still be writing into the directory when the caller removes it.
    await done.catch(() => {});
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

/**
 * Content checksum of a tree or file, as a cache key input: per entry its
 * path below `path`, type, mode, size, link target and content hash. Owner
 * and mtime do not count (a fresh checkout must hit the cache), as in Docker.
 * `excluded(rel)` skips entries the .dockerignore leaves out.
 */
export async function checksumPath(
  path: string,
  excluded: (rel: string, isDir: boolean) => boolean = () => false,
  relBase = '',
  /** Content digests already known, by host path (from extractContext). */
  known?: ReadonlyMap<string, string>,
): Promise<string> {
  const h = createHash('sha256');
  async function visit(abs: string, rel: string): Promise<void> {
    const st = await lstat(abs);
    const type = st.isDirectory() ? 'd' : st.isSymbolicLink() ? 'l' : st.isFile() ? 'f' : 'o';
    h.update(`${rel}\0${type}\0${(st.mode & 0o7777).toString(8)}\0`);
    if (type === 'f') {
      h.update(`${st.size}\0`);
      const digest = known?.get(abs);
      if (digest !== undefined) {
        h.update(digest);
      } else {
        const fh = createHash('sha256');
        for await (const chunk of createReadStream(abs)) fh.update(chunk as Buffer);
        h.update(fh.digest('hex'));
      }
    } else if (type === 'l') {
      h.update(await readlink(abs));
    } else if (type === 'd') {
      for (const name of (await readdir(abs)).sort()) {
        const childRel = rel === '' ? name : `${rel}/${name}`;
        const ctxRel = relBase === '' ? childRel : posix.join(relBase, childRel);
        if (excluded(ctxRel, (await lstat(join(abs, name))).isDirectory())) continue;
        await visit(join(abs, name), childRel);
      }
    }
    h.update('\n');
  }
  await visit(path, '');
  return h.digest('hex');
}
