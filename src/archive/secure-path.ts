import { InvalidParameterError } from '../errors/index.js';

// Path handling for extraction has two separate guards:
//  - entryPath() works on the *name* in the tar: it is cleaned lexically and a
//    `..` that climbs above the root is refused (as Docker does). A leading "/"
//    is dropped, so "/etc/x" means "<target>/etc/x", like GNU tar and Docker.
//  - in-root.ts resolves the *tree* on disk: symlinks already in the target
//    are followed as if the target were the root of a chroot, so "link -> /"
//    or "link -> ../../.." can never lead a write outside the target.

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
