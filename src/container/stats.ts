import { execFile } from 'node:child_process';
import { ConflictError, SystemError } from '../errors/index.js';
import type { TaskService, TaskStats } from '../runtime/index.js';
import type { ContainerStats, ContainerTopResponse, CpuStats } from '../types/stats.js';
import type { Clock } from '../util/clock.js';
import { isRunning, type Live } from './lifecycle.js';
import { ZERO_TIME } from './record.js';

// docker stats and docker top: samples from the task, shaped as dockerd
// sends them.

export interface StatsOptions {
  stream: boolean;
  /** With stream=false: answer at once, without the second sample that fills precpu_stats. */
  oneShot: boolean;
}

const STATS_INTERVAL_MS = 1000;

function zeroCpu(): CpuStats {
  return { cpu_usage: { total_usage: 0, usage_in_kernelmode: 0, usage_in_usermode: 0 }, throttling_data: { periods: 0, throttled_periods: 0, throttled_time: 0 } };
}

/** dockerd's answer for a container that is not running: names and zeros. */
function emptyStats(live: Live): ContainerStats {
  return {
    name: live.record.name, id: live.record.id, read: ZERO_TIME, preread: ZERO_TIME, pids_stats: {},
    blkio_stats: {
      io_service_bytes_recursive: null, io_serviced_recursive: null, io_queue_recursive: null, io_service_time_recursive: null,
      io_wait_time_recursive: null, io_merged_recursive: null, io_time_recursive: null, sectors_recursive: null,
    },
    num_procs: 0, storage_stats: {}, cpu_stats: zeroCpu(), precpu_stats: zeroCpu(), memory_stats: {},
  };
}

export class ContainerStatsReader {
  constructor(
    private readonly tasks: TaskService,
    private readonly clock: Clock,
    /** Interface counters at the start of the run, from the network subsystem. */
    private readonly baseline?: (id: string) => Record<string, Record<string, number>>,
  ) {}

  /** Sends one sample (stream=false) or one per second until `signal` aborts or the container stops running. */
  async stats(live: Live, opts: StatsOptions, send: (s: ContainerStats) => void | Promise<void>, signal: AbortSignal): Promise<void> {
    let previous: { at: string; sample: TaskStats } | undefined;
    const take = async (): Promise<{ at: string; sample: TaskStats } | undefined> => {
      if (!isRunning(live.record.state.status)) return undefined;
      try {
        const sample = await this.tasks.stats(live.record.id);
        return { at: new Date(this.clock.now()).toISOString(), sample };
      } catch {
        return undefined; // it stopped between the check and the read
      }
    };
    const compose = (cur: { at: string; sample: TaskStats } | undefined): ContainerStats => {
      if (!cur) return emptyStats(live);
      return {
        name: live.record.name,
        id: live.record.id,
        read: cur.at,
        preread: previous?.at ?? ZERO_TIME,
        pids_stats: cur.sample.pids_stats,
        blkio_stats: cur.sample.blkio_stats,
        num_procs: 0,
        storage_stats: {},
        cpu_stats: cur.sample.cpu_stats,
        precpu_stats: previous?.sample.cpu_stats ?? zeroCpu(),
        memory_stats: cur.sample.memory_stats,
        networks: sinceBaseline(cur.sample.networks, this.baseline?.(live.record.id)),
      };
    };
    if (!opts.stream) {
      if (!opts.oneShot && isRunning(live.record.state.status)) {
        previous = await take();
        await this.sleep(STATS_INTERVAL_MS, signal);
      }
      await send(compose(await take()));
      return;
    }
    while (!signal.aborted) {
      const cur = await take();
      await send(compose(cur));
      if (cur) previous = cur;
      await this.sleep(STATS_INTERVAL_MS, signal);
    }
  }

  /** `ps` on the host, limited to the container's processes (dockerd's ContainerTop). */
  async top(live: Live, psArgs: string): Promise<ContainerTopResponse> {
    const r = live.record;
    if (r.state.status === 'restarting') throw new ConflictError(`Container ${r.id} is restarting, wait until the container is running`);
    if (!isRunning(r.state.status)) throw new ConflictError(`Container ${r.id} is not running`);
    const pids = new Set(await this.tasks.pids(r.id));
    const output = await new Promise<string>((resolve, reject) => {
      execFile('ps', (psArgs || '-ef').split(' '), { maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
        if (err) reject(new SystemError(`ps: ${stderr.trim() || err.message}`));
        else resolve(stdout);
      });
    });
    return parsePsOutput(output, pids);
  }

  private sleep(ms: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal.aborted) return resolve();
      const timer = this.clock.setTimeout(done, ms);
      function done() {
        signal.removeEventListener('abort', onAbort);
        resolve();
      }
      const onAbort = () => {
        this.clock.clearTimeout(timer);
        done();
      };
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }
}

/**
 * Keeps the lines of `ps` output whose PID is one of the container's; the last
 * column (the command) keeps its spaces. Thread lines ("-" in PID, from `ps m`)
 * follow the process line they belong to.
 */
export function parsePsOutput(output: string, pids: Set<number>): ContainerTopResponse {
  const lines = output.split('\n');
  const titles = (lines[0] ?? '').trim().split(/\s+/).filter(Boolean);
  const pidIndex = titles.indexOf('PID');
  if (pidIndex < 0) throw new SystemError('Couldn\'t find PID field in ps output');
  const processes: string[][] = [];
  const add = (fields: string[]) => processes.push([...fields.slice(0, titles.length - 1), fields.slice(titles.length - 1).join(' ')]);
  let previousKept = false;
  for (const line of lines.slice(1)) {
    if (line.length === 0) continue;
    const fields = line.trim().split(/\s+/);
    const field = fields[pidIndex]!;
    if (field === '-') {
      if (previousKept) add(fields);
      continue;
    }
    const pid = Number(field);
    if (!Number.isInteger(pid)) throw new SystemError(`Unexpected pid '${field}'`);
    previousKept = pids.has(pid);
    if (previousKept) add(fields);
  }
  return { Titles: titles, Processes: processes };
}

/** Counters from the start of this run: a pooled network namespace has counted before the container got it. */
function sinceBaseline(networks: TaskStats['networks'], baseline: Record<string, Record<string, number>> | undefined): TaskStats['networks'] {
  if (!baseline) return networks;
  const out: TaskStats['networks'] = {};
  for (const [name, n] of Object.entries(networks)) {
    const b = baseline[name];
    out[name] = b ? (Object.fromEntries(Object.entries(n).map(([k, v]) => [k, typeof v === 'number' ? Math.max(0, v - (b[k] ?? 0)) : v])) as typeof n) : n;
  }
  return out;
}
