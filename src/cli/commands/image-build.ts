import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, readFile, readdir, readlink, stat } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { pack as tarPack, type Header, type Pack } from 'tar-stream';
import { PatternMatcher, readDockerignore } from '../../builder/dockerignore.js';
import { StreamError } from '../../client/index.js';
import { StatusError, type CommandImpl } from '../command.js';
import { humanSize } from '../format/units.js';
import { displayJsonMessages } from '../jsonmessage.js';
import { memSwapBytes, ramInBytes } from '../support/units.js';

// `berth build` as docker's classic builder client does it: tar the context
// directory (owners reset to 0:0, .dockerignore applied, the Dockerfile and
// .dockerignore always sent), add a Dockerfile that lives elsewhere (or comes
// from stdin) under a random name, POST /build and show the stream.

interface BuildValues {
  tag: string[];
  file: string;
  buildArg: string[];
  target: string;
  noCache: boolean;
  pull: boolean;
  rm: boolean;
  forceRm: boolean;
  label: string[];
  quiet: boolean;
  cacheFrom: string[];
  network: string;
  addHost: string[];
  platform: string;
  memory: string;
  memorySwap: number;
  cpuShares: number;
  cpuPeriod: number;
  cpuQuota: number;
  cpusetCpus: string;
  shmSize: string;
  iidfile: string;
}

function entry(p: Pack, h: Partial<Header> & { name: string }, body?: Buffer): Promise<void> {
  return new Promise((res, rej) => p.entry(h, body ?? '', (err) => (err ? rej(err) : res())));
}

async function fileEntry(p: Pack, h: Partial<Header> & { name: string }, path: string): Promise<void> {
  let sink!: ReturnType<Pack['entry']>;
  const done = new Promise<void>((res, rej) => {
    sink = p.entry(h, (err) => (err ? rej(err) : res()));
  });
  let written = 0;
  const size = h.size ?? 0;
  for await (const chunk of createReadStream(path)) {
    const part = (chunk as Buffer).subarray(0, Math.max(0, size - written));
    written += part.length;
    if (part.length && !sink.write(part)) await new Promise<void>((r) => sink.once('drain', () => r()));
  }
  sink.end(written < size ? Buffer.alloc(size - written) : undefined);
  await done;
}

/** Tars `dir` for the daemon, leaving out what .dockerignore excludes. */
export function tarContext(dir: string, ignore: PatternMatcher, extra?: { name: string; data: Buffer }): { stream: Readable; size: () => number } {
  const p = tarPack();
  let total = 0;
  const walk = async (abs: string, rel: string): Promise<void> => {
    for (const name of (await readdir(abs)).sort()) {
      const path = join(abs, name);
      const r = rel ? `${rel}/${name}` : name;
      const st = await lstat(path);
      const excluded = ignore.matches(r);
      if (excluded && !(st.isDirectory() && ignore.mayIncludeUnder(r))) continue;
      const common = { mode: st.mode & 0o7777, uid: 0, gid: 0, mtime: new Date(Math.floor(st.mtimeMs / 1000) * 1000) };
      if (st.isDirectory()) {
        if (!excluded) await entry(p, { ...common, name: `${r}/`, type: 'directory' });
        await walk(path, r);
      } else if (excluded) {
        continue;
      } else if (st.isSymbolicLink()) {
        await entry(p, { ...common, name: r, type: 'symlink', linkname: await readlink(path) });
      } else if (st.isFile()) {
        total += st.size;
        await fileEntry(p, { ...common, name: r, type: 'file', size: st.size }, path);
      }
    }
  };
  (async () => {
    await walk(dir, '');
    if (extra) {
      total += extra.data.length;
      await entry(p, { name: extra.name, mode: 0o600, type: 'file', size: extra.data.length, mtime: new Date() }, extra.data);
    }
  })().then(
    () => p.finalize(),
    (err) => p.destroy(err),
  );
  const stream = Readable.from(p as AsyncIterable<Buffer>, { objectMode: false });
  const counted = new PassThrough();
  let sent = 0;
  stream.on('data', (c: Buffer) => (sent += c.length));
  stream.pipe(counted);
  stream.on('error', (err) => counted.destroy(err));
  return { stream: counted, size: () => sent || total };
}

function readStdin(stdin: NodeJS.ReadableStream): Promise<Buffer> {
  return new Promise((res, rej) => {
    const chunks: Buffer[] = [];
    stdin.on('data', (c: Buffer) => chunks.push(c));
    stdin.once('end', () => res(Buffer.concat(chunks)));
    stdin.once('error', rej);
  });
}

function isTar(buf: Buffer): boolean {
  if (buf.length >= 262 && buf.subarray(257, 262).toString() === 'ustar') return true;
  return (buf[0] === 0x1f && buf[1] === 0x8b) || buf.subarray(0, 3).toString() === 'BZh' || buf.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]));
}

/** KEY=VALUE, or KEY alone taking the value from the environment (dropped when unset), as docker does. */
function buildArgs(list: string[]): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  for (const a of list) {
    const eq = a.indexOf('=');
    if (eq === -1) {
      const v = process.env[a];
      if (v !== undefined) out[a] = v;
      else out[a] = null;
    } else out[a.slice(0, eq)] = a.slice(eq + 1);
  }
  return out;
}

function labels(list: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const l of list) {
    const eq = l.indexOf('=');
    if (eq === -1) out[l] = '';
    else out[l.slice(0, eq)] = l.slice(eq + 1);
  }
  return out;
}

export const buildCommand: CommandImpl<BuildValues> = {
  flags: [
    { name: 'add-host', kind: 'list', usage: 'Add a custom host-to-IP mapping ("host:ip")' },
    { name: 'build-arg', kind: 'list', usage: 'Set build-time variables' },
    { name: 'cache-from', kind: 'list', type: 'strings', usage: 'Images to consider as cache sources' },
    { name: 'cpu-period', kind: 'int', usage: 'Limit the CPU CFS (Completely Fair Scheduler) period' },
    { name: 'cpu-quota', kind: 'int', usage: 'Limit the CPU CFS (Completely Fair Scheduler) quota' },
    { name: 'cpu-shares', short: 'c', kind: 'int', usage: 'CPU shares (relative weight)' },
    { name: 'cpuset-cpus', kind: 'string', usage: 'CPUs in which to allow execution (0-3, 0,1)' },
    { name: 'file', short: 'f', kind: 'string', usage: 'Name of the Dockerfile (Default is "PATH/Dockerfile")' },
    { name: 'force-rm', kind: 'bool', usage: 'Always remove intermediate containers' },
    { name: 'iidfile', kind: 'string', usage: 'Write the image ID to the file' },
    { name: 'label', kind: 'list', usage: 'Set metadata for an image' },
    { name: 'memory', short: 'm', kind: 'string', type: 'bytes', usage: 'Memory limit' },
    { name: 'memory-swap', kind: 'string', type: 'bytes', usage: 'Swap limit equal to memory plus swap: -1 to enable unlimited swap', default: 0, parse: memSwapBytes },
    { name: 'network', kind: 'string', usage: 'Set the networking mode for the RUN instructions during build', default: 'default' },
    { name: 'no-cache', kind: 'bool', usage: 'Do not use cache when building the image' },
    { name: 'platform', kind: 'string', usage: 'Set platform if server is multi-platform capable', default: process.env.DOCKER_DEFAULT_PLATFORM ?? '' },
    { name: 'pull', kind: 'bool', usage: 'Always attempt to pull a newer version of the image' },
    { name: 'quiet', short: 'q', kind: 'bool', usage: 'Suppress the build output and print image ID on success' },
    { name: 'rm', kind: 'bool', usage: 'Remove intermediate containers after each step, whether it worked or not', default: true },
    { name: 'shm-size', kind: 'string', type: 'bytes', usage: 'Size of "/dev/shm"' },
    { name: 'tag', short: 't', kind: 'list', usage: 'Name and optionally a tag in the "name:tag" format' },
    { name: 'target', kind: 'string', usage: 'Set the target build stage to build.' },
  ],
  args: { kind: 'exact', n: 1 },
  async run(ctx, v, [contextArg]) {
    const spec = contextArg!;
    if (/^(https?|git):\/\//.test(spec) || spec.startsWith('git@')) throw new StatusError('building from a URL or git repository is not supported by berth; clone or download it and build the directory', 1);
    if (spec === '-' && v.file === '-') throw new StatusError('invalid argument: can\'t use stdin for both build context and dockerfile', 1);
    let body: Readable;
    let dockerfileName: string | undefined;
    let size = () => 0;
    if (spec === '-') {
      const data = await readStdin(ctx.stdin);
      if (isTar(data)) {
        body = Readable.from([data]);
        size = () => data.length;
        if (v.file) dockerfileName = v.file;
      } else {
        // A Dockerfile on stdin and an empty context.
        const name = `.dockerfile.${randomBytes(10).toString('hex')}`;
        const t = tarContext(await emptyDir(), new PatternMatcher([]), { name, data });
        body = t.stream;
        size = t.size;
        dockerfileName = name;
      }
    } else {
      const dir = resolve(spec);
      const st = await stat(dir).catch(() => undefined);
      if (!st) throw new StatusError(`unable to prepare context: path "${spec}" not found`, 1);
      if (!st.isDirectory()) throw new StatusError(`unable to prepare context: context must be a directory: ${dir}`, 1);
      const ignoreText = await readFile(join(dir, '.dockerignore'), 'utf8').catch(() => '');
      const patterns = readDockerignore(ignoreText);
      let extra: { name: string; data: Buffer } | undefined;
      if (v.file === '-') {
        const name = `.dockerfile.${randomBytes(10).toString('hex')}`;
        extra = { name, data: await readStdin(ctx.stdin) };
        dockerfileName = name;
      } else {
        const df = v.file ? resolve(v.file) : join(dir, 'Dockerfile');
        const rel = relative(dir, df);
        if (rel.startsWith('..') || rel.startsWith('/')) {
          // A Dockerfile outside the context travels inside it under a random name.
          const data = await readFile(df).catch(() => {
            throw new StatusError(`unable to prepare context: unable to evaluate symlinks in Dockerfile path: lstat ${df}: no such file or directory`, 1);
          });
          const name = `.dockerfile.${randomBytes(10).toString('hex')}`;
          extra = { name, data };
          dockerfileName = name;
        } else {
          if (v.file && !(await stat(df).catch(() => undefined))) {
            throw new StatusError(`unable to prepare context: unable to evaluate symlinks in Dockerfile path: lstat ${df}: no such file or directory`, 1);
          }
          dockerfileName = rel;
          // The Dockerfile and .dockerignore always travel, as docker's client ensures.
          patterns.push(`!${rel}`, '!.dockerignore');
        }
      }
      const t = tarContext(dir, new PatternMatcher(patterns), extra);
      body = t.stream;
      size = t.size;
    }

    const query: Record<string, string | string[] | undefined> = {
      t: v.tag.length ? v.tag : undefined,
      dockerfile: dockerfileName,
      target: v.target || undefined,
      nocache: v.noCache ? '1' : undefined,
      pull: v.pull ? '1' : undefined,
      rm: v.rm ? '1' : '0',
      forcerm: v.forceRm ? '1' : undefined,
      q: v.quiet ? '1' : undefined,
      buildargs: JSON.stringify(buildArgs(v.buildArg)),
      labels: JSON.stringify(labels(v.label)),
      cachefrom: JSON.stringify(v.cacheFrom),
      networkmode: v.network || undefined,
      extrahosts: v.addHost.length ? v.addHost.join(',') : undefined,
      platform: v.platform || undefined,
      memory: v.memory ? String(ramInBytes(v.memory)) : undefined,
      memswap: v.memorySwap ? String(v.memorySwap) : undefined,
      cpushares: v.cpuShares ? String(v.cpuShares) : undefined,
      cpuperiod: v.cpuPeriod ? String(v.cpuPeriod) : undefined,
      cpuquota: v.cpuQuota ? String(v.cpuQuota) : undefined,
      cpusetcpus: v.cpusetCpus || undefined,
      shmsize: v.shmSize ? String(ramInBytes(v.shmSize)) : undefined,
      version: '1',
    };
    const { configDir, registryConfigHeader } = await import('../support/credentials.js');
    const registryConfig = await registryConfigHeader(configDir(ctx.globals.config));
    const res = await ctx.client().open('POST', '/build', { query, rawBody: body, headers: { 'Content-Type': 'application/x-tar', 'X-Registry-Config': registryConfig } });
    // -q: as docker's client, everything is held back; printed (to stderr) only if the build fails.
    let held = '';
    const progress = (text: string) => (v.quiet ? (held += text) : ctx.out(text));
    progress(`Sending build context to Docker daemon  ${humanSize(size(), 4)}\n`);
    let built = '';
    const target = v.quiet ? { write: (text: string) => (built += text) } : ctx.stdout;
    let imageId = '';
    try {
      await displayJsonMessages(res, target, {
        onAux: (aux) => {
          const id = (aux as { ID?: string }).ID;
          if (id) imageId = id;
        },
      });
    } catch (err) {
      if (err instanceof StreamError) {
        if (v.quiet) ctx.err(held + built);
        throw new StatusError(err.message, err.code || 1);
      }
      throw err;
    }
    if (v.quiet) ctx.out(built);
    if (v.iidfile && imageId) {
      const { writeFile } = await import('node:fs/promises');
      await writeFile(v.iidfile, imageId);
    }
    return 0;
  },
};

let empty: string | undefined;
async function emptyDir(): Promise<string> {
  if (empty) return empty;
  const { mkdtemp } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  empty = await mkdtemp(join(tmpdir(), 'berth-empty-'));
  const { rmdirSync } = await import('node:fs');
  process.once('exit', () => {
    try {
      rmdirSync(empty!);
    } catch {
      /* best effort */
    }
  });
  return empty;
}

export const builderPruneCommand: CommandImpl<{ all: boolean; force: boolean; filter: string[] }> = {
  flags: [
    { name: 'all', short: 'a', kind: 'bool', usage: 'Remove all unused build cache, not just dangling ones' },
    { name: 'filter', kind: 'list', type: 'filter', usage: 'Provide filter values (e.g. "until=24h")' },
    { name: 'force', short: 'f', kind: 'bool', usage: 'Do not prompt for confirmation' },
  ],
  args: { kind: 'none' },
  async run(ctx, v) {
    if (!v.force) {
      ctx.out(`WARNING! This will remove all ${v.all ? '' : 'dangling '}build cache. Are you sure you want to continue? [y/N] `);
      const answer = await new Promise<string>((res) => {
        let text = '';
        const onData = (c: Buffer) => {
          text += c.toString('utf8');
          if (text.includes('\n')) done();
        };
        const done = () => {
          ctx.stdin.off('data', onData);
          ctx.stdin.pause();
          res(text.trim());
        };
        ctx.stdin.on('data', onData);
        ctx.stdin.once('end', done);
      });
      if (!/^y(es)?$/i.test(answer)) return 0;
    }
    const filters: Record<string, string[]> = {};
    for (const f of v.filter) {
      const eq = f.indexOf('=');
      if (eq === -1) throw new StatusError(`bad format of filter (expected name=value)`, 1);
      (filters[f.slice(0, eq)] ??= []).push(f.slice(eq + 1));
    }
    const r = await ctx.client().request<{ CachesDeleted: string[] | null; SpaceReclaimed: number }>('POST', '/build/prune', {
      query: { all: v.all ? '1' : undefined, filters: Object.keys(filters).length ? JSON.stringify(filters) : undefined },
    });
    if (r.CachesDeleted && r.CachesDeleted.length > 0) {
      ctx.out('Deleted build cache objects:\n');
      for (const id of r.CachesDeleted) ctx.out(`${id}\n`);
      ctx.out('\n');
    }
    ctx.out(`Total reclaimed space: ${humanSize(r.SpaceReclaimed)}\n`);
    return 0;
  },
};
