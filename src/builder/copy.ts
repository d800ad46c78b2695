import { copyFile, lchown, lstat, lutimes, mkdir, readFile, readdir, readlink, rm, symlink, chmod, utimes, unlink } from 'node:fs/promises';
import { lstatSync } from 'node:fs';
import { join, posix } from 'node:path';
import { mkdirAllInRoot, resolveInRoot } from '../archive/in-root.js';
import { InvalidParameterError, NotFoundError } from '../errors/index.js';

// COPY and ADD's file operations. Sources are looked up inside their root
// (the build context or another stage's filesystem) with symlinks resolved as
// if that root were `/`, so `COPY link-to-etc-passwd /x` can never read the
// host's file; symlinks inside a copied directory stay symlinks. The
// destination is resolved inside the step's root the same way, and each
// written entry's last component is replaced rather than followed, so no
// write goes through a symlink out of the root.

export interface Owner {
  uid: number;
  gid: number;
}

export interface CopyOptions {
  /** Owner for everything written; undefined keeps the source's (root for the context). */
  owner?: Owner;
  /** --chmod: mode for files and directories copied. */
  mode?: number;
  /** Entries to leave out, by path relative to the source root (.dockerignore). */
  excluded?: (rel: string, isDir: boolean) => boolean;
  /** Source is the build context: files belong to root unless --chown. */
  fromContext: boolean;
}

function isMissing(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/** One lstat, synchronously: a single metadata call on the daemon's own tree is cheaper than a thread-pool round trip. */
function lstatOrUndefined(path: string) {
  try {
    return lstatSync(path);
  } catch (err) {
    if (isMissing(err)) return undefined;
    throw err;
  }
}

/** The absolute host path of `rel` in `root`, parents resolved inside root, last component not followed. */
export function inRoot(root: string, rel: string): string {
  return resolveInRoot(root, rel, { followFinal: false });
}

/** `rel` fully resolved inside root (the last component followed too). */
export function resolvedInRoot(root: string, rel: string): string {
  return resolveInRoot(root, rel);
}

/** Creates the directories of `rel` inside root that are missing (0755, owner). */
export async function mkdirInRoot(root: string, rel: string, owner?: Owner): Promise<string> {
  return mkdirAllInRoot(root, rel, { mode: 0o755, ...(owner ? { uid: owner.uid, gid: owner.gid } : {}) });
}

/** Copies source entry `src` (already resolved) to `dest` (a host path inside the target root). */
export async function copyEntry(src: string, srcRel: string, dest: string, opts: CopyOptions): Promise<void> {
  const st = await lstat(src);
  const uid = opts.owner?.uid ?? (opts.fromContext ? 0 : st.uid);
  const gid = opts.owner?.gid ?? (opts.fromContext ? 0 : st.gid);
  const mode = opts.mode ?? st.mode & 0o7777;
  const existing = await lstatOrUndefined(dest);
  if (st.isDirectory()) {
    if (existing && !existing.isDirectory()) throw new InvalidParameterError(`cannot copy to non-directory: ${dest}`);
    if (!existing) await mkdir(dest, { mode: 0o700 });
    for (const name of (await readdir(src)).sort()) {
      const childRel = srcRel === '' ? name : `${srcRel}/${name}`;
      if (opts.excluded?.(childRel, (await lstat(join(src, name))).isDirectory())) continue;
      await copyEntry(join(src, name), childRel, join(dest, name), opts);
    }
    await chmod(dest, mode);
    await lchown(dest, uid, gid);
    await utimes(dest, st.atime, st.mtime);
    return;
  }
  if (existing?.isDirectory()) throw new InvalidParameterError(`cannot replace to directory ${dest} with file`);
  if (existing) await unlink(dest);
  if (st.isSymbolicLink()) {
    await symlink(await readlink(src), dest);
    await lchown(dest, uid, gid);
    await lutimes(dest, st.atime, st.mtime).catch(() => {});
    return;
  }
  if (!st.isFile()) return; // devices and fifos are not copied from a context
  await copyFile(src, dest);
  await chmod(dest, mode);
  await lchown(dest, uid, gid);
  await utimes(dest, st.atime, st.mtime);
}

/** Go's filepath.Match as a regex on a whole path: `*` and `?` never cross `/`. */
export function globRegex(pattern: string): RegExp {
  let re = '^';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = pattern.indexOf(']', i + 2);
      if (end === -1) throw new InvalidParameterError(`syntax error in pattern: ${pattern}`);
      let cls = pattern.slice(i + 1, end);
      if (cls.startsWith('^') || cls.startsWith('!')) cls = '^' + cls.slice(1);
      re += `[${cls}]`;
      i = end;
    } else if (c === '\\' && i + 1 < pattern.length) re += '\\' + pattern[++i];
    else re += /[.+^${}()|\\]/.test(c) ? '\\' + c : c;
  }
  return new RegExp(re + '$', 's');
}

export function hasWildcard(path: string): boolean {
  return /[*?[]/.test(path);
}

/**
 * The context-relative paths a COPY source names: the path itself, or for a
 * pattern every path that matches it (walking only as deep as the pattern).
 */
export async function expandSource(root: string, source: string, excluded: (rel: string, isDir: boolean) => boolean): Promise<string[]> {
  const clean = posix.normalize('/' + source).slice(1).replace(/\/$/, '');
  if (!hasWildcard(clean)) return [clean];
  const re = globRegex(clean);
  const depth = clean.split('/').length;
  const out: string[] = [];
  const walk = async (rel: string, level: number): Promise<void> => {
    const abs = rel === '' ? root : join(root, rel);
    let names: string[];
    try {
      names = (await readdir(abs)).sort();
    } catch {
      return;
    }
    for (const name of names) {
      const r = rel === '' ? name : `${rel}/${name}`;
      const isDir = (await lstat(join(root, r))).isDirectory();
      if (excluded(r, isDir)) continue;
      if (level + 1 === depth) {
        if (re.test(r)) out.push(r);
      } else if (isDir) {
        await walk(r, level + 1);
      }
    }
  };
  await walk('', 0);
  return out;
}

/** Looks a source up inside its root: the resolved host path, or NotFoundError in Docker's words. */
export async function statSource(root: string, rel: string, excluded: (rel: string, isDir: boolean) => boolean, what: string): Promise<{ path: string; isDir: boolean }> {
  const notFound = () => new NotFoundError(`${what} failed: file not found in build context or excluded by .dockerignore: stat ${rel}: file does not exist`);
  const path = resolvedInRoot(root, rel);
  const st = await lstatOrUndefined(path);
  if (!st || (rel !== '' && excluded(rel, st.isDirectory()))) throw notFound();
  return { path, isDir: st.isDirectory() };
}

/** --chown user[:group] against the target's /etc/passwd and /etc/group; a lone user means gid = uid. */
export async function resolveChown(root: string, spec: string): Promise<Owner> {
  const [user = '', group] = spec.split(':', 2) as [string, string | undefined];
  const read = async (file: string) => {
    try {
      return (await readFile(resolvedInRoot(root, file), 'utf8')).split('\n').map((l) => l.split(':'));
    } catch {
      return [];
    }
  };
  const lookup = async (name: string, file: string, kind: string): Promise<number> => {
    if (/^\d+$/.test(name)) return Number(name);
    const row = (await read(file)).find((f) => f[0] === name && f.length >= 3);
    if (!row) throw new InvalidParameterError(`unable to convert uid/gid chown string to host mapping: can't find ${kind} for ${kind === 'uid' ? 'user' : 'group'} ${name}: no such ${kind === 'uid' ? 'user' : 'group'}: ${name}`);
    return Number(row[2]);
  };
  const uid = await lookup(user, '/etc/passwd', 'uid');
  const gid = group === undefined || group === '' ? uid : await lookup(group, '/etc/group', 'gid');
  return { uid, gid };
}

export async function removeQuietly(path: string): Promise<void> {
  await rm(path, { recursive: true, force: true }).catch(() => {});
}
