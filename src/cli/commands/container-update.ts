import { StatusError, type CommandImpl } from '../command.js';
import { flagKey, type FlagSpec } from '../flags.js';
import { memSwapBytes, parseCpus, ramInBytes } from '../support/units.js';
import { parseRestartPolicy } from '../options/container-options.js';
import { forEachContainer } from './container-lifecycle.js';

// `berth update`: docker's flags, one API call per container, names printed.

const bytes = (name: string, usage: string, extra: Partial<FlagSpec> = {}): FlagSpec => ({ name, kind: 'string', type: 'bytes', usage, default: 0, parse: ramInBytes, ...extra });

const FLAGS: FlagSpec[] = [
  { name: 'blkio-weight', kind: 'int', type: 'uint16', usage: 'Block IO (relative weight), between 10 and 1000, or 0 to disable (default 0)' },
  { name: 'cpu-period', kind: 'int', usage: 'Limit CPU CFS (Completely Fair Scheduler) period' },
  { name: 'cpu-quota', kind: 'int', usage: 'Limit CPU CFS (Completely Fair Scheduler) quota' },
  { name: 'cpu-rt-period', kind: 'int', usage: 'Limit the CPU real-time period in microseconds' },
  { name: 'cpu-rt-runtime', kind: 'int', usage: 'Limit the CPU real-time runtime in microseconds' },
  { name: 'cpu-shares', short: 'c', kind: 'int', usage: 'CPU shares (relative weight)' },
  { name: 'cpus', kind: 'string', type: 'decimal', usage: 'Number of CPUs', default: 0, parse: parseCpus },
  { name: 'cpuset-cpus', kind: 'string', usage: 'CPUs in which to allow execution (0-3, 0,1)' },
  { name: 'cpuset-mems', kind: 'string', usage: 'MEMs in which to allow execution (0-3, 0,1)' },
  bytes('memory', 'Memory limit', { short: 'm' }),
  bytes('memory-reservation', 'Memory soft limit'),
  { name: 'memory-swap', kind: 'string', type: 'bytes', usage: "Swap limit equal to memory plus swap: -1 to enable unlimited swap", default: 0, parse: memSwapBytes },
  { name: 'pids-limit', kind: 'int', usage: 'Tune container pids limit (set -1 for unlimited)' },
  { name: 'restart', kind: 'string', usage: 'Restart policy to apply when a container exits' },
];

/** Flags that map straight onto an UpdateConfig field, as given. */
const UPDATE_FIELDS: Record<string, string> = {
  'blkio-weight': 'BlkioWeight',
  'cpu-period': 'CpuPeriod',
  'cpu-quota': 'CpuQuota',
  'cpu-rt-period': 'CpuRealtimePeriod',
  'cpu-rt-runtime': 'CpuRealtimeRuntime',
  'cpu-shares': 'CpuShares',
  cpus: 'NanoCpus',
  'cpuset-cpus': 'CpusetCpus',
  'cpuset-mems': 'CpusetMems',
  memory: 'Memory',
  'memory-reservation': 'MemoryReservation',
  'memory-swap': 'MemorySwap',
  'pids-limit': 'PidsLimit',
};

export const updateCommand: CommandImpl = {
  flags: FLAGS,
  args: { kind: 'min', n: 1 },
  async run(ctx, v, names, parsed) {
    if (parsed.changed.size === 0) throw new StatusError('you must provide one or more flags when using this command', 1);
    const c = (name: string) => parsed.changed.has(name);
    const body: Record<string, unknown> = {};
    for (const [flag, field] of Object.entries(UPDATE_FIELDS)) {
      if (c(flag)) body[field] = (v as unknown as Record<string, unknown>)[flagKey(FLAGS.find((f) => f.name === flag)!)];
    }
    if (c('restart')) body.RestartPolicy = parseRestartPolicy(v.restart);
    const client = ctx.client();
    return forEachContainer(ctx, names, (id) => client.request('POST', `/containers/${encodeURIComponent(id)}/update`, { body }).then(() => undefined));
  },
};
