import { lstatSync, readlinkSync } from 'node:fs';
import { join, posix } from 'node:path';
import { InvalidParameterError } from '../errors/index.js';

// Path handling for extraction. Synchronous on purpose: these are single
// metadata syscalls on a local tree, far cheaper than a thread-pool round trip
// per path component. Two separate guards:
//  - entryPath() works on the *name* in the tar: it is cleaned lexically and a
//    `..` that climbs above the root is refused (as Docker does). A leading "/"
//    is dropped, so "/etc/x" means "<target>/etc/x", like GNU tar and Docker.
//  - secureJoin() works on the *tree* on disk: symlinks already in the target
//    are followed as if the target were the root of a chroot (the semantics of
//    cyphar/filepath-securejoin), so "link -> /" or "link -> ../../.." can
//    never lead a write outside the target.

const MAX_SYMLINKS = 255;

/**
 * Cleans a tar entry name into path components relative to the target root.
 * Returns [] for the root itself ("./", "/"). Throws InvalidParameterError
 * when `..` would leave the root.
 */
export function entryPath(name: string, what = 'tar entry'): string[] {
  if (name.includes('\0')) throw new InvalidParameterError(`invalid ${what} ${JSON.stringify(name)}: NUL byte in name`);
  const out: string[] = [];
  for (const part of name.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (out.length === 0) throw new InvalidParameterError(`invalid ${what} ${JSON.stringify(name)}: path escapes the target directory`);
      out.pop();
      continue;
    }
    out.push(part);
  }
  return out;
}

function isMissing(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/**
 * Resolves `parts` (relative to `root`) to a real path inside `root`, following
 * symlinks met on the way as if `root` were `/`. Components that do not exist
 * are appended lexically. The result always lies inside `root`; its last
 * component may itself be a symlink only if `parts` was resolved through it
 * (callers that must not follow the final component resolve the parent only).
 * Returns the resolved components relative to root.
 */
export function secureResolve(root: string, parts: readonly string[]): string[] {
  const resolved: string[] = [];
  let queue = [...parts];
  let links = 0;
  let missing = false;
  while (queue.length > 0) {
    const part = queue.shift()!;
    if (part === '' || part === '.') continue;
    if (part === '..') {
      // Never above the root: the chroot's "/.." is "/".
      resolved.pop();
      continue;
    }
    if (missing) {
      resolved.push(part);
      continue;
    }
    const candidate = join(root, ...resolved, part);
    let isLink = false;
    try {
      isLink = lstatSync(candidate).isSymbolicLink();
    } catch (err) {
      if (!isMissing(err)) throw err;
      // Nothing exists below a missing component; the rest is lexical.
      missing = true;
    }
    if (!isLink) {
      resolved.push(part);
      continue;
    }
    if (++links > MAX_SYMLINKS) throw new InvalidParameterError(`too many levels of symbolic links resolving ${posix.join(...parts)}`);
    const target = readlinkSync(candidate);
    if (target.startsWith('/')) resolved.length = 0;
    queue = [...target.split('/'), ...queue];
  }
  return resolved;
}

/** secureResolve as an absolute path. */
export function secureJoin(root: string, unsafePath: string): string {
  return join(root, ...secureResolve(root, unsafePath.split('/')));
}
