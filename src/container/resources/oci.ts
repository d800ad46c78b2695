import { statSync } from 'node:fs';
import { InvalidParameterError } from '../../errors/index.js';
import type { HostConfig } from '../../types/engine.js';

// linux.resources of the OCI spec from a verified HostConfig: the runtime
// writes them into the container's cgroup (v1 files or their v2 equivalents).

interface BlockDevice { major: number; minor: number }

export interface OciResources {
  memory?: { limit?: number; reservation?: number; swap?: number; swappiness?: number; disableOOMKiller?: boolean };
  cpu?: { shares?: number; quota?: number; period?: number; realtimeRuntime?: number; realtimePeriod?: number; cpus?: string; mems?: string };
  pids?: { limit: number };
  blockIO?: {
    weight?: number;
    weightDevice?: Array<BlockDevice & { weight: number }>;
    throttleReadBpsDevice?: Array<BlockDevice & { rate: number }>;
    throttleWriteBpsDevice?: Array<BlockDevice & { rate: number }>;
    throttleReadIOPSDevice?: Array<BlockDevice & { rate: number }>;
    throttleWriteIOPSDevice?: Array<BlockDevice & { rate: number }>;
  };
}

function blockDevice(path: string): BlockDevice {
  let rdev: bigint;
  try {
    rdev = statSync(path, { bigint: true }).rdev;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new InvalidParameterError(`stat ${path}: ${code === 'ENOENT' ? 'no such file or directory' : (err as Error).message}`);
  }
  return {
    major: Number(((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn)),
    minor: Number((rdev & 0xffn) | ((rdev >> 12n) & ~0xffn)),
  };
}

export function ociResources(h: HostConfig): OciResources {
  const out: OciResources = {};

  const memory: NonNullable<OciResources['memory']> = {};
  if ((h.Memory ?? 0) > 0) memory.limit = h.Memory!;
  if ((h.MemoryReservation ?? 0) > 0) memory.reservation = h.MemoryReservation!;
  if ((h.MemorySwap ?? 0) > 0) memory.swap = h.MemorySwap!;
  if (h.MemorySwappiness !== null && h.MemorySwappiness !== undefined && h.MemorySwappiness >= 0) memory.swappiness = h.MemorySwappiness;
  if (h.OomKillDisable !== null && h.OomKillDisable !== undefined) memory.disableOOMKiller = h.OomKillDisable;
  if (Object.keys(memory).length) out.memory = memory;

  const cpu: NonNullable<OciResources['cpu']> = {};
  if ((h.CpuShares ?? 0) > 0) cpu.shares = h.CpuShares!;
  if (h.CpusetCpus) cpu.cpus = h.CpusetCpus;
  if (h.CpusetMems) cpu.mems = h.CpusetMems;
  if ((h.NanoCpus ?? 0) > 0) {
    // Docker's mapping: a 100 ms CFS period and the matching share of it.
    cpu.period = 100_000;
    cpu.quota = Math.floor((h.NanoCpus! * 100_000) / 1e9);
  }
  if ((h.CpuPeriod ?? 0) !== 0) cpu.period = h.CpuPeriod!;
  if ((h.CpuQuota ?? 0) !== 0) cpu.quota = h.CpuQuota!;
  if ((h.CpuRealtimePeriod ?? 0) !== 0) cpu.realtimePeriod = h.CpuRealtimePeriod!;
  if ((h.CpuRealtimeRuntime ?? 0) !== 0) cpu.realtimeRuntime = h.CpuRealtimeRuntime!;
  if (Object.keys(cpu).length) out.cpu = cpu;

  if (h.PidsLimit !== null && h.PidsLimit !== undefined) out.pids = { limit: h.PidsLimit > 0 ? h.PidsLimit : -1 };

  const blockIO: NonNullable<OciResources['blockIO']> = {};
  if ((h.BlkioWeight ?? 0) > 0) blockIO.weight = h.BlkioWeight!;
  if (h.BlkioWeightDevice?.length) blockIO.weightDevice = h.BlkioWeightDevice.map((d) => ({ ...blockDevice(d.Path), weight: d.Weight }));
  const throttle = (list: Array<{ Path: string; Rate: number }> | null | undefined) => list?.length ? list.map((d) => ({ ...blockDevice(d.Path), rate: d.Rate })) : undefined;
  const rb = throttle(h.BlkioDeviceReadBps);
  const wb = throttle(h.BlkioDeviceWriteBps);
  const ri = throttle(h.BlkioDeviceReadIOps);
  const wi = throttle(h.BlkioDeviceWriteIOps);
  if (rb) blockIO.throttleReadBpsDevice = rb;
  if (wb) blockIO.throttleWriteBpsDevice = wb;
  if (ri) blockIO.throttleReadIOPSDevice = ri;
  if (wi) blockIO.throttleWriteIOPSDevice = wi;
  if (Object.keys(blockIO).length) out.blockIO = blockIO;
  return out;
}
