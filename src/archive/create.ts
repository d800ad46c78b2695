import { createReadStream, type Stats } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { extract as tarExtract, pack as tarPack, type Header, type Pack } from 'tar-stream';

// Tar of a directory tree for export, save and commit: paths relative to the
// directory, in a stable (sorted) order, with symlinks, hard links, modes,
// owners, mtimes and device nodes kept.

export interface CreateTarOptions {
  /**
   * "overlay": the tree is an overlayfs upper dir; its whiteouts (0/0 char
   * devices) become OCI `.wh.NAME` entries. Opaque directories are marked with
   * an xattr Node cannot read, so they are not detected.
   */
  whiteouts?: 'overlay';
}

function mtimeOf(st: Stats): Date {
  // tar keeps whole seconds; truncating keeps repeated exports identical.
  return new Date(Math.floor(st.mtimeMs / 1000) * 1000);
}

function walkInto(pack: Pack, dir: string, prefix: string): Promise<void> {
  return walk(pack, dir, {}, prefix);
}

async function walk(pack: Pack, dir: string, opts: CreateTarOptions, prefix = ''): Promise<void> {
  const seen = new Map<string, string>(); // dev:ino → first path, for hard links
  async function visit(abs: string, rel: string): Promise<void> {
    const names = (await readdir(abs)).sort();
    for (const name of names) {
      const path = join(abs, name);
      const name_ = rel ? `${rel}/${name}` : name;
      const st = await lstat(path);
      const common = { mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, mtime: mtimeOf(st) };
      if (st.isDirectory()) {
        await entry(pack, { ...common, name: name_ + '/', type: 'directory' });
        await visit(path, name_);
      } else if (st.isSymbolicLink()) {
        await entry(pack, { ...common, name: name_, type: 'symlink', linkname: await readlink(path) });
      } else if (st.isCharacterDevice() && opts.whiteouts === 'overlay' && st.rdev === 0) {
        await entry(pack, { ...common, name: rel ? `${rel}/.wh.${name}` : `.wh.${name}`, type: 'file', size: 0 });
      } else if (st.isFile()) {
        const id = `${st.dev}:${st.ino}`;
        const first = st.nlink > 1 ? seen.get(id) : undefined;
        if (first !== undefined) {
          await entry(pack, { ...common, name: name_, type: 'link', linkname: first });
          continue;
        }
        if (st.nlink > 1) seen.set(id, name_);
        await fileEntry(pack, { ...common, name: name_, type: 'file', size: st.size }, path);
      } else if (st.isCharacterDevice() || st.isBlockDevice()) {
        // rdev packs major/minor as the kernel's new_encode_dev() does.
        const major = Number((BigInt(st.rdev) >> 8n) & 0xfffn);
        const minor = Number((BigInt(st.rdev) & 0xffn) | ((BigInt(st.rdev) >> 12n) & 0xfff00n));
        await entry(pack, { ...common, name: name_, type: st.isCharacterDevice() ? 'character-device' : 'block-device', devmajor: major, devminor: minor });
      } else if (st.isFIFO()) {
        await entry(pack, { ...common, name: name_, type: 'fifo' });
      }
      // Sockets cannot be archived; tar skips them as well.
    }
  }
  await visit(dir, prefix);
}

/** Writes one file's content as an entry, waiting for the pack to drain. */
export async function fileEntry(pack: Pack, header: Partial<Header> & { name: string }, path: string): Promise<void> {
  const size = header.size ?? 0;
  let sink!: ReturnType<Pack['entry']>;
  const done = new Promise<void>((resolve, reject) => {
    sink = pack.entry(header, (err) => (err ? reject(err) : resolve()));
  });
  let written = 0;
  for await (const chunk of createReadStream(path)) {
    // The file may grow while being read; the header's size is binding.
    const part = (chunk as Buffer).subarray(0, Math.max(0, size - written));
    written += part.length;
    if (part.length > 0 && !sink.write(part)) await new Promise<void>((r) => sink.once('drain', () => r()));
  }
  // ...and it may have shrunk: pad with zeros so the archive stays well-formed.
  sink.end(written < size ? Buffer.alloc(size - written) : undefined);
  await done;
}

/** A header-only entry (directory, link, device, whiteout). */
export function entry(pack: Pack, header: Partial<Header> & { name: string }): Promise<void> {
  // An explicit empty body: without one tar-stream waits for a body to be written.
  return new Promise((resolve, reject) => pack.entry(header, '', (err) => (err ? reject(err) : resolve())));
}

/**
 * Streams a tar of one resource (file, directory tree, symlink, device) under
 * the name `rebaseName` (docker cp's TarResourceRebase): a directory's
 * entries come as `rebaseName/...`. A symlink is archived as the link.
 */
export function createTarOfPath(path: string, rebaseName: string): Readable {
  const pack = tarPack();
  (async () => {
    const st = await lstat(path);
    const common = { mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, mtime: mtimeOf(st) };
    if (st.isDirectory()) {
      await entry(pack, { ...common, name: `${rebaseName}/`, type: 'directory' });
      await walkInto(pack, path, rebaseName);
    } else if (st.isSymbolicLink()) {
      await entry(pack, { ...common, name: rebaseName, type: 'symlink', linkname: await readlink(path) });
    } else if (st.isFile()) {
      await fileEntry(pack, { ...common, name: rebaseName, type: 'file', size: st.size }, path);
    } else if (st.isFIFO()) {
      await entry(pack, { ...common, name: rebaseName, type: 'fifo' });
    } else if (st.isCharacterDevice() || st.isBlockDevice()) {
      const major = Number((BigInt(st.rdev) >> 8n) & 0xfffn);
      const minor = Number((BigInt(st.rdev) & 0xffn) | ((BigInt(st.rdev) >> 12n) & 0xfff00n));
      await entry(pack, { ...common, name: rebaseName, type: st.isCharacterDevice() ? 'character-device' : 'block-device', devmajor: major, devminor: minor });
    }
  })().then(
    () => pack.finalize(),
    (err) => pack.destroy(err),
  );
  return Readable.from(pack as AsyncIterable<Buffer>, { objectMode: false });
}

/** Streams a tar of the contents of `dir` (not including `dir` itself). */
export function createTarFromDir(dir: string, opts: CreateTarOptions = {}): Readable {
  const pack = tarPack();
  walk(pack, dir, opts).then(
    () => pack.finalize(),
    (err) => pack.destroy(err),
  );
  // A node Readable, so callers can use node's pipeline(); destroying it stops the walk.
  return Readable.from(pack as AsyncIterable<Buffer>, { objectMode: false });
}

/**
 * Renames a tar's entries whose first element is `oldBase` to start with
 * `newBase` (docker's RebaseArchiveEntries), hard-link targets included.
 */
export function rebaseTar(input: Readable, oldBase: string, newBase: string): Readable {
  const extract = tarExtract();
  const pack = tarPack();
  const rename = (name: string) => {
    let n = name.replace(/^\/+/, '');
    if (oldBase === '.') {
      n = n.replace(/^\.(\/|$)/, '');
      return n ? `${newBase}/${n}` : `${newBase}/`;
    }
    if (n === oldBase || n.startsWith(`${oldBase}/`)) return newBase + n.slice(oldBase.length);
    return name;
  };
  (async () => {
    for await (const e of extract as AsyncIterable<{ header: Header } & AsyncIterable<Buffer>>) {
      const header = { ...e.header, name: rename(e.header.name) };
      if (header.type === 'link' && header.linkname) header.linkname = rename(header.linkname);
      const chunks: Buffer[] = [];
      for await (const c of e) chunks.push(c);
      await new Promise<void>((resolve, reject) => pack.entry(header, Buffer.concat(chunks), (err) => (err ? reject(err) : resolve())));
    }
  })().then(
    () => pack.finalize(),
    (err) => pack.destroy(err),
  );
  input.on('error', (err) => extract.destroy(err));
  input.pipe(extract as unknown as NodeJS.WritableStream);
  return Readable.from(pack as AsyncIterable<Buffer>, { objectMode: false });
}
