import type { IncomingMessage } from 'node:http';
import { StatusError, type CommandImpl } from '../command.js';
import { bytesSize, humanSize, renderFormat, shortId, TemplateError } from '../format/index.js';
import { formatFloat } from '../format/fmt.js';
import type { ContainerStats } from '../../types/stats.js';

// `berth stats`: docker's stats table, computed from the daemon's samples
// the way the docker CLI computes it (CPU % from the cpu/precpu deltas,
// memory without the inactive file cache, summed network and block I/O).

const DEFAULT_STATS_TABLE = 'table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}';
const STATS_HEADERS: Record<string, string> = {
  Container: 'CONTAINER',
  ID: 'CONTAINER ID',
  Name: 'NAME',
  CPUPerc: 'CPU %',
  MemUsage: 'MEM USAGE / LIMIT',
  MemPerc: 'MEM %',
  NetIO: 'NET I/O',
  BlockIO: 'BLOCK I/O',
  PIDs: 'PIDS',
};

export interface StatsFigures {
  cpuPercent: number;
  memory: number;
  memoryLimit: number;
  memoryPercent: number;
  netRx: number;
  netTx: number;
  blockRead: number;
  blockWrite: number;
  pids: number;
}

/** The docker CLI's calculations on one stats document. */
export function statsFigures(s: ContainerStats): StatsFigures {
  const cpuDelta = s.cpu_stats.cpu_usage.total_usage - s.precpu_stats.cpu_usage.total_usage;
  const systemDelta = (s.cpu_stats.system_cpu_usage ?? 0) - (s.precpu_stats.system_cpu_usage ?? 0);
  const online = s.cpu_stats.online_cpus || s.cpu_stats.cpu_usage.percpu_usage?.length || 0;
  const cpuPercent = systemDelta > 0 && cpuDelta > 0 ? (cpuDelta / systemDelta) * online * 100 : 0;
  const usage = s.memory_stats.usage ?? 0;
  const st = s.memory_stats.stats ?? {};
  let memory = usage;
  if (st.total_inactive_file !== undefined && st.total_inactive_file < usage) memory = usage - st.total_inactive_file;
  else if ((st.inactive_file ?? 0) < usage) memory = usage - (st.inactive_file ?? 0);
  const memoryLimit = s.memory_stats.limit ?? 0;
  let netRx = 0;
  let netTx = 0;
  for (const n of Object.values(s.networks ?? {})) {
    netRx += n.rx_bytes;
    netTx += n.tx_bytes;
  }
  let blockRead = 0;
  let blockWrite = 0;
  for (const e of s.blkio_stats.io_service_bytes_recursive ?? []) {
    const op = e.op.toLowerCase();
    if (op === 'read') blockRead += e.value;
    else if (op === 'write') blockWrite += e.value;
  }
  return {
    cpuPercent, memory, memoryLimit, memoryPercent: memoryLimit !== 0 ? (memory / memoryLimit) * 100 : 0,
    netRx, netTx, blockRead, blockWrite, pids: s.pids_stats.current ?? 0,
  };
}

/** docker's formatter.statsContext: what a --format template sees. */
class StatsRow {
  readonly #given: string;
  readonly #id: string;
  readonly #name: string;
  readonly #f: StatsFigures | undefined;
  readonly #trunc: boolean;

  constructor(given: string, id: string, name: string, f: StatsFigures | undefined, trunc: boolean) {
    this.#given = given;
    this.#id = id;
    this.#name = name;
    this.#f = f;
    this.#trunc = trunc;
  }

  get Container(): string {
    return this.#given;
  }
  get ID(): string {
    return this.#trunc ? shortId(this.#id) : this.#id;
  }
  get Name(): string {
    return this.#name.replace(/^\//, '') || '--';
  }
  get CPUPerc(): string {
    return this.#f ? `${formatFloat(this.#f.cpuPercent, 'f', 2)}%` : '--';
  }
  get MemUsage(): string {
    return this.#f ? `${bytesSize(this.#f.memory)} / ${bytesSize(this.#f.memoryLimit)}` : '-- / --';
  }
  get MemPerc(): string {
    return this.#f ? `${formatFloat(this.#f.memoryPercent, 'f', 2)}%` : '--';
  }
  get NetIO(): string {
    return this.#f ? `${humanSize(this.#f.netRx)} / ${humanSize(this.#f.netTx)}` : '--';
  }
  get BlockIO(): string {
    return this.#f ? `${humanSize(this.#f.blockRead)} / ${humanSize(this.#f.blockWrite)}` : '--';
  }
  get PIDs(): string {
    return this.#f ? String(this.#f.pids) : '--';
  }
}

interface Entry {
  given: string;
  id: string;
  name: string;
  figures?: StatsFigures;
  response?: IncomingMessage;
}

/** Reads newline-separated JSON documents off a response. */
function eachDocument(res: IncomingMessage, onDoc: (s: ContainerStats) => void): Promise<void> {
  return new Promise((resolve) => {
    let buf = '';
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      buf += chunk;
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (line) onDoc(JSON.parse(line) as ContainerStats);
      }
    });
    res.on('end', () => resolve());
    res.on('error', () => resolve());
    res.on('close', () => resolve());
  });
}

interface StatsValues {
  all: boolean;
  format: string;
  noStream: boolean;
  noTrunc: boolean;
}

export const statsCommand: CommandImpl<StatsValues> = {
  flags: [
    { name: 'all', short: 'a', kind: 'bool', usage: 'Show all containers (default shows just running)' },
    { name: 'format', kind: 'string', usage: 'Format output using a custom template:\n\'table\':            Print output in table format with column headers (default)\n\'table TEMPLATE\':   Print output in table format using the given Go template\n\'json\':             Print in JSON format\n\'TEMPLATE\':         Print output using the given Go template.\nRefer to https://docs.docker.com/go/formatting/ for more information about formatting output with templates' },
    { name: 'no-stream', kind: 'bool', usage: 'Disable streaming stats and only pull the first result' },
    { name: 'no-trunc', kind: 'bool', usage: 'Do not truncate output' },
  ],
  args: { kind: 'any' },
  async run(ctx, v, names) {
    const client = ctx.client();
    const entries = new Map<string, Entry>();
    const listAll = names.length === 0;
    const refresh = async () => {
      if (listAll) {
        const list = await client.containerList({ all: v.all });
        const seen = new Set(list.map((c) => c.Id));
        for (const c of list) if (!entries.has(c.Id)) entries.set(c.Id, { given: c.Id.slice(0, 12), id: c.Id, name: c.Names[0] ?? '' });
        for (const [id, e] of entries) {
          if (seen.has(id)) continue;
          e.response?.destroy();
          entries.delete(id);
        }
        return;
      }
      const errors: string[] = [];
      for (const n of names) {
        try {
          const c = await client.containerInspect(n);
          entries.set(c.Id, { given: n, id: c.Id, name: c.Name });
        } catch (err) {
          errors.push(err instanceof Error ? err.toString().replace(/^Error: /, '') : String(err));
        }
      }
      if (errors.length) throw new StatusError(errors.join('\n'), 1);
    };
    const render = () => {
      const rows = [...entries.values()].map((e) => new StatsRow(e.given, e.id, e.name, e.figures, !v.noTrunc));
      try {
        return renderFormat(v.format, rows, { defaultTable: DEFAULT_STATS_TABLE, headers: STATS_HEADERS });
      } catch (err) {
        if (err instanceof TemplateError) throw new StatusError(err.message, 1);
        throw err;
      }
    };
    await refresh();

    if (v.noStream) {
      await Promise.all([...entries.values()].map(async (e) => {
        try {
          const res = await client.containerStats(e.id, { stream: false });
          await eachDocument(res, (s) => (e.figures = statsFigures(s)));
        } catch {
          /* gone meanwhile: shown as "--" */
        }
      }));
      ctx.out(render());
      return 0;
    }

    const follow = (e: Entry) => {
      if (e.response) return;
      void client.containerStats(e.id, { stream: true }).then((res) => {
        e.response = res;
        return eachDocument(res, (s) => (e.figures = statsFigures(s)));
      }).catch(() => {});
    };
    for (;;) {
      for (const e of entries.values()) follow(e);
      await new Promise((r) => setTimeout(r, 1000));
      if (listAll) await refresh().catch(() => {});
      for (const e of entries.values()) follow(e);
      // Home the cursor, rewrite each line, clear what the last frame left below.
      const lines = render().split('\n').filter((l, i, all) => i < all.length - 1 || l !== '');
      ctx.out(`\x1b[H${lines.map((l) => `${l}\x1b[K\n`).join('')}\x1b[J`);
    }
  },
};
