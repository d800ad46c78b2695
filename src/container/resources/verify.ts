import { existsSync } from 'node:fs';
import { cpus } from 'node:os';
import { InvalidParameterError } from '../../errors/index.js';
import type { HostConfig } from '../../types/engine.js';
import type { CgroupSupport } from './cgroup-support.js';

// Create-time checks of the resource limits, in dockerd's order and words:
// what the host cannot do is dropped with a warning (returned in create's
// Warnings, which the docker CLI prints), what is wrong is refused. The
// returned HostConfig holds the limits as applied (MemorySwap defaults to
// twice Memory, as dockerd stores it).

const MIN_MEMORY = 6 * 1024 * 1024;

/** "0-2,4" → [0,1,2,4]; throws on a malformed list. */
export function parseCpuList(list: string): number[] {
  const out = new Set<number>();
  if (list === '') return [];
  for (const part of list.split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) throw new Error(`invalid format: ${list}`);
    const lo = Number(m[1]);
    const hi = m[2] !== undefined ? Number(m[2]) : lo;
    if (hi < lo) throw new Error(`invalid range: ${part}`);
    for (let i = lo; i <= hi; i++) out.add(i);
  }
  return [...out];
}

function subsetAvailable(requested: string, available: string, what: 'cpus' | 'mems'): void {
  if (!requested) return;
  let want: number[];
  try {
    want = parseCpuList(requested);
  } catch (err) {
    throw new InvalidParameterError(`Invalid value ${requested} for cpuset ${what}: ${(err as Error).message}`);
  }
  const have = new Set(parseCpuList(available));
  if (available && want.some((n) => !have.has(n))) {
    throw new InvalidParameterError(what === 'cpus'
      ? `Requested CPUs are not available - requested ${requested}, available: ${available}`
      : `Requested memory nodes are not available - requested ${requested}, available: ${available}`);
  }
}

export function verifyResources(input: HostConfig, s: CgroupSupport, ncpu = cpus().length): { hostConfig: HostConfig; warnings: string[] } {
  const h: HostConfig = { ...input };
  const warnings: string[] = [];
  const fail = (msg: string): never => {
    throw new InvalidParameterError(msg);
  };
  if (h.MemorySwappiness === -1) h.MemorySwappiness = null;
  const memory = h.Memory ?? 0;

  if (memory !== 0 && memory < MIN_MEMORY) fail('Minimum memory limit allowed is 6MB');
  if (memory > 0 && !s.memoryLimit) {
    warnings.push('Your kernel does not support memory limit capabilities or the cgroup is not mounted. Limitation discarded.');
    h.Memory = 0;
    h.MemorySwap = -1;
  }
  if ((h.Memory ?? 0) > 0 && h.MemorySwap !== -1 && !s.swapLimit) {
    warnings.push('Your kernel does not support swap limit capabilities or the cgroup is not mounted. Memory limited without swap.');
    h.MemorySwap = -1;
  }
  const mem = h.Memory ?? 0;
  const swap = h.MemorySwap ?? 0;
  if (mem > 0 && swap > 0 && swap < mem) fail('Minimum memoryswap limit should be larger than memory limit, see usage');
  if (mem === 0 && swap > 0) fail('You should always set the Memory limit when using Memoryswap limit, see usage');
  if (h.MemorySwappiness !== null && h.MemorySwappiness !== undefined && !s.memorySwappiness) {
    warnings.push('Your kernel does not support memory swappiness capabilities or the cgroup is not mounted. Memory swappiness discarded.');
    h.MemorySwappiness = null;
  }
  if (h.MemorySwappiness !== null && h.MemorySwappiness !== undefined && (h.MemorySwappiness < 0 || h.MemorySwappiness > 100)) {
    fail(`Invalid value: ${h.MemorySwappiness}, valid memory swappiness range is 0-100`);
  }
  if ((h.MemoryReservation ?? 0) > 0 && !s.memoryReservation) {
    warnings.push('Your kernel does not support memory soft limit capabilities or the cgroup is not mounted. Limitation discarded.');
    h.MemoryReservation = 0;
  }
  const reservation = h.MemoryReservation ?? 0;
  if (reservation > 0 && reservation < MIN_MEMORY) fail('Minimum memory reservation allowed is 6MB');
  if (mem > 0 && reservation > 0 && mem < reservation) fail('Minimum memory limit can not be less than memory reservation limit, see usage');
  // Kernel memory limits were dropped from the API in v1.42 (and by Linux 5.4): never applied.
  if ((h.KernelMemory ?? 0) > 0) {
    warnings.push('Your kernel does not support kernel memory limit capabilities or the cgroup is not mounted. Limitation discarded.');
  }
  delete h.KernelMemory;
  if (h.OomKillDisable !== null && h.OomKillDisable !== undefined && !s.oomKillDisable) {
    if (h.OomKillDisable) warnings.push('Your kernel does not support OomKillDisable. OomKillDisable discarded.');
    h.OomKillDisable = null;
  }
  if (h.OomKillDisable && mem === 0) {
    warnings.push('OOM killer is disabled for the container, but no memory limit is set, this can result in the system running out of resources.');
  }
  // 0 and negative values mean "unlimited", as in dockerd's create route.
  if (h.PidsLimit !== null && h.PidsLimit !== undefined && h.PidsLimit <= 0) h.PidsLimit = null;
  if (h.PidsLimit && !s.pidsLimit) {
    warnings.push('Your kernel does not support PIDs limit capabilities or the cgroup is not mounted. PIDs limit discarded.');
    h.PidsLimit = null;
  }

  const nano = h.NanoCpus ?? 0;
  if (nano > 0 && (h.CpuPeriod ?? 0) > 0) fail('Conflicting options: Nano CPUs and CPU Period cannot both be set');
  if (nano > 0 && (h.CpuQuota ?? 0) > 0) fail('Conflicting options: Nano CPUs and CPU Quota cannot both be set');
  if (nano > 0 && !s.cpuCfs) fail('NanoCPUs can not be set, as your kernel does not support CPU CFS scheduler or the cgroup is not mounted');
  if (nano !== 0 && (nano < 0 || nano > ncpu * 1e9)) fail(`range of CPUs is from 0.01 to ${ncpu}.00, as there are only ${ncpu} CPUs available`);
  if ((h.CpuShares ?? 0) > 0 && !s.cpuShares) {
    warnings.push('Your kernel does not support CPU shares or the cgroup is not mounted. Shares discarded.');
    h.CpuShares = 0;
  }
  if ((h.CpuShares ?? 0) < 0) fail(`invalid CPU shares (${h.CpuShares}): value must be a positive integer`);
  if (((h.CpuPeriod ?? 0) !== 0 || (h.CpuQuota ?? 0) !== 0) && !s.cpuCfs) {
    warnings.push('Your kernel does not support CPU CFS scheduler. CPU period/quota discarded.');
    h.CpuPeriod = 0;
    h.CpuQuota = 0;
  }
  const period = h.CpuPeriod ?? 0;
  if (period !== 0 && (period < 1000 || period > 1000000)) fail('CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)');
  const quota = h.CpuQuota ?? 0;
  if (quota > 0 && quota < 1000) fail('CPU cfs quota can not be less than 1ms (i.e. 1000)');
  if ((h.CpuPercent ?? 0) > 0) {
    warnings.push('linux does not support CPU percent. Percent discarded.');
    h.CpuPercent = 0;
  }
  if (((h.CpuRealtimePeriod ?? 0) !== 0 || (h.CpuRealtimeRuntime ?? 0) !== 0) && !s.cpuRealtime) {
    fail('kernel does not support CPU real-time scheduler');
  }
  if ((h.CpuRealtimeRuntime ?? 0) !== 0 && (h.CpuRealtimePeriod ?? 0) !== 0 && h.CpuRealtimeRuntime! > h.CpuRealtimePeriod!) {
    fail('cpu real-time runtime cannot be higher than cpu real-time period');
  }

  if ((h.CpusetCpus || h.CpusetMems) && !s.cpuset) {
    warnings.push('Your kernel does not support cpuset or the cgroup is not mounted. Cpuset discarded.');
    h.CpusetCpus = '';
    h.CpusetMems = '';
  }
  subsetAvailable(h.CpusetCpus ?? '', s.cpus, 'cpus');
  subsetAvailable(h.CpusetMems ?? '', s.mems, 'mems');

  if ((h.BlkioWeight ?? 0) > 0 && !s.blkioWeight) {
    warnings.push('Your kernel does not support Block I/O weight or the cgroup is not mounted. Weight discarded.');
    h.BlkioWeight = 0;
  }
  const weight = h.BlkioWeight ?? 0;
  if (weight > 0 && (weight < 10 || weight > 1000)) fail('Range of blkio weight is from 10 to 1000');
  if ((h.IOMaximumBandwidth ?? 0) !== 0) fail('invalid option: QoS maximum bandwidth configuration is not supported on linux');
  if ((h.IOMaximumIOps ?? 0) !== 0) fail('invalid option: QoS maximum IOPs configuration is not supported on linux');
  const dropList = (key: 'BlkioWeightDevice' | 'BlkioDeviceReadBps' | 'BlkioDeviceWriteBps' | 'BlkioDeviceReadIOps' | 'BlkioDeviceWriteIOps', ok: boolean, msg: string) => {
    if ((h[key]?.length ?? 0) > 0 && !ok) {
      warnings.push(msg);
      h[key] = [];
    }
  };
  dropList('BlkioWeightDevice', s.blkioWeightDevice, 'Your kernel does not support Block I/O weight_device or the cgroup is not mounted. Weight-device discarded.');
  dropList('BlkioDeviceReadBps', s.blkioReadBps, 'Your kernel does not support BPS Block I/O read limit or the cgroup is not mounted. Block I/O BPS read limit discarded.');
  dropList('BlkioDeviceWriteBps', s.blkioWriteBps, 'Your kernel does not support BPS Block I/O write limit or the cgroup is not mounted. Block I/O BPS write limit discarded.');
  dropList('BlkioDeviceReadIOps', s.blkioReadIOps, 'Your kernel does not support IOPS Block read limit or the cgroup is not mounted. Block I/O IOPS read limit discarded.');
  dropList('BlkioDeviceWriteIOps', s.blkioWriteIOps, 'Your kernel does not support IOPS Block write limit or the cgroup is not mounted. Block I/O IOPS write limit discarded.');

  const adj = h.OomScoreAdj ?? 0;
  if (adj < -1000 || adj > 1000) fail(`Invalid value ${adj}, range for oom score adj is [-1000, 1000]`);

  // The cgroup namespace, defaulted as dockerd does: private on cgroup v2 (--privileged
  // too), the host's on v1; the runtime gives a private one its own /sys/fs/cgroup view.
  const ns = h.CgroupnsMode ?? '';
  if (!['', 'host', 'private'].includes(ns)) fail(`invalid cgroup namespace mode: ${ns}`);
  if (ns === '') h.CgroupnsMode = s.version === 2 ? 'private' : 'host';
  if (h.CgroupnsMode === 'private' && !existsSync('/proc/self/ns/cgroup')) {
    warnings.push('Your kernel does not support cgroup namespaces.  Cgroup namespace setting discarded.');
    h.CgroupnsMode = 'host';
  }

  // As dockerd stores it: swap defaults to as much again as the memory limit.
  if ((h.Memory ?? 0) > 0 && (h.MemorySwap ?? 0) === 0) h.MemorySwap = h.Memory! * 2;
  h.OomKillDisable ??= false;
  return { hostConfig: h, warnings };
}
