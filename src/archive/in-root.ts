import { chownSync, lstatSync, mkdirSync, readlinkSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { InvalidParameterError } from '../errors/index.js';

// The one resolver of paths inside a container's root (or an extraction
// target): a path is followed as the container would see it after a chroot to
// `root`. Absolute symlink targets restart at the root, relative ones at the
// link's directory, and `..` never climbs above the root. Everything that
// resolves a path inside a root (extraction, the working directory, the
// passwd/group lookup, cp, volume copy-up, the builder) goes through here:
// each hand-rolled resolver is one more way out of the root.
//
// Synchronous on purpose: these are single metadata syscalls on a local tree,
// cheaper than a thread-pool round trip per component. The tree must not be
// changed concurrently by someone hostile (no container runs in it yet, or
// the caller accepts the race as Docker's FollowSymlinkInScope does).

/** Symlinks followed in one resolution before giving up, as Linux's ELOOP (40). */
export const MAX_SYMLINK_HOPS = 40;

/** Too many symlinks in one resolution: a loop, or a chain too long to be honest. */
export class SymlinkLoopError extends InvalidParameterError {
  constructor(path: string) {
    super(`${path}: too many levels of symbolic links`);
  }
}

export interface ResolveOptions {
  /** Follow a symlink in the last component too (default true, like open(2)); false resolves the parent only, like lstat(2). */
  followFinal?: boolean;
}

export interface MkdirOptions {
  /** Mode of the directories created (default 0o755). */
  mode?: number;
  /** Owner given to the directories created (never to ones that existed). */
  uid?: number;
  gid?: number;
}

function isMissing(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

function lstatOrMissing(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch (err) {
    if (isMissing(err)) return undefined;
    throw err;
  }
}

/** Splits a path into components; empty and "." components vanish. */
export function pathParts(path: string): string[] {
  return path.split('/').filter((p) => p !== '' && p !== '.');
}

/**
 * Walks `parts` under `root`. `onMissing` is called for a component that does
 * not exist (with its host path); when it creates the component the walk goes
 * on through the disk ('retry' looks at the component again), otherwise the
 * rest of the path is appended lexically (nothing exists below a missing
 * component to redirect it).
 */
function walk(root: string, parts: readonly string[], followFinal: boolean, onMissing?: (hostPath: string, rel: string[]) => 'created' | 'retry'): string[] {
  const resolved: string[] = [];
  const queue = [...parts];
  let hops = 0;
  let lexical = false;
  while (queue.length > 0) {
    const part = queue.shift()!;
    if (part === '' || part === '.') continue;
    if (part === '..') {
      // The chroot's "/.." is "/".
      resolved.pop();
      continue;
    }
    if (lexical) {
      resolved.push(part);
      continue;
    }
    const candidate = join(root, ...resolved, part);
    const st = lstatOrMissing(candidate);
    if (!st) {
      const made = onMissing?.(candidate, [...resolved, part]);
      if (made === 'retry') {
        // Someone made it meanwhile: look again at what is there now.
        queue.unshift(part);
        continue;
      }
      if (made === 'created') {
        resolved.push(part);
        continue;
      }
      lexical = true;
      resolved.push(part);
      continue;
    }
    const isLast = queue.every((p) => p === '' || p === '.');
    if (!st.isSymbolicLink() || (isLast && !followFinal)) {
      resolved.push(part);
      continue;
    }
    if (++hops > MAX_SYMLINK_HOPS) throw new SymlinkLoopError('/' + parts.join('/'));
    const target = readlinkSync(candidate);
    if (target.startsWith('/')) resolved.length = 0;
    queue.unshift(...target.split('/'));
  }
  return resolved;
}

/**
 * Resolves `path` (absolute or relative, both taken from the root) to its
 * components relative to `root`, following symlinks inside the root. Missing
 * components are kept lexically. Throws SymlinkLoopError past MAX_SYMLINK_HOPS.
 */
export function resolveInRootParts(root: string, path: string | readonly string[], opts: ResolveOptions = {}): string[] {
  return walk(root, typeof path === 'string' ? path.split('/') : path, opts.followFinal !== false);
}

/** resolveInRootParts as a host path; always `root` or below it. */
export function resolveInRoot(root: string, path: string | readonly string[], opts: ResolveOptions = {}): string {
  return join(root, ...resolveInRootParts(root, path, opts));
}

/**
 * `mkdir -p` of `path` inside `root` as the container sees it: existing
 * components (and symlinks) are followed inside the root, missing ones are
 * created through the resolved path with `mode` and chowned to uid/gid.
 * Returns the host path of the directory. A component that exists and is not
 * a directory is an InvalidParameterError naming it.
 */
export function mkdirAllInRoot(root: string, path: string, opts: MkdirOptions = {}): string {
  const mode = opts.mode ?? 0o755;
  const notADirectory = (rel: readonly string[]) => new InvalidParameterError(`mkdir ${path}: /${rel.join('/')}: not a directory`);
  const resolved = walk(root, path.split('/'), true, (hostPath, rel) => {
    try {
      mkdirSync(hostPath, { mode });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      // A file where a directory should be (ENOTDIR: one of its parents).
      if (code === 'ENOTDIR') throw notADirectory(rel.slice(0, -1));
      if (code === 'EEXIST') return 'retry';
      throw err;
    }
    if (opts.uid !== undefined && opts.gid !== undefined) chownSync(hostPath, opts.uid, opts.gid);
    return 'created';
  });
  const host = join(root, ...resolved);
  if (!lstatOrMissing(host)?.isDirectory()) throw notADirectory(resolved);
  return host;
}
