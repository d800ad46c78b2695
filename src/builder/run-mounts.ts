import { createHash } from 'node:crypto';
import { lstat, mkdir } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { InvalidParameterError, NotFoundError } from '../errors/index.js';
import type { StepHost } from './build-job.js';
import { sourceHash } from './source-hash.js';
import { resolvedInRoot } from './copy.js';
import type { RunStepOptions } from './run-step.js';

// RUN --mount, as far as a classic build can honour it: a cache directory of
// the builder's own per id (kept between builds, never in a layer), a
// read-only bind of the context or of another stage or image, and a tmpfs.
// Mount targets stay out of the step's layer.

export type RunMountSpec =
  | { type: 'cache'; target: string; id: string }
  | { type: 'bind'; target: string; source: string; readOnly: boolean; from?: string }
  | { type: 'tmpfs'; target: string; size?: number };

export type RunMounts = NonNullable<RunStepOptions['mounts']>;

/** One --mount option list, values expanded (type=cache|bind|tmpfs). */
export function parseRunMount(spec: string, word: (s: string) => string, workdir: string): RunMountSpec {
  const fields = new Map<string, string>();
  for (const part of spec.split(',')) {
    const eq = part.indexOf('=');
    const k = (eq === -1 ? part : part.slice(0, eq)).trim().toLowerCase();
    fields.set(k, eq === -1 ? 'true' : word(part.slice(eq + 1)));
  }
  const type = fields.get('type') ?? 'bind';
  const unsupported = () => new InvalidParameterError(`RUN --mount=type=${type} is not supported by berth's classic builder (cache, bind and tmpfs are)`);
  if (!['cache', 'bind', 'tmpfs'].includes(type)) throw unsupported();
  let target = fields.get('target') ?? fields.get('dst') ?? fields.get('destination');
  if (!target) throw new InvalidParameterError(`mount target is required: --mount=${spec}`);
  if (!target.startsWith('/')) target = posix.join(workdir || '/', target);
  if (target === '/') throw new InvalidParameterError('invalid mount target "/"');
  const readOnly = fields.has('ro') || fields.has('readonly') ? fields.get('ro') !== 'false' && fields.get('readonly') !== 'false' : !(fields.has('rw') || fields.has('readwrite'));
  switch (type) {
    case 'cache':
      return { type, target, id: fields.get('id') || target };
    case 'bind': {
      const from = fields.get('from');
      const m: RunMountSpec = { type, target, source: fields.get('source') ?? fields.get('src') ?? '/', readOnly };
      if (from !== undefined) m.from = from;
      return m;
    }
    case 'tmpfs': {
      const size = fields.get('size');
      return { type, target, ...(size ? { size: Number(size) } : {}) };
    }
    default:
      throw unsupported();
  }
}

/** What of the mounts goes into the step's cache key: the specs, and a context bind's content. */
export async function mountCacheKey(specs: readonly RunMountSpec[], contextDir: string): Promise<string> {
  const keys: string[] = [];
  for (const m of specs) {
    const content = m.type === 'bind' && m.from === undefined ? await sourceHash(contextDir, resolvedInRoot(contextDir, m.source)).catch(() => 'missing') : '';
    keys.push(`${JSON.stringify(m)}:${content}`);
  }
  return keys.join('\n');
}

/** The mounts for the step's container; views it opened are released through `releases`. */
export async function prepareRunMounts(host: StepHost, specs: readonly RunMountSpec[], releases: Array<() => Promise<void>>): Promise<RunMounts> {
  const out: RunMounts = [];
  for (const m of specs) {
    if (m.type === 'cache') {
      const dir = join(host.job.deps.root, 'cache-mounts', createHash('sha256').update(m.id).digest('hex').slice(0, 32));
      await mkdir(dir, { recursive: true, mode: 0o755 });
      out.push({ type: 'bind', source: dir, target: m.target, readOnly: false });
    } else if (m.type === 'bind') {
      let root = host.job.contextDir;
      if (m.from !== undefined) {
        const mounted = await host.mountFrom(m.from);
        releases.push(mounted.release);
        root = mounted.dir;
      }
      const source = resolvedInRoot(root, m.source);
      if (!(await lstat(source).catch(() => undefined))) throw new NotFoundError(`failed to mount ${m.source}: no such file or directory`);
      out.push({ type: 'bind', source, target: m.target, readOnly: true });
    } else {
      out.push({ type: 'tmpfs', target: m.target, ...(m.size ? { size: m.size } : {}) });
    }
  }
  return out;
}
