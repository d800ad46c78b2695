import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

// What the host's cgroups can limit, found the way dockerd finds it: on
// cgroup v1 (and the hybrid layout, whose controllers are all v1) by the
// files each controller's mount offers; on v2 by the controllers the root
// cgroup makes available.

export interface CgroupSupport {
  version: 1 | 2;
  /** v1: controller → mount point; v2: { unified: '/sys/fs/cgroup' }. */
  mounts: Record<string, string>;
  memoryLimit: boolean;
  swapLimit: boolean;
  memoryReservation: boolean;
  oomKillDisable: boolean;
  memorySwappiness: boolean;
  kernelMemory: boolean;
  cpuShares: boolean;
  cpuCfs: boolean;
  cpuRealtime: boolean;
  cpuset: boolean;
  /** The CPUs and memory nodes containers may use ("0-3"). */
  cpus: string;
  mems: string;
  pidsLimit: boolean;
  blkioWeight: boolean;
  blkioWeightDevice: boolean;
  blkioReadBps: boolean;
  blkioWriteBps: boolean;
  blkioReadIOps: boolean;
  blkioWriteIOps: boolean;
}

function read(path: string): string {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return '';
  }
}

const V1_CONTROLLERS = ['cpu', 'cpuacct', 'cpuset', 'memory', 'devices', 'freezer', 'net_cls', 'net_prio', 'blkio', 'perf_event', 'hugetlb', 'pids', 'rdma', 'misc'];

/** v1 controller (or named hierarchy) → its mount point, from /proc/self/mountinfo. */
function v1Mounts(mountinfo: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of mountinfo.split('\n')) {
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const [fstype, , superOpts = ''] = line.slice(sep + 3).split(' ');
    if (fstype !== 'cgroup') continue;
    const mountPoint = line.slice(0, sep).split(' ')[4]!;
    for (const opt of superOpts.split(',')) {
      const name = opt.startsWith('name=') ? opt.slice(5) : V1_CONTROLLERS.includes(opt) ? opt : '';
      if (name && !(name in out)) out[name] = mountPoint;
    }
  }
  return out;
}

export function detectCgroupSupport(root = '/sys/fs/cgroup', mountinfo = read('/proc/self/mountinfo')): CgroupSupport {
  if (existsSync(join(root, 'cgroup.controllers'))) {
    const controllers = new Set(read(join(root, 'cgroup.controllers')).split(/\s+/));
    const has = (c: string) => controllers.has(c);
    const own = read('/proc/self/cgroup').split('\n').find((l) => l.startsWith('0::'))?.slice(3) ?? '';
    return {
      version: 2,
      mounts: { unified: root },
      memoryLimit: has('memory'),
      swapLimit: has('memory') && own !== '' && existsSync(join(root, own, 'memory.swap.max')),
      memoryReservation: has('memory'),
      oomKillDisable: false,
      memorySwappiness: false,
      kernelMemory: false,
      cpuShares: has('cpu'),
      cpuCfs: has('cpu'),
      cpuRealtime: false,
      cpuset: has('cpuset'),
      cpus: has('cpuset') ? read(join(root, 'cpuset.cpus.effective')) : '',
      mems: has('cpuset') ? read(join(root, 'cpuset.mems.effective')) : '',
      pidsLimit: has('pids'),
      blkioWeight: has('io'),
      blkioWeightDevice: has('io'),
      blkioReadBps: has('io'),
      blkioWriteBps: has('io'),
      blkioReadIOps: has('io'),
      blkioWriteIOps: has('io'),
    };
  }
  const mounts = v1Mounts(mountinfo);
  const file = (controller: string, name: string) => mounts[controller] !== undefined && existsSync(join(mounts[controller]!, name));
  return {
    version: 1,
    mounts,
    memoryLimit: mounts.memory !== undefined,
    swapLimit: file('memory', 'memory.memsw.limit_in_bytes'),
    memoryReservation: file('memory', 'memory.soft_limit_in_bytes'),
    oomKillDisable: file('memory', 'memory.oom_control'),
    memorySwappiness: file('memory', 'memory.swappiness'),
    kernelMemory: file('memory', 'memory.kmem.limit_in_bytes'),
    cpuShares: file('cpu', 'cpu.shares'),
    cpuCfs: file('cpu', 'cpu.cfs_quota_us'),
    cpuRealtime: file('cpu', 'cpu.rt_period_us'),
    cpuset: mounts.cpuset !== undefined,
    cpus: mounts.cpuset ? read(join(mounts.cpuset, 'cpuset.cpus')) : '',
    mems: mounts.cpuset ? read(join(mounts.cpuset, 'cpuset.mems')) : '',
    pidsLimit: mounts.pids !== undefined,
    blkioWeight: file('blkio', 'blkio.weight'),
    blkioWeightDevice: file('blkio', 'blkio.weight_device'),
    blkioReadBps: file('blkio', 'blkio.throttle.read_bps_device'),
    blkioWriteBps: file('blkio', 'blkio.throttle.write_bps_device'),
    blkioReadIOps: file('blkio', 'blkio.throttle.read_iops_device'),
    blkioWriteIOps: file('blkio', 'blkio.throttle.write_iops_device'),
  };
}

let cached: CgroupSupport | undefined;
export function cgroupSupport(): CgroupSupport {
  return (cached ??= detectCgroupSupport());
}

/** dockerd's warnings in /info for what the host cannot limit. */
export function cgroupInfoWarnings(s: CgroupSupport): string[] {
  const w: string[] = [];
  if (!s.memoryLimit) w.push('WARNING: No memory limit support');
  if (!s.swapLimit) w.push('WARNING: No swap limit support');
  if (!s.oomKillDisable && s.version === 1) w.push('WARNING: No oom kill disable support');
  if (!s.cpuCfs) w.push('WARNING: No cpu cfs quota support', 'WARNING: No cpu cfs period support');
  if (!s.cpuShares) w.push('WARNING: No cpu shares support');
  if (!s.cpuset) w.push('WARNING: No cpuset support');
  if (s.version === 2) {
    if (!s.blkioWeight) w.push('WARNING: No io.weight support');
    if (!s.blkioWeightDevice) w.push('WARNING: No io.weight (per device) support');
    if (!s.blkioReadBps) w.push('WARNING: No io.max (rbps) support');
    if (!s.blkioWriteBps) w.push('WARNING: No io.max (wbps) support');
    if (!s.blkioReadIOps) w.push('WARNING: No io.max (riops) support');
    if (!s.blkioWriteIOps) w.push('WARNING: No io.max (wiops) support');
  } else {
    if (!s.blkioReadBps) w.push('WARNING: No blkio throttle.read_bps_device support');
    if (!s.blkioWriteBps) w.push('WARNING: No blkio throttle.write_bps_device support');
    if (!s.blkioReadIOps) w.push('WARNING: No blkio throttle.read_iops_device support');
    if (!s.blkioWriteIOps) w.push('WARNING: No blkio throttle.write_iops_device support');
  }
  return w;
}
