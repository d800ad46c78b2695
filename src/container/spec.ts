import { readFileSync } from 'node:fs';
import type { ContainerConfig, HostConfig } from '../types/engine.js';
import type { ResolvedUser } from './user.js';
import { confinement, type OciDevice, type OciDeviceRule, type OciSeccomp } from './security/index.js';
import { ociResources, type OciResources } from './resources/index.js';

// Builds the OCI runtime spec (config.json) the way Docker's daemon does for a
// default container: its capability set, masked and read-only paths, /dev,
// /dev/pts, /dev/shm, /dev/mqueue, and bind-mounted hosts/hostname/resolv.conf.

export { DEFAULT_CAPABILITIES } from './security/index.js';

export const MASKED_PATHS = [
  '/proc/asound', '/proc/acpi', '/proc/kcore', '/proc/keys', '/proc/latency_stats', '/proc/timer_list',
  '/proc/timer_stats', '/proc/sched_debug', '/proc/scsi', '/sys/firmware', '/sys/devices/virtual/powercap',
];

export const READONLY_PATHS = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export interface OciMount {
  destination: string;
  type?: string;
  source?: string;
  options?: string[];
}

export interface OciSpec {
  ociVersion: string;
  process: {
    terminal: boolean;
    user: { uid: number; gid: number; additionalGids?: number[] };
    args: string[];
    env: string[];
    cwd: string;
    capabilities: Record<'bounding' | 'effective' | 'permitted', string[]>;
    rlimits: Array<{ type: string; hard: number; soft: number }>;
    noNewPrivileges: boolean;
    oomScoreAdj?: number;
    apparmorProfile?: string;
    consoleSize?: { height: number; width: number };
  };
  root: { path: string; readonly: boolean };
  hostname: string;
  mounts: OciMount[];
  linux: {
    namespaces: Array<{ type: string; path?: string }>;
    maskedPaths: string[];
    readonlyPaths: string[];
    cgroupsPath: string;
    resources: OciResources & { devices: OciDeviceRule[] };
    devices?: OciDevice[];
    seccomp?: OciSeccomp;
    sysctl?: Record<string, string>;
  };
}

export interface SpecInput {
  id: string;
  config: ContainerConfig;
  hostConfig: HostConfig;
  user: ResolvedUser;
  args: string[];
  env: string[];
  rootfs: string;
  /** Host files bind-mounted over the container's /etc/{hosts,hostname,resolv.conf}. */
  etcFiles: { hosts: string; hostname: string; resolvConf: string };
  cgroupParent: string;
  /** The network namespace: the host's, one to join, or (neither) a new one with loopback. */
  network?: { host?: boolean; path?: string };
  /** The user's binds and tmpfs mounts, after the defaults (so they may cover them). */
  userMounts?: OciMount[];
}

/** The daemon's own hard limits; a spec asking for more makes runc fail with EPERM. */
export function daemonRlimits(): Map<string, { soft: number; hard: number }> {
  const out = new Map<string, { soft: number; hard: number }>();
  try {
    for (const line of readFileSync('/proc/self/limits', 'utf8').split('\n').slice(1)) {
      const m = /^Max open files\s+(\S+)\s+(\S+)/.exec(line);
      if (m) {
        const n = (s: string) => (s === 'unlimited' ? Number.MAX_SAFE_INTEGER : Number(s));
        out.set('RLIMIT_NOFILE', { soft: n(m[1]!), hard: n(m[2]!) });
      }
    }
  } catch {
    /* not Linux: leave empty */
  }
  return out;
}

const daemonLimits = daemonRlimits();

function rlimits(hostConfig: HostConfig): OciSpec['process']['rlimits'] {
  const limits = new Map<string, { soft: number; hard: number }>();
  // Like dockerd, containers inherit the daemon's open-files limit (soft raised to hard).
  const nofile = daemonLimits.get('RLIMIT_NOFILE');
  if (nofile) limits.set('RLIMIT_NOFILE', { soft: nofile.hard, hard: nofile.hard });
  for (const u of hostConfig.Ulimits ?? []) {
    const type = `RLIMIT_${u.Name.toUpperCase()}`;
    const cap = daemonLimits.get(type);
    limits.set(type, {
      soft: cap ? Math.min(u.Soft, cap.hard) : u.Soft,
      hard: cap ? Math.min(u.Hard, cap.hard) : u.Hard,
    });
  }
  return [...limits].map(([type, l]) => ({ type, soft: l.soft, hard: l.hard }));
}

function networkNamespace(i: SpecInput): Array<{ type: string; path?: string }> {
  if (i.network?.host || (!i.network && i.hostConfig.NetworkMode === 'host')) return [];
  return [i.network?.path ? { type: 'network', path: i.network.path } : { type: 'network' }];
}

export function buildSpec(i: SpecInput): OciSpec {
  const confined = confinement(i.hostConfig);
  const caps = confined.capabilities;
  const shmSize = i.hostConfig.ShmSize && i.hostConfig.ShmSize > 0 ? i.hostConfig.ShmSize : 64 * 1024 * 1024;
  const etc = (destination: string, source: string): OciMount => ({ destination, type: 'bind', source, options: ['rbind', 'rprivate'] });
  const mounts: OciMount[] = [
    { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
    { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'] },
    // --privileged gets /sys writable, and the cgroup mount too (or --security-opt writable-cgroups).
    { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', ...(confined.writableSys ? [] : ['ro'])] },
    { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: [...(confined.writableCgroups ? [] : ['ro']), 'nosuid', 'noexec', 'nodev'] },
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', `size=${shmSize}`] },
    etc('/etc/resolv.conf', i.etcFiles.resolvConf),
    etc('/etc/hostname', i.etcFiles.hostname),
    etc('/etc/hosts', i.etcFiles.hosts),
    ...(i.userMounts ?? []),
  ];
  const privileged = i.hostConfig.Privileged === true;
  const [height, width] = i.hostConfig.ConsoleSize ?? [0, 0];
  return {
    ociVersion: '1.0.2',
    process: {
      terminal: i.config.Tty === true,
      user: { uid: i.user.uid, gid: i.user.gid, ...(i.user.additionalGids.length ? { additionalGids: i.user.additionalGids } : {}) },
      args: i.args,
      env: i.env,
      cwd: i.config.WorkingDir || '/',
      capabilities: { bounding: caps, effective: caps, permitted: caps },
      rlimits: rlimits(i.hostConfig),
      noNewPrivileges: confined.noNewPrivileges,
      oomScoreAdj: i.hostConfig.OomScoreAdj ?? 0,
      ...(confined.appArmorProfile ? { apparmorProfile: confined.appArmorProfile } : {}),
      ...(i.config.Tty && height > 0 && width > 0 ? { consoleSize: { height, width } } : {}),
    },
    root: { path: i.rootfs, readonly: i.hostConfig.ReadonlyRootfs === true },
    hostname: i.config.Hostname ?? '',
    mounts,
    linux: {
      // --network host shares the host's network namespace; otherwise the container gets its own.
      namespaces: [
        { type: 'pid' }, ...networkNamespace(i), { type: 'ipc' }, { type: 'uts' }, { type: 'mount' },
        ...(i.hostConfig.CgroupnsMode === 'private' ? [{ type: 'cgroup' }] : []),
      ],
      maskedPaths: privileged ? [] : (i.hostConfig.MaskedPaths ?? MASKED_PATHS),
      readonlyPaths: privileged ? [] : (i.hostConfig.ReadonlyPaths ?? READONLY_PATHS),
      cgroupsPath: `${i.cgroupParent}/${i.id}`,
      resources: {
        ...ociResources(i.hostConfig),
        // Deny all devices, then what --device/--device-cgroup-rule/--privileged allow;
        // the runtime adds the standard set (null, zero, tty, ptmx, …).
        devices: [{ allow: false, access: 'rwm' }, ...confined.deviceRules],
      },
      ...(confined.devices.length ? { devices: confined.devices } : {}),
      ...(confined.seccomp ? { seccomp: confined.seccomp } : {}),
      ...(i.hostConfig.Sysctls && Object.keys(i.hostConfig.Sysctls).length ? { sysctl: i.hostConfig.Sysctls } : {}),
    },
  };
}

/**
 * The process environment as Docker builds it: PATH (when the config sets
 * none), HOSTNAME, TERM for a tty, then the container's Env (the image's
 * merged with `-e` at create), each key once with the later value winning;
 * HOME from passwd when unset.
 */
export function mergeEnv(configEnv: string[] | null | undefined, hostname: string, tty: boolean, home: string): string[] {
  const order: string[] = [];
  const values = new Map<string, string>();
  const set = (entry: string) => {
    const eq = entry.indexOf('=');
    const key = eq < 0 ? entry : entry.slice(0, eq);
    if (!values.has(key)) order.push(key);
    values.set(key, entry);
  };
  set(`PATH=${DEFAULT_PATH}`);
  set(`HOSTNAME=${hostname}`);
  if (tty) set('TERM=xterm');
  for (const e of configEnv ?? []) {
    // `-e NAME` without a value and not set on the client side means "unset".
    if (!e.includes('=')) continue;
    set(e);
  }
  if (!values.has('HOME')) set(`HOME=${home}`);
  return order.map((k) => values.get(k)!);
}
