import { lstatSync, readdirSync, realpathSync, statSync, type BigIntStats } from 'node:fs';
import { join } from 'node:path';
import { InvalidParameterError } from '../../errors/index.js';
import type { DeviceMapping } from '../../types/engine.js';

// Host devices given to a container: the nodes the runtime creates in its
// /dev (linux.devices) and the device-cgroup rules that let it use them.

export interface OciDevice {
  path: string;
  type: 'c' | 'b' | 'p';
  major: number;
  minor: number;
  fileMode: number;
  uid: number;
  gid: number;
}

export interface OciDeviceRule {
  allow: boolean;
  type?: string;
  major?: number;
  minor?: number;
  access: string;
}


const S_IFMT = 0o170000n;
const TYPES: Record<string, OciDevice['type']> = { [String(0o020000)]: 'c', [String(0o060000)]: 'b', [String(0o010000)]: 'p' };

/** Linux's dev_t split (glibc's gnu_dev_major/minor). */
function majorMinor(rdev: bigint): { major: number; minor: number } {
  return {
    major: Number(((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn)),
    minor: Number((rdev & 0xffn) | ((rdev >> 12n) & ~0xffn)),
  };
}

class NotADevice extends Error {}

function deviceAt(path: string, pathInContainer: string): OciDevice {
  const st = lstatSync(path, { bigint: true }) as BigIntStats;
  const type = TYPES[String(st.mode & S_IFMT)];
  if (!type) throw new NotADevice('not a device node');
  return { path: pathInContainer, type, ...majorMinor(st.rdev), fileMode: Number(st.mode & 0o7777n), uid: Number(st.uid), gid: Number(st.gid) };
}

function rule(d: OciDevice, access: string): OciDeviceRule {
  return { allow: true, type: d.type, major: d.major, minor: d.minor, access };
}

/**
 * `--device HOST[:CONTAINER[:PERMS]]`: a device node, or every device under
 * a directory, as dockerd resolves it (a symlink on the host is followed).
 */
export function devicesFromPath(m: DeviceMapping): { devices: OciDevice[]; rules: OciDeviceRule[] } {
  const inContainer = m.PathInContainer || m.PathOnHost;
  const access = m.CgroupPermissions || 'rwm';
  let host = m.PathOnHost;
  try {
    if (lstatSync(host).isSymbolicLink()) host = realpathSync(host);
  } catch {
    /* reported below */
  }
  try {
    const d = deviceAt(host, inContainer);
    return { devices: [d], rules: [rule(d, access)] };
  } catch (err) {
    if (err instanceof NotADevice) {
      let isDir = false;
      try {
        isDir = statSync(host).isDirectory();
      } catch {
        /* not a directory */
      }
      if (isDir) {
        const devices = walkDevices(host).map((p) => deviceAt(p, inContainer + p.slice(host.length)));
        if (devices.length) return { devices, rules: devices.map((d) => rule(d, access)) };
      }
    }
    const reason = err instanceof NotADevice ? err.message : errnoText(err);
    throw new InvalidParameterError(`error gathering device information while adding custom device ${JSON.stringify(m.PathOnHost)}: ${reason}`);
  }
}

function errnoText(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  if (e.code === 'ENOENT') return 'no such file or directory';
  if (e.code === 'EACCES') return 'permission denied';
  return e.message;
}

/** Device nodes (not fifos) under dir, recursively. */
function walkDevices(dir: string, skipDirs: readonly string[] = []): string[] {
  const out: string[] = [];
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) {
      if (!skipDirs.includes(e.name)) out.push(...walkDevices(p, skipDirs));
    } else if (e.isCharacterDevice() || e.isBlockDevice()) {
      out.push(p);
    }
  }
  return out;
}

/**
 * Every device of the host's /dev, for --privileged (as dockerd does): not
 * the console, nor pts/shm/mqueue/fd, which the container has its own of.
 */
export function hostDevices(): OciDevice[] {
  const out: OciDevice[] = [];
  for (const p of walkDevices('/dev', ['pts', 'shm', 'fd', 'mqueue', '.lxc', '.lxd-mounts', '.udev'])) {
    if (p === '/dev/console') continue;
    try {
      out.push(deviceAt(p, p));
    } catch {
      /* vanished meanwhile */
    }
  }
  return out;
}

const CGROUP_RULE = /^([acb]) ([0-9]+|\*):([0-9]+|\*) ([rwm]{1,3})$/;

/** `--device-cgroup-rule 'c 42:* rmw'`. */
export function parseDeviceCgroupRule(text: string): OciDeviceRule {
  const m = CGROUP_RULE.exec(text);
  if (!m) throw new InvalidParameterError(`invalid device cgroup rule format: '${text}'`);
  return {
    allow: true,
    type: m[1]!,
    ...(m[2] !== '*' ? { major: Number(m[2]) } : {}),
    ...(m[3] !== '*' ? { minor: Number(m[3]) } : {}),
    access: m[4]!,
  };
}
