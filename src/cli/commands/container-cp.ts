import { lstat, realpath, stat } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Transform, type Readable } from 'node:stream';
import { StatusError, type CommandImpl } from '../command.js';
import { applyLayer, createTarOfPath, rebaseTar } from '../../archive/index.js';
import { humanSize } from '../format/index.js';

// `berth cp`: docker's copy rules. The server sends or takes a tar of one
// resource; this side works out, from both ends' stat, which directory to
// extract into and what the top entry must be renamed to (docker's
// PrepareArchiveCopy), so `cp a b`, `cp a b/`, `cp dir/. b` behave as in docker.

const MODE_DIR = 1 << 31;
const MODE_SYMLINK = 1 << 27;
const MODE_TYPE = (1 << 31) | (1 << 27) | (1 << 26) | (1 << 25) | (1 << 24) | (1 << 21) | (1 << 19);

interface CopyInfo {
  path: string;
  exists: boolean;
  isDir: boolean;
  rebaseName: string;
}

/** "container:path" → [container, path]; a local path (which may contain ":" after a "/") → [undefined, path]. */
function splitCpArg(arg: string): [string | undefined, string] {
  if (isAbsolute(arg) || arg.startsWith('.')) return [undefined, arg];
  const i = arg.indexOf(':');
  if (i < 0) return [undefined, arg];
  return [arg.slice(0, i), arg.slice(i + 1)];
}

/** archive.SplitPathDirEntry: the parent and the last element, "/." kept as ".". */
function splitDirEntry(path: string): [string, string] {
  let p = path;
  if (p.endsWith('/.')) return [p.slice(0, -2) || '/', '.'];
  p = p.replace(/\/+$/, '') || '/';
  return [dirname(p), basename(p) || '/'];
}

function assertsDirectory(path: string): boolean {
  return path.endsWith('/') || path.endsWith('/.');
}

/** docker's PrepareArchiveCopy: where to extract, and the renamed content. */
function prepareArchiveCopy(content: Readable, src: CopyInfo, dst: CopyInfo): { dir: string; content: Readable } {
  const [, srcBaseRaw] = splitDirEntry(src.path);
  const srcBase = src.rebaseName || srcBaseRaw;
  const [dstDir, dstBase] = splitDirEntry(dst.path);
  if (dst.exists && dst.isDir) return { dir: dst.path, content };
  if (dst.exists && src.isDir) throw new StatusError('cannot copy directory', 1);
  if (!dst.exists && !src.isDir && assertsDirectory(dst.path)) throw new StatusError('no such directory', 1);
  return { dir: dstDir, content: rebaseTar(content, srcBase, dstBase) };
}

interface CpValues {
  archive: boolean;
  followLink: boolean;
  quiet: boolean;
}

export const cpCommand: CommandImpl<CpValues> = {
  flags: [
    { name: 'archive', short: 'a', kind: 'bool', usage: 'Archive mode (copy all uid/gid information)' },
    { name: 'follow-link', short: 'L', kind: 'bool', usage: 'Always follow symbol link in SRC_PATH' },
    { name: 'quiet', short: 'q', kind: 'bool', usage: 'Suppress progress output during copy. Progress output is automatically suppressed if no terminal is attached' },
  ],
  args: { kind: 'exact', n: 2 },
  async run(ctx, v, [srcArg, dstArg]) {
    const [srcContainer, srcPath] = splitCpArg(srcArg!);
    const [dstContainer, dstPath] = splitCpArg(dstArg!);
    if (srcContainer !== undefined && dstContainer !== undefined) throw new StatusError('copying between containers is not supported', 1);
    if (srcContainer === undefined && dstContainer === undefined) throw new StatusError('must specify at least one container source', 1);
    if (srcPath === '' || dstPath === '') throw new StatusError('filepath can not be empty', 1);
    const client = ctx.client();
    const progress = !v.quiet && ctx.stderr.isTTY === true;

    if (srcContainer !== undefined) {
      // From the container.
      let path = srcPath;
      let rebaseName = '';
      if (v.followLink) {
        const st = await client.containerStatPath(srcContainer, path);
        if ((st.mode & MODE_SYMLINK) !== 0) {
          const target = st.linkTarget.startsWith('/') ? st.linkTarget : join(dirname(path), st.linkTarget);
          rebaseName = basename(path.replace(/\/+$/, ''));
          path = target;
        }
      }
      const { stat: st, content } = await client.copyFromContainer(srcContainer, path);
      if (dstPath === '-') {
        await pipeline(content, ctx.stdout);
        return 0;
      }
      const dst = await localDestination(dstPath);
      const src: CopyInfo = { path, exists: true, isDir: (st.mode & MODE_DIR) !== 0, rebaseName };
      const prepared = prepareArchiveCopy(content, src, dst);
      const uid = process.getuid?.() ?? 0;
      const gid = process.getgid?.() ?? 0;
      const counter = counting();
      await applyLayer(prepared.content.pipe(counter.stream), prepared.dir, { chown: { uid, gid } });
      if (progress) ctx.err(`Successfully copied ${humanSize(counter.size())} to ${dstPath}\n`);
      return 0;
    }

    // To the container.
    const container = dstContainer!;
    const dst: CopyInfo = { path: dstPath, exists: false, isDir: false, rebaseName: '' };
    let dstStat = await client.containerStatPath(container, dstPath).catch(() => undefined);
    if (dstStat && (dstStat.mode & MODE_SYMLINK) !== 0) {
      const target = dstStat.linkTarget.startsWith('/') ? dstStat.linkTarget : join(dirname(dstPath), dstStat.linkTarget);
      dst.path = target;
      dstStat = await client.containerStatPath(container, target).catch(() => undefined);
    }
    if (dstStat) {
      const type = dstStat.mode & MODE_TYPE;
      if (type !== 0 && type !== MODE_DIR) throw new StatusError(`destination "${container}:${dstPath}" must be a directory or a regular file`, 1);
      dst.exists = true;
      dst.isDir = (dstStat.mode & MODE_DIR) !== 0;
    }
    let body: Readable;
    let dir: string;
    if (srcPath === '-') {
      if (!dst.isDir) throw new StatusError(`destination "${container}:${dstPath}" must be a directory`, 1);
      body = ctx.stdin as unknown as Readable;
      dir = dst.path;
    } else {
      const src = await localSource(srcPath, v.followLink);
      const [, base] = splitDirEntry(src.path);
      const tar = createTarOfPath(src.path, src.rebaseName || base);
      ({ dir, content: body } = prepareArchiveCopy(tar, { ...src, rebaseName: '' }, dst));
    }
    const counter = counting();
    await client.copyToContainer(container, dir, body.pipe(counter.stream), { copyUIDGID: v.archive });
    if (progress) ctx.err(`Successfully copied ${humanSize(counter.size())} to ${container}:${dstPath}\n`);
    return 0;
  },
};

/** A pass-through that counts the bytes going by. */
function counting(): { stream: Transform; size: () => number } {
  let size = 0;
  const stream = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      size += chunk.length;
      cb(null, chunk);
    },
  });
  return { stream, size: () => size };
}

/** docker's CopyInfoDestinationPath for a local destination. */
async function localDestination(path: string): Promise<CopyInfo> {
  let p = path;
  for (let i = 0; i < 255; i++) {
    const st = await lstat(p).catch(() => undefined);
    if (!st) {
      // Missing: fine if its parent exists.
      const parent = splitDirEntry(p)[0];
      const ps = await stat(parent).catch(() => undefined);
      if (!ps || !ps.isDirectory()) throw new StatusError(`no such directory`, 1);
      return { path: p, exists: false, isDir: false, rebaseName: '' };
    }
    if (st.isSymbolicLink()) {
      p = await realpath(p).catch(() => p);
      if ((await lstat(p).catch(() => undefined))?.isSymbolicLink()) break;
      continue;
    }
    return { path: p, exists: true, isDir: st.isDirectory(), rebaseName: '' };
  }
  return { path: p, exists: false, isDir: false, rebaseName: '' };
}

/** docker's CopyInfoSourcePath. */
async function localSource(path: string, followLink: boolean): Promise<CopyInfo> {
  let p = resolve(path) + (path.endsWith('/.') ? '/.' : path.endsWith('/') ? '/' : '');
  let rebaseName = '';
  if (followLink) {
    const st = await lstat(p.replace(/\/\.?$/, '')).catch(() => undefined);
    if (st?.isSymbolicLink()) {
      rebaseName = basename(p.replace(/\/\.?$/, ''));
      p = await realpath(p);
    }
  }
  const st = await lstat(p).catch(() => undefined);
  if (!st) throw new StatusError(`lstat ${p.replace(/\/\.?$/, '')}: no such file or directory`, 1);
  return { path: p, exists: true, isDir: st.isDirectory(), rebaseName };
}
