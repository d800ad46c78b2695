import { InvalidParameterError } from '../errors/index.js';
import type { HostConfig, RestartPolicy } from '../types/engine.js';
import type { TaskResources } from '../runtime/index.js';

// docker update: new resource limits (and restart policy) for a container,
// validated as dockerd validates them, kept in its HostConfig and applied to
// a running task at once.

export interface UpdateRequest {
  BlkioWeight?: number;
  CpuShares?: number;
  CpuPeriod?: number;
  CpuQuota?: number;
  CpusetCpus?: string;
  CpusetMems?: string;
  Memory?: number;
  MemorySwap?: number;
  MemoryReservation?: number;
  NanoCpus?: number;
  PidsLimit?: number | null;
  RestartPolicy?: RestartPolicy;
}

const MIN_MEMORY = 6 * 1024 * 1024;
const RESOURCE_KEYS = ['BlkioWeight', 'CpuShares', 'CpuPeriod', 'CpuQuota', 'CpusetCpus', 'CpusetMems', 'Memory', 'MemorySwap', 'MemoryReservation', 'NanoCpus', 'PidsLimit'] as const;

/** Validates `req` against the current HostConfig; returns the new HostConfig and what the task must change. */
export function applyUpdate(h: HostConfig, req: UpdateRequest): { hostConfig: HostConfig; resources: TaskResources | undefined } {
  const next: HostConfig = { ...h };
  const given = (k: keyof UpdateRequest) => req[k] !== undefined && req[k] !== null && req[k] !== 0 && req[k] !== '';
  if (given('NanoCpus') && (given('CpuPeriod') || given('CpuQuota'))) {
    throw new InvalidParameterError('Conflicting options: Nano CPUs and CPU Period cannot both be set');
  }
  if (given('Memory') && req.Memory! < MIN_MEMORY) throw new InvalidParameterError('Minimum memory limit allowed is 6MB');
  if (given('NanoCpus') && (req.NanoCpus! < 0.01e9)) throw new InvalidParameterError('Range of CPUs is from 0.01 to the number of CPUs available');
  for (const k of RESOURCE_KEYS) {
    if (given(k)) (next as Record<string, unknown>)[k] = req[k];
  }
  if (given('NanoCpus')) {
    next.CpuPeriod = 0;
    next.CpuQuota = 0;
  }
  // A memory limit without a swap limit: swap as much again (dockerd's default), unless swap was set.
  if (given('Memory') && !given('MemorySwap') && (h.MemorySwap ?? 0) > 0 && (h.MemorySwap ?? 0) < req.Memory!) {
    throw new InvalidParameterError('Memory limit should be smaller than already set memoryswap limit, update the memoryswap at the same time');
  }
  const memory = next.Memory ?? 0;
  const swap = next.MemorySwap ?? 0;
  if (memory > 0 && swap > 0 && swap < memory) {
    throw new InvalidParameterError('Minimum memoryswap limit should be larger than memory limit, see usage');
  }
  if (req.RestartPolicy && req.RestartPolicy.Name !== undefined) {
    const name = req.RestartPolicy.Name;
    if (!['', 'no', 'always', 'unless-stopped', 'on-failure'].includes(name)) {
      throw new InvalidParameterError(`invalid restart policy: unknown policy '${name}'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'`);
    }
    if (h.AutoRemove && name && name !== 'no') throw new InvalidParameterError('Restart policy cannot be updated because AutoRemove is enabled for the container');
    if ((req.RestartPolicy.MaximumRetryCount ?? 0) !== 0 && name !== 'on-failure') {
      throw new InvalidParameterError("invalid restart policy: maximum retry count can only be used with 'on-failure'");
    }
    next.RestartPolicy = { Name: name || 'no', MaximumRetryCount: req.RestartPolicy.MaximumRetryCount ?? 0 };
  }
  const changed = RESOURCE_KEYS.some((k) => given(k));
  if (!changed) return { hostConfig: next, resources: undefined };
  const resources: TaskResources = {};
  if (given('Memory')) resources.memory = req.Memory!;
  if (given('MemorySwap')) resources.memorySwap = req.MemorySwap!;
  else if (given('Memory') && swap === 0) resources.memorySwap = req.Memory! * 2;
  if (given('MemoryReservation')) resources.memoryReservation = req.MemoryReservation!;
  if (given('CpuShares')) resources.cpuShares = req.CpuShares!;
  if (given('NanoCpus')) {
    resources.cpuPeriod = 100_000;
    resources.cpuQuota = Math.round((req.NanoCpus! * 100_000) / 1e9);
  }
  if (given('CpuPeriod')) resources.cpuPeriod = req.CpuPeriod!;
  if (given('CpuQuota')) resources.cpuQuota = req.CpuQuota!;
  if (given('CpusetCpus')) resources.cpusetCpus = req.CpusetCpus!;
  if (given('CpusetMems')) resources.cpusetMems = req.CpusetMems!;
  if (given('PidsLimit')) resources.pidsLimit = req.PidsLimit! < 0 ? -1 : req.PidsLimit!;
  if (given('BlkioWeight')) resources.blkioWeight = req.BlkioWeight!;
  return { hostConfig: next, resources };
}
