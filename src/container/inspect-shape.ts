import type { ContainerCreateHostConfig, HostConfig } from '../types/engine.js';
import type { Mount } from '../snapshot/snapshotter.js';
import { MASKED_PATHS, READONLY_PATHS } from './spec.js';

// What dockerd fills into a container's inspect that berth's record leaves
// unset: every HostConfig key with Docker's default, in Docker's key order,
// and the overlay directories GraphDriver.Data names.

const DEFAULT_SHM_SIZE = 64 * 1024 * 1024;

/**
 * The HostConfig as dockerd shows it: the keys it always prints (in its
 * order, with its defaults), then the omitempty ones the record has set.
 */
export function dockerHostConfig(h: ContainerCreateHostConfig, runtime: string): ContainerCreateHostConfig {
  const privileged = h.Privileged ?? false;
  const always: ContainerCreateHostConfig = {
    Binds: h.Binds ?? null,
    ContainerIDFile: h.ContainerIDFile ?? '',
    LogConfig: { Type: h.LogConfig?.Type ?? '', Config: h.LogConfig?.Config ?? {} },
    NetworkMode: h.NetworkMode ?? '',
    PortBindings: h.PortBindings ?? {},
    RestartPolicy: { Name: h.RestartPolicy?.Name ?? '', MaximumRetryCount: h.RestartPolicy?.MaximumRetryCount ?? 0 },
    AutoRemove: h.AutoRemove ?? false,
    VolumeDriver: h.VolumeDriver ?? '',
    VolumesFrom: h.VolumesFrom ?? null,
    ConsoleSize: h.ConsoleSize ?? [0, 0],
    CapAdd: h.CapAdd ?? null,
    CapDrop: h.CapDrop ?? null,
    CgroupnsMode: h.CgroupnsMode || 'host',
    Dns: h.Dns ?? [],
    DnsOptions: h.DnsOptions ?? [],
    DnsSearch: h.DnsSearch ?? [],
    ExtraHosts: h.ExtraHosts ?? null,
    GroupAdd: h.GroupAdd ?? null,
    IpcMode: h.IpcMode || 'private',
    Cgroup: h.Cgroup ?? '',
    Links: h.Links ?? null,
    OomScoreAdj: h.OomScoreAdj ?? 0,
    PidMode: h.PidMode ?? '',
    Privileged: privileged,
    PublishAllPorts: h.PublishAllPorts ?? false,
    ReadonlyRootfs: h.ReadonlyRootfs ?? false,
    SecurityOpt: h.SecurityOpt ?? null,
    UTSMode: h.UTSMode ?? '',
    UsernsMode: h.UsernsMode ?? '',
    ShmSize: h.ShmSize && h.ShmSize > 0 ? h.ShmSize : DEFAULT_SHM_SIZE,
    Runtime: h.Runtime || runtime,
    Isolation: h.Isolation ?? '',
    CpuShares: h.CpuShares ?? 0,
    Memory: h.Memory ?? 0,
    NanoCpus: h.NanoCpus ?? 0,
    CgroupParent: h.CgroupParent ?? '',
    BlkioWeight: h.BlkioWeight ?? 0,
    BlkioWeightDevice: h.BlkioWeightDevice ?? [],
    BlkioDeviceReadBps: h.BlkioDeviceReadBps ?? [],
    BlkioDeviceWriteBps: h.BlkioDeviceWriteBps ?? [],
    BlkioDeviceReadIOps: h.BlkioDeviceReadIOps ?? [],
    BlkioDeviceWriteIOps: h.BlkioDeviceWriteIOps ?? [],
    CpuPeriod: h.CpuPeriod ?? 0,
    CpuQuota: h.CpuQuota ?? 0,
    CpuRealtimePeriod: h.CpuRealtimePeriod ?? 0,
    CpuRealtimeRuntime: h.CpuRealtimeRuntime ?? 0,
    CpusetCpus: h.CpusetCpus ?? '',
    CpusetMems: h.CpusetMems ?? '',
    Devices: h.Devices ?? [],
    DeviceCgroupRules: h.DeviceCgroupRules ?? null,
    DeviceRequests: h.DeviceRequests ?? null,
    MemoryReservation: h.MemoryReservation ?? 0,
    MemorySwap: h.MemorySwap ?? 0,
    MemorySwappiness: h.MemorySwappiness ?? null,
    OomKillDisable: h.OomKillDisable ?? false,
    PidsLimit: h.PidsLimit ?? null,
    Ulimits: h.Ulimits ?? [],
    CpuCount: h.CpuCount ?? 0,
    CpuPercent: h.CpuPercent ?? 0,
    IOMaximumIOps: h.IOMaximumIOps ?? 0,
    IOMaximumBandwidth: h.IOMaximumBandwidth ?? 0,
    // dockerd leaves both unset for a privileged container, which masks nothing.
    MaskedPaths: h.MaskedPaths ?? (privileged ? null : [...MASKED_PATHS]),
    ReadonlyPaths: h.ReadonlyPaths ?? (privileged ? null : [...READONLY_PATHS]),
  };
  // omitempty in dockerd: shown only when set.
  const rest: HostConfig = {};
  for (const [k, v] of Object.entries(h) as Array<[keyof HostConfig, unknown]>) {
    if (k in always || v === undefined || v === null) continue;
    if (typeof v === 'object' && !Array.isArray(v) && Object.keys(v as object).length === 0) continue;
    (rest as Record<string, unknown>)[k] = v;
  }
  return { ...always, ...rest };
}

/** GraphDriver.Data: the overlay dirs of the container's snapshot, and where its root is mounted. */
export function graphDriverData(mounts: Mount[], mergedDir: string): Record<string, string> | null {
  const overlay = mounts.find((m) => m.type === 'overlay');
  if (!overlay) {
    // A layerless image, or the copying snapshotter: the root is one plain directory.
    const bind = mounts[0];
    return bind ? { MergedDir: mergedDir, UpperDir: bind.source } : null;
  }
  const opt = (name: string) => overlay.options.find((o) => o.startsWith(`${name}=`))?.slice(name.length + 1);
  const data: Record<string, string> = {};
  const lower = opt('lowerdir');
  if (lower) data.LowerDir = lower;
  data.MergedDir = mergedDir;
  const upper = opt('upperdir');
  if (upper) data.UpperDir = upper;
  const work = opt('workdir');
  if (work) data.WorkDir = work;
  return data;
}
