import { existsSync, accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { InvalidParameterError, UnavailableError } from '../errors/index.js';

// Picks the OCI runtime that works on this host. crun 1.8 refuses hybrid
// cgroup layouts ("cgroups in hybrid mode not supported") while runc handles
// v1, hybrid and v2, so on hybrid hosts crun is not offered as the default.

export type CgroupLayout = 'v1' | 'hybrid' | 'v2';

export function detectCgroupLayout(root = '/sys/fs/cgroup'): CgroupLayout {
  if (existsSync(join(root, 'cgroup.controllers'))) return 'v2';
  if (existsSync(join(root, 'unified', 'cgroup.controllers'))) return 'hybrid';
  return 'v1';
}

export function findExecutable(name: string): string | undefined {
  if (name.includes('/')) return isExecutable(name) ? name : undefined;
  for (const dir of (process.env.PATH || '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin').split(delimiter)) {
    const candidate = join(dir, name);
    if (isExecutable(candidate)) return candidate;
  }
  for (const dir of ['/usr/sbin', '/usr/bin', '/sbin', '/bin', '/usr/local/bin', '/usr/libexec/podman']) {
    const candidate = join(dir, name);
    if (isExecutable(candidate)) return candidate;
  }
  return undefined;
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export interface RuntimeChoice {
  name: string;
  path: string;
}

/** Runtimes usable on this host, best first. */
export function availableRuntimes(layout = detectCgroupLayout()): RuntimeChoice[] {
  const out: RuntimeChoice[] = [];
  for (const name of ['runc', 'crun']) {
    if (name === 'crun' && layout === 'hybrid') continue;
    const path = findExecutable(name);
    if (path) out.push({ name, path });
  }
  return out;
}

export function chooseRuntime(requested: string | undefined, layout = detectCgroupLayout()): RuntimeChoice {
  const usable = availableRuntimes(layout);
  if (requested) {
    if (requested === 'crun' && layout === 'hybrid') {
      throw new InvalidParameterError('crun cannot run containers on this host: cgroups in hybrid mode not supported; use runc');
    }
    const found = usable.find((r) => r.name === requested) ?? (requested.includes('/') ? { name: requested.split('/').pop()!, path: findExecutable(requested) ?? '' } : undefined);
    if (!found || !found.path) throw new InvalidParameterError(`unknown or unavailable runtime: ${requested}`);
    return found;
  }
  const first = usable[0];
  if (!first) throw new UnavailableError('no OCI runtime found: install runc or crun');
  return first;
}
