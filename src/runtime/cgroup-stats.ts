import { existsSync, readFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import type { BlkioEntry, BlkioStats, CpuStats, MemoryStats, NetworkStats } from '../types/stats.js';

// Resource usage of a task read straight from its cgroups (v1, hybrid or v2)
// and its network namespace: a handful of small files per sample, no helper
// process, so sampling many containers every second stays cheap (moby
// #39664). The files are kernel-generated and tiny: they are read with one
// synchronous call each (a promise-based readFile costs four thread-pool
// round trips per file, which dominated berthd's CPU with 100 streams); a
// task's cgroup directories are looked up once per process, and the host's
// /proc/stat once per sampling tick for all containers.

/** What a task's stats sample holds; the container layer adds names, times and precpu. */
export interface TaskStats {
  cpu_stats: CpuStats;
  memory_stats: MemoryStats;
  pids_stats: { current?: number; limit?: number };
  blkio_stats: BlkioStats;
  networks: Record<string, NetworkStats>;
}

const CGROUP_ROOT = '/sys/fs/cgroup';
/** USER_HZ: /proc/stat and cpuacct.stat count in these ticks. */
const CLOCK_TICKS = 100;
const NS_PER_TICK = 1e9 / CLOCK_TICKS;

function text(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

function num(path: string): number | undefined {
  const t = text(path)?.trim();
  if (t === undefined || t === '' || t === 'max') return undefined;
  const n = Number(t);
  return Number.isFinite(n) ? n : undefined;
}

function keyValues(t: string | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of (t ?? '').split('\n')) {
    const [k, v] = line.trim().split(/\s+/);
    if (k && v !== undefined && /^\d+$/.test(v)) out[k] = Number(v);
  }
  return out;
}

interface CgroupDirs {
  v1: Map<string, string>;
  v2?: string;
}

/** Looked-up cgroup directories by pid, with the process start time that makes the pid unambiguous. */
const dirCache = new Map<number, { start: string; dirs: CgroupDirs }>();
const DIR_CACHE_MAX = 4096;

/** Field 22 of /proc/PID/stat: when the process started (a reused pid has another). */
function startTime(pid: number): string | undefined {
  const stat = text(`/proc/${pid}/stat`);
  return stat?.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
}

/** The cgroup directories of a process: per v1 controller, and the v2 one. */
export async function cgroupDirs(pid: number): Promise<CgroupDirs> {
  const start = startTime(pid);
  const cached = dirCache.get(pid);
  if (cached && start !== undefined && cached.start === start) return cached.dirs;
  const dirs = lookupCgroupDirs(pid);
  if (start !== undefined) {
    if (dirCache.size >= DIR_CACHE_MAX) dirCache.clear();
    dirCache.set(pid, { start, dirs });
  }
  return dirs;
}

function lookupCgroupDirs(pid: number): CgroupDirs {
  const v1 = new Map<string, string>();
  let v2: string | undefined;
  for (const line of (text(`/proc/${pid}/cgroup`) ?? '').split('\n')) {
    const m = /^(\d+):([^:]*):(.*)$/.exec(line);
    if (!m) continue;
    const [, hier, controllers, path] = m;
    if (hier === '0' && controllers === '') {
      const unified = existsSync(join(CGROUP_ROOT, 'cgroup.controllers')) ? CGROUP_ROOT : join(CGROUP_ROOT, 'unified');
      v2 = join(unified, path!);
      continue;
    }
    for (const c of controllers!.split(',')) {
      const name = c.replace(/^name=/, '');
      const mount = [join(CGROUP_ROOT, name), join(CGROUP_ROOT, controllers!)].find((p) => existsSync(p));
      if (mount) v1.set(name, join(mount, path!));
    }
  }
  return { v1, v2 };
}

let systemCache: { at: number; value: number | undefined } | undefined;

/** Host CPU time in ns since boot, as dockerd's system_cpu_usage; one read serves a whole tick of samples. */
function systemCpuUsage(): number | undefined {
  const now = Date.now();
  if (systemCache && now - systemCache.at < 20) return systemCache.value;
  const line = (text('/proc/stat') ?? '').split('\n').find((l) => l.startsWith('cpu '));
  const value = line ? line.trim().split(/\s+/).slice(1, 8).reduce((s, v) => s + Number(v), 0) * NS_PER_TICK : undefined;
  systemCache = { at: now, value };
  return value;
}

function emptyBlkio(): BlkioStats {
  return {
    io_service_bytes_recursive: null, io_serviced_recursive: null, io_queue_recursive: null, io_service_time_recursive: null,
    io_wait_time_recursive: null, io_merged_recursive: null, io_time_recursive: null, sectors_recursive: null,
  };
}

/** "8:0 Read 4096" lines of blkio.*_recursive (v1). */
function blkioV1(t: string | undefined): BlkioEntry[] | null {
  if (!t) return null;
  const out: BlkioEntry[] = [];
  for (const line of t.split('\n')) {
    const m = /^(\d+):(\d+) (\w+) (\d+)$/.exec(line.trim());
    if (m) out.push({ major: Number(m[1]), minor: Number(m[2]), op: m[3]!, value: Number(m[4]) });
  }
  return out;
}

/** io.stat (v2) as dockerd reports it: lowercase read/write entries from rbytes/wbytes. */
function blkioV2(t: string | undefined): BlkioEntry[] | null {
  if (!t) return null;
  const out: BlkioEntry[] = [];
  for (const line of t.split('\n')) {
    const [dev, ...pairs] = line.trim().split(/\s+/);
    const m = /^(\d+):(\d+)$/.exec(dev ?? '');
    if (!m) continue;
    const kv = Object.fromEntries(pairs.map((p) => p.split('=')));
    out.push({ major: Number(m[1]), minor: Number(m[2]), op: 'read', value: Number(kv.rbytes ?? 0) });
    out.push({ major: Number(m[1]), minor: Number(m[2]), op: 'write', value: Number(kv.wbytes ?? 0) });
  }
  return out;
}

/** Interfaces of the process's network namespace, loopback left out (as dockerd). */
function networkStats(pid: number): Record<string, NetworkStats> {
  const out: Record<string, NetworkStats> = {};
  for (const line of (text(`/proc/${pid}/net/dev`) ?? '').split('\n').slice(2)) {
    const m = /^\s*([^:]+):\s*(.*)$/.exec(line);
    if (!m || m[1] === 'lo') continue;
    const f = m[2]!.trim().split(/\s+/).map(Number);
    out[m[1]!] = {
      rx_bytes: f[0]!, rx_packets: f[1]!, rx_errors: f[2]!, rx_dropped: f[3]!,
      tx_bytes: f[8]!, tx_packets: f[9]!, tx_errors: f[10]!, tx_dropped: f[11]!,
    };
  }
  return out;
}

export async function readTaskStats(pid: number): Promise<TaskStats> {
  const { v1, v2 } = await cgroupDirs(pid);
  const online = cpus().length;
  const system = systemCpuUsage();
  const networks = networkStats(pid);
  const cpuacct = v1.get('cpuacct');
  if (cpuacct || v1.get('memory')) {
    const cpu = v1.get('cpu') ?? cpuacct;
    const memory = v1.get('memory');
    const pids = v1.get('pids');
    const blkio = v1.get('blkio');
    const [usage, percpu, acctStat, cpuStat, memUsage, memMax, memLimit, memFail, memStat, pidsCurrent, pidsMax, ioBytes, ioServiced] = [
      cpuacct ? num(join(cpuacct, 'cpuacct.usage')) : undefined,
      cpuacct ? text(join(cpuacct, 'cpuacct.usage_percpu')) : undefined,
      cpuacct ? text(join(cpuacct, 'cpuacct.stat')) : undefined,
      cpu ? text(join(cpu, 'cpu.stat')) : undefined,
      memory ? num(join(memory, 'memory.usage_in_bytes')) : undefined,
      memory ? num(join(memory, 'memory.max_usage_in_bytes')) : undefined,
      memory ? num(join(memory, 'memory.limit_in_bytes')) : undefined,
      memory ? num(join(memory, 'memory.failcnt')) : undefined,
      memory ? text(join(memory, 'memory.stat')) : undefined,
      pids ? num(join(pids, 'pids.current')) : undefined,
      pids ? num(join(pids, 'pids.max')) : undefined,
      blkio ? text(join(blkio, 'blkio.throttle.io_service_bytes_recursive')) : undefined,
      blkio ? text(join(blkio, 'blkio.throttle.io_serviced_recursive')) : undefined,
    ];
    const acct = keyValues(acctStat);
    const throttle = keyValues(cpuStat);
    return {
      cpu_stats: {
        cpu_usage: {
          total_usage: usage ?? 0,
          percpu_usage: (percpu ?? '').trim().split(/\s+/).filter(Boolean).map(Number),
          usage_in_kernelmode: (acct.system ?? 0) * NS_PER_TICK,
          usage_in_usermode: (acct.user ?? 0) * NS_PER_TICK,
        },
        system_cpu_usage: system,
        online_cpus: online,
        throttling_data: { periods: throttle.nr_periods ?? 0, throttled_periods: throttle.nr_throttled ?? 0, throttled_time: throttle.throttled_time ?? 0 },
      },
      memory_stats: {
        usage: memUsage,
        max_usage: memMax,
        stats: keyValues(memStat),
        failcnt: memFail,
        limit: memLimit === undefined ? undefined : Math.min(memLimit, totalmem()),
      },
      pids_stats: { current: pidsCurrent, ...(pidsMax !== undefined ? { limit: pidsMax } : {}) },
      blkio_stats: { ...emptyBlkio(), io_service_bytes_recursive: blkioV1(ioBytes), io_serviced_recursive: blkioV1(ioServiced) },
      networks,
    };
  }
  const dir = v2 ?? CGROUP_ROOT;
  const [cpuStat, memCurrent, memMax, memStat, pidsCurrent, pidsMax, ioStat] = [
    text(join(dir, 'cpu.stat')),
    num(join(dir, 'memory.current')),
    num(join(dir, 'memory.max')),
    text(join(dir, 'memory.stat')),
    num(join(dir, 'pids.current')),
    num(join(dir, 'pids.max')),
    text(join(dir, 'io.stat')),
  ];
  const c = keyValues(cpuStat);
  return {
    cpu_stats: {
      cpu_usage: { total_usage: (c.usage_usec ?? 0) * 1000, usage_in_kernelmode: (c.system_usec ?? 0) * 1000, usage_in_usermode: (c.user_usec ?? 0) * 1000 },
      system_cpu_usage: system,
      online_cpus: online,
      throttling_data: { periods: c.nr_periods ?? 0, throttled_periods: c.nr_throttled ?? 0, throttled_time: (c.throttled_usec ?? 0) * 1000 },
    },
    memory_stats: { usage: memCurrent, stats: keyValues(memStat), limit: memMax === undefined ? totalmem() : Math.min(memMax, totalmem()) },
    pids_stats: { current: pidsCurrent, ...(pidsMax !== undefined ? { limit: pidsMax } : {}) },
    blkio_stats: { ...emptyBlkio(), io_service_bytes_recursive: blkioV2(ioStat) },
    networks,
  };
}
