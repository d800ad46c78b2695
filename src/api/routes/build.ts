import type { Route } from '../router.js';
import { InvalidParameterError, NotImplementedError } from '../../errors/index.js';
import { buildErrorMessage, type BuildOptions, type StepResources } from '../../builder/index.js';
import { boolParam, filtersParam, intParam } from '../params.js';
import { batchedJsonLines } from '../streams.js';
import type { BuildBackend } from './backend.js';
import { sendJson } from './system.js';

// POST /build (the classic builder's API: a tar context in, JSON lines of
// progress out) and the build cache's prune. BuildKit's /grpc and /session
// stay unrouted: buildx must get a 404 there, never a 101.

function jsonParam<T>(q: URLSearchParams, name: string, fallback: T): T {
  const raw = q.get(name);
  if (raw === null || raw === '') return fallback;
  try {
    return JSON.parse(raw) as T;
  } catch {
    throw new InvalidParameterError(`invalid value for ${name}: ${raw}`);
  }
}

/** Go durations and plain seconds for the until filter. */
function untilMs(v: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(v);
  if (!m) throw new InvalidParameterError(`invalid filter 'until=${v}'`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] ?? 's']!;
  return Number(m[1]) * unit;
}

/** The step containers' limits from POST /build's query, as HostConfig fields (unset ones left out). */
function stepResources(query: URLSearchParams): StepResources {
  const out: StepResources = {};
  const ints = { memory: 'Memory', memswap: 'MemorySwap', cpushares: 'CpuShares', cpuperiod: 'CpuPeriod', cpuquota: 'CpuQuota', shmsize: 'ShmSize' } as const;
  for (const [param, field] of Object.entries(ints)) {
    const v = intParam(query, param);
    if (v) out[field] = v;
  }
  const cpuset = query.get('cpusetcpus');
  if (cpuset) out.CpusetCpus = cpuset;
  return out;
}

export function buildRoutes(b: BuildBackend): Route[] {
  return [
    {
      method: 'POST',
      path: '/build',
      handler: async ({ req, res, query, signal }) => {
        if (boolParam(query, 'squash')) throw new InvalidParameterError('squash is only supported with experimental mode');
        if (query.get('version') === '2') throw new NotImplementedError('BuildKit is not supported by berthd; build with DOCKER_BUILDKIT=0 (the classic builder)');
        if (query.get('remote')) throw new NotImplementedError('building from a remote context (URL or git) is not supported by berthd; send the context as a tar');
        const buildargs = jsonParam<Record<string, string | null>>(query, 'buildargs', {});
        const labels = jsonParam<Record<string, string>>(query, 'labels', {});
        const cacheFrom = jsonParam<string[]>(query, 'cachefrom', []);
        const extraHosts = (query.get('extrahosts') ?? '').split(',').map((s) => s.trim()).filter(Boolean);
        const opts: BuildOptions = {
          tags: query.getAll('t').filter(Boolean),
          buildArgs: buildargs,
          noCache: boolParam(query, 'nocache'),
          pull: boolParam(query, 'pull'),
          rm: boolParam(query, 'rm', true),
          forceRm: boolParam(query, 'forcerm'),
          labels,
          quiet: boolParam(query, 'q'),
          cacheFrom,
          extraHosts,
          resources: stepResources(query),
          signal,
        };
        const dockerfile = query.get('dockerfile');
        if (dockerfile) opts.dockerfile = dockerfile;
        const target = query.get('target');
        if (target) opts.target = target;
        const networkmode = query.get('networkmode');
        if (networkmode) opts.networkMode = networkmode;
        const platform = query.get('platform');
        if (platform) opts.platform = platform;
        // The client's credentials for every registry it knows, for the pulls of FROM and COPY --from.
        const registryConfig = req.headers['x-registry-config'];
        if (typeof registryConfig === 'string' && registryConfig) opts.registryConfig = registryConfig;

        const build = await b.prepare(req, opts);
        try {
          res.writeHead(200, { 'Content-Type': 'application/json' });
          res.flushHeaders();
          const out = batchedJsonLines(res);
          try {
            await build.run(out.write);
          } catch (err) {
            out.write(buildErrorMessage(err));
          }
          out.flush();
          res.end();
        } finally {
          await build.dispose();
        }
      },
    },
    {
      method: 'POST',
      path: '/build/prune',
      handler: async ({ res, query }) => {
        const filters = filtersParam(query);
        const opts: { all?: boolean; untilMs?: number } = { all: boolParam(query, 'all') };
        const until = filters.until?.[0];
        if (until) opts.untilMs = untilMs(until);
        sendJson(res, 200, await b.prune(opts));
      },
    },
    {
      method: 'POST',
      path: '/build/cancel',
      handler: async ({ res }) => {
        // Builds end when their client hangs up; there is nothing else to cancel.
        res.writeHead(200).end();
      },
    },
  ];
}
