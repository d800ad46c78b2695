import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, open, readdir, rm, lstat, utimes, chmod, lchown, writeFile } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { applyLayer } from '../archive/apply.js';
import { decompress } from '../archive/compression.js';
import { InvalidParameterError, NotFoundError, SystemError, errorMessage } from '../errors/index.js';
import type { ImageRecord, OciImageConfig } from '../image/image-store.js';
import { hostPlatform } from '../image/platform.js';
import { normalizeSignal } from '../container/index.js';
import type { HealthConfig, ImageConfig } from '../types/engine.js';
import { mountAll, unmountIfMounted } from '../util/mount.js';
import type { BuilderDeps } from './backend.js';
import type { RunStepOptions } from './run-step.js';
import { cacheKey, type BuildCache } from './cache.js';
import { checksumPath } from './context.js';
import { copyEntry, expandSource, inRoot, mkdirInRoot, resolveChown, resolvedInRoot, statSource, type Owner } from './copy.js';
import type { PatternMatcher } from './dockerignore.js';
import { snapshotDiff } from '../archive/index.js';
import { parseTrigger, type Command, type CopyCmd, type HealthcheckCmd, type RunCmd, type Stage } from './instructions.js';
import { processWord, processWords, type Env } from './shell-lex.js';

// Evaluation of one stage, instruction by instruction, the way Docker's
// classic builder does it: every step starts from the image the previous
// step produced and produces a new image (with the parent recorded), reusing
// a cached one when its key matches. Metadata-only steps change the config;
// RUN runs a container and commits what it changed; COPY/ADD write into a
// snapshot of the previous step and commit the difference.

export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const DEFAULT_SHELL = ['/bin/sh', '-c'];
const PROXY_ARGS = ['HTTP_PROXY', 'http_proxy', 'HTTPS_PROXY', 'https_proxy', 'FTP_PROXY', 'ftp_proxy', 'NO_PROXY', 'no_proxy', 'ALL_PROXY', 'all_proxy'];

export interface BuildSettings {
  buildArgs: Map<string, string | undefined>;
  noCache: boolean;
  pull: boolean;
  /** Remove intermediate containers after a step (docker's --rm, default true). */
  rm: boolean;
  forceRm: boolean;
  networkMode: string;
  extraHosts: string[];
  memory?: number;
  shmSize?: number;
  platform?: { os: string; architecture: string; variant?: string };
  cacheFrom: string[];
}

/** Output of one stage: lines for the JSON stream, in order. */
export interface StageOutput {
  stream(text: string): void;
}

/** What a stage needs of the build it is part of. */
export interface BuildJob {
  deps: BuilderDeps;
  cache: BuildCache;
  settings: BuildSettings;
  contextDir: string;
  /** Content digests of the context's files by host path, from unpacking. */
  contextDigests: ReadonlyMap<string, string>;
  /** Puts the content of every context file on disk; await it before reading any (a cached step reads none). */
  contextReady(): Promise<void>;
  ignore: PatternMatcher;
  escape: string;
  /** Global ARG values (before the first FROM), after build args. */
  metaEnv: Map<string, string>;
  /** Build args some ARG declared. */
  consumedArgs: Set<string>;
  /** The result image of an earlier stage, by name or index (awaits it). */
  stageResult(ref: string): Promise<StageResult> | undefined;
  totalSteps: number;
  signal: AbortSignal;
  scratchDir: string;
}

type RunMountSpec =
  | { type: 'cache'; target: string; id: string }
  | { type: 'bind'; target: string; source: string; readOnly: boolean; from?: string }
  | { type: 'tmpfs'; target: string; size?: number };

export interface StageResult {
  imageId: string;
  config: OciImageConfig;
}

class StepError extends SystemError {
  constructor(message: string, readonly code?: number) {
    super(message);
  }
}
export { StepError };

function short(id: string): string {
  return id.replace(/^sha256:/, '').slice(0, 12);
}

/** Go's %q of a []string: ["a" "b"]. */
function goQuoted(list: readonly string[]): string {
  return `[${list.map((s) => JSON.stringify(s)).join(' ')}]`;
}

/** Go's time.Duration String() for whole nanoseconds. */
export function goDuration(ns: number): string {
  if (ns === 0) return '0s';
  if (ns < 1e3) return `${ns}ns`;
  if (ns < 1e6) return `${trimZeros(ns / 1e3)}µs`;
  if (ns < 1e9) return `${trimZeros(ns / 1e6)}ms`;
  let s = ns / 1e9;
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  const sec = `${trimZeros(Math.round(s * 1e9) / 1e9)}s`;
  if (h > 0) return `${h}h${m}m${sec}`;
  if (m > 0) return `${m}m${sec}`;
  return sec;
}

function trimZeros(n: number): string {
  return String(Number(n.toFixed(9)));
}

function envMap(env: readonly string[] | null | undefined): Map<string, string> {
  const m = new Map<string, string>();
  for (const e of env ?? []) {
    const eq = e.indexOf('=');
    m.set(eq === -1 ? e : e.slice(0, eq), eq === -1 ? '' : e.slice(eq + 1));
  }
  return m;
}

function setEnv(env: string[], key: string, value: string): string[] {
  const out = env.filter((e) => e.split('=', 1)[0] !== key);
  const i = env.findIndex((e) => e.split('=', 1)[0] === key);
  if (i === -1) return [...env, `${key}=${value}`];
  out.splice(i, 0, `${key}=${value}`);
  return out;
}

function clone<T>(v: T): T {
  return JSON.parse(JSON.stringify(v)) as T;
}

export class StageBuilder {
  private imageId = '';
  private config!: OciImageConfig;
  /** ARGs declared in this stage and their values (undefined: declared without a value). */
  private args = new Map<string, string | undefined>();
  private cmdSet = false;
  private step: number;

  constructor(
    private readonly job: BuildJob,
    private readonly stage: Stage,
    firstStep: number,
    private readonly out: StageOutput,
    private readonly extra: Command[] = [],
    private readonly log?: BuilderDeps['log'],
  ) {
    this.step = firstStep;
  }

  private get c(): ImageConfig {
    return (this.config.config ??= {});
  }

  private get shell(): string[] {
    return this.c.Shell && this.c.Shell.length > 0 ? this.c.Shell : DEFAULT_SHELL;
  }

  /** The environment for substitution: declared ARGs with values, overridden by ENV. */
  private get env(): Env {
    const m = new Map<string, string>();
    for (const [k, v] of this.args) if (v !== undefined) m.set(k, v);
    for (const [k, v] of envMap(this.c.Env)) m.set(k, v);
    return m;
  }

  private word(s: string): string {
    return processWord(s, this.env, this.job.escape);
  }

  private printStep(original: string): void {
    this.out.stream(`Step ${this.step++}/${this.job.totalSteps} : ${original}\n`);
  }

  async run(): Promise<StageResult> {
    const from = this.stage.from;
    this.printStep(from.original);
    await this.from();
    // ONBUILD triggers of the base run as part of the FROM step, as in the classic builder.
    await this.runTriggers();
    this.out.stream(` ---> ${short(this.imageId)}\n`);
    for (const cmd of [...this.stage.commands, ...this.extra]) {
      if (this.job.signal.aborted) throw this.job.signal.reason instanceof Error ? this.job.signal.reason : new Error('build canceled');
      this.printStep(cmd.original);
      const t0 = performance.now();
      await this.dispatch(cmd);
      this.log?.('debug', `build: step ${this.step - 1} (${cmd.kind}) took ${(performance.now() - t0).toFixed(1)} ms`);
      this.out.stream(` ---> ${short(this.imageId)}\n`);
    }
    if (!this.imageId) await this.ensureImage();
    return { imageId: this.imageId, config: this.config };
  }

  // ---- FROM ------------------------------------------------------------------------

  private async from(): Promise<void> {
    const from = this.stage.from;
    const name = processWord(from.image, this.job.metaEnv, this.job.escape);
    if (name === '') throw new InvalidParameterError(`base name (${from.image}) should not be blank`);
    const platform = this.job.settings.platform ?? hostPlatform();
    const earlier = this.job.stageResult(name.toLowerCase());
    if (earlier) {
      const r = await earlier;
      this.imageId = r.imageId;
      this.config = clone(r.config);
    } else if (name === 'scratch') {
      this.imageId = '';
      this.config = {
        architecture: platform.architecture,
        os: platform.os,
        ...(platform.variant ? { variant: platform.variant } : {}),
        config: { Env: [`PATH=${DEFAULT_PATH}`] },
        rootfs: { type: 'layers', diff_ids: [] },
        history: [],
      };
    } else {
      const img = await this.baseImage(name);
      this.imageId = img.id;
      this.config = clone(img.config);
    }
    delete this.config.created;
    this.config.history ??= [];
    const cfg = this.c;
    if (!envMap(cfg.Env).has('PATH')) cfg.Env = [...(cfg.Env ?? []), `PATH=${DEFAULT_PATH}`];
  }

  /** An image from the store, pulled when missing (or always with --pull). */
  private async baseImage(ref: string): Promise<ImageRecord> {
    const { deps, settings } = this.job;
    let img = settings.pull ? undefined : await deps.images.resolve(ref).catch(() => undefined);
    if (img) return img;
    if (deps.pull) {
      try {
        for await (const msg of await deps.pull(ref, this.job.signal)) {
          if (msg.error) throw new StepError(msg.error);
          if (msg.status && !msg.progressDetail) this.out.stream(`${msg.id ? `${msg.id}: ` : ''}${msg.status}\n`);
        }
      } catch (err) {
        // --pull of an image that is only local: use it, as docker does when the registry lacks it.
        img = await deps.images.resolve(ref).catch(() => undefined);
        if (img) return img;
        throw err;
      }
    }
    img = await deps.images.resolve(ref).catch(() => undefined);
    if (!img) throw new NotFoundError(`pull access denied for ${ref}, repository does not exist or may require 'docker login': No such image: ${ref}`);
    return img;
  }

  private async runTriggers(): Promise<void> {
    const triggers = this.c.OnBuild ?? [];
    if (triggers.length === 0) return;
    this.out.stream(`# Executing ${triggers.length} build trigger${triggers.length === 1 ? '' : 's'}\n`);
    this.c.OnBuild = null;
    for (const t of triggers) {
      const cmd = parseTrigger(t, this.job.escape, this.stage.from.line);
      await this.dispatch(cmd);
    }
  }

  // ---- dispatch --------------------------------------------------------------------

  private async dispatch(cmd: Command): Promise<void> {
    const c = this.c;
    switch (cmd.kind) {
      case 'env': {
        const parts: string[] = [];
        for (const p of cmd.pairs) {
          const key = this.word(p.key);
          const value = this.word(p.value);
          c.Env = setEnv(c.Env ?? [], key, value);
          parts.push(`${key}=${value}`);
        }
        return this.commitConfig(`ENV ${parts.join(' ')}`);
      }
      case 'label': {
        const parts: string[] = [];
        for (const p of cmd.pairs) {
          const key = this.word(p.key);
          const value = this.word(p.value);
          c.Labels = { ...(c.Labels ?? {}), [key]: value };
          parts.push(`${key}=${value}`);
        }
        return this.commitConfig(`LABEL ${parts.join(' ')}`);
      }
      case 'arg': {
        const parts: string[] = [];
        for (const a of cmd.args) {
          let value: string | undefined;
          if (this.job.settings.buildArgs.has(a.key)) {
            value = this.job.settings.buildArgs.get(a.key);
            this.job.consumedArgs.add(a.key);
          }
          if (value === undefined && a.value !== undefined) value = this.word(a.value);
          if (value === undefined) value = this.job.metaEnv.get(a.key);
          this.args.set(a.key, value);
          parts.push(a.value !== undefined ? `${a.key}=${this.word(a.value)}` : a.key);
        }
        return this.commitConfig(`ARG ${parts.join(' ')}`);
      }
      case 'workdir': {
        let path = this.word(cmd.path);
        if (!path.startsWith('/')) path = posix.join(c.WorkingDir || '/', path);
        c.WorkingDir = path;
        return this.commitConfig(`WORKDIR ${path}`);
      }
      case 'user':
        c.User = this.word(cmd.user);
        return this.commitConfig(`USER ${c.User}`);
      case 'expose': {
        const ports = cmd.ports.flatMap((p) => processWords(p, this.env, this.job.escape));
        c.ExposedPorts = { ...(c.ExposedPorts ?? {}) };
        for (const p of ports) for (const k of exposedPorts(p)) c.ExposedPorts[k] = {};
        return this.commitConfig(`EXPOSE ${ports.join(' ')}`);
      }
      case 'volume': {
        const vols = cmd.volumes.map((v) => this.word(v));
        for (const v of vols) if (v.trim() === '') throw new InvalidParameterError('VOLUME specified can not be an empty string');
        c.Volumes = { ...(c.Volumes ?? {}) };
        for (const v of vols) c.Volumes[v] = {};
        return this.commitConfig(`VOLUME [${vols.join(' ')}]`);
      }
      case 'stopsignal': {
        const sig = this.word(cmd.signal);
        try {
          normalizeSignal(sig);
        } catch {
          throw new InvalidParameterError(`Invalid signal: ${sig}`);
        }
        c.StopSignal = sig;
        return this.commitConfig(`STOPSIGNAL ${sig}`);
      }
      case 'cmd': {
        c.Cmd = cmd.cmd.json ? cmd.cmd.args : [...this.shell, cmd.cmd.text];
        this.cmdSet = true;
        return this.commitConfig(`CMD ${goQuoted(c.Cmd)}`);
      }
      case 'entrypoint': {
        c.Entrypoint = cmd.cmd.json ? cmd.cmd.args : cmd.cmd.text === '' ? [] : [...this.shell, cmd.cmd.text];
        if (!this.cmdSet) c.Cmd = null;
        return this.commitConfig(`ENTRYPOINT ${goQuoted(c.Entrypoint)}`);
      }
      case 'shell':
        c.Shell = cmd.shell;
        return this.commitConfig(`SHELL [${cmd.shell.join(' ')}]`);
      case 'healthcheck':
        c.Healthcheck = healthConfig(cmd);
        return this.commitConfig(`HEALTHCHECK ${healthText(c.Healthcheck)}`);
      case 'onbuild': {
        const m = /^(\S+)([\s\S]*)$/.exec(cmd.expression)!;
        const trigger = m[1]!.toUpperCase() + m[2]!;
        c.OnBuild = [...(c.OnBuild ?? []), trigger];
        return this.commitConfig(`ONBUILD ${trigger}`);
      }
      case 'maintainer':
        this.config.author = cmd.name;
        return this.commitConfig(`MAINTAINER ${cmd.name}`);
      case 'run':
        return this.runStep(cmd);
      case 'copy':
      case 'add':
        return this.copyStep(cmd);
    }
  }

  // ---- committing ------------------------------------------------------------------

  /** The history/cache text of a metadata step, as the classic builder records it. */
  private nop(comment: string): string {
    return `${this.shell.join(' ')} #(nop)  ${comment}`;
  }

  private async lookupCache(key: string): Promise<boolean> {
    if (this.job.settings.noCache) return false;
    const hit = await this.job.cache.lookup(key, async (id) => (await this.job.deps.images.get(id)) !== undefined);
    let img = hit ? await this.job.deps.images.get(hit.imageId) : undefined;
    if (!img) {
      img = await this.fromCacheImages();
      // Remember the match, so the next build finds it without --cache-from.
      if (img) await this.job.cache.store({ key, imageId: img.id, description: this.lastCreatedBy, size: 0, parent: this.imageId });
    }
    if (!img) return false;
    this.out.stream(' ---> Using cache\n');
    this.imageId = img.id;
    this.config = clone(img.config);
    return true;
  }

  private lastCreatedBy = '';

  /** --cache-from: an image (or an ancestor) whose history continues ours with this very step. */
  private async fromCacheImages(): Promise<ImageRecord | undefined> {
    const { cacheFrom } = this.job.settings;
    if (cacheFrom.length === 0) return undefined;
    const mine = this.config.history ?? [];
    const myLayers = this.config.rootfs.diff_ids;
    for (const ref of cacheFrom) {
      let img = await this.job.deps.images.resolve(ref).catch(() => undefined);
      while (img) {
        const h = img.config.history ?? [];
        if (h.length === mine.length + 1 && h[mine.length]!.created_by === this.lastCreatedBy && mine.every((e, i) => e.created_by === h[i]!.created_by)) {
          const theirs = img.config.rootfs.diff_ids;
          const added = h[mine.length]!.empty_layer ? 0 : 1;
          if (theirs.length === myLayers.length + added && myLayers.every((d, i) => d === theirs[i])) return img;
        }
        img = img.parent ? await this.job.deps.images.get(img.parent) : undefined;
      }
    }
    return undefined;
  }

  private async commitConfig(comment: string, force = false): Promise<void> {
    const createdBy = this.nop(comment);
    this.lastCreatedBy = createdBy;
    const key = cacheKey({ parent: this.imageId, instruction: createdBy });
    if (!force && (await this.lookupCache(key))) return;
    await this.commit(createdBy, undefined, key, 0);
  }

  /** FROM scratch has no image yet: store its (empty) config so a container or a stage can refer to it. */
  private async ensureImage(): Promise<void> {
    const config = clone(this.config);
    config.created = new Date().toISOString();
    const img = await this.job.deps.images.createImage(config, {});
    this.imageId = img.id;
    this.config = clone(img.config);
  }

  /** Stores the next image: the current config plus a history entry, and a layer when given. */
  private async commit(createdBy: string, diffId: string | undefined, key: string, size: number): Promise<void> {
    const created = new Date().toISOString();
    const config = clone(this.config);
    config.created = created;
    config.history = [...(config.history ?? []), { created, created_by: createdBy, ...(diffId ? {} : { empty_layer: true }) }];
    if (diffId) config.rootfs = { type: 'layers', diff_ids: [...config.rootfs.diff_ids, diffId] };
    const platform = this.job.settings.platform;
    if (platform) {
      config.os = platform.os;
      config.architecture = platform.architecture;
    }
    const img = await this.job.deps.images.createImage(config, this.imageId ? { parent: this.imageId } : {});
    await this.job.cache.store({ key, imageId: img.id, description: createdBy, size, parent: this.imageId });
    this.imageId = img.id;
    this.config = clone(img.config);
  }

  private topChain(): string | undefined {
    const ids = this.config.rootfs.diff_ids;
    if (ids.length === 0) return undefined;
    let chain = ids[0]!;
    for (const d of ids.slice(1)) chain = 'sha256:' + createHash('sha256').update(`${chain} ${d}`).digest('hex');
    return chain;
  }

  /** Imports a layer tar on top of the current image and commits it as the next image. */
  private async commitLayer(tar: Readable, createdBy: string, key: string): Promise<void> {
    const parent = this.topChain();
    const layer = await this.job.deps.images.importLayer(tar, { ...(parent ? { parent } : {}), signal: this.job.signal });
    try {
      await this.commit(createdBy, layer.diffId, key, layer.size);
    } finally {
      layer.release();
    }
  }

  // ---- RUN -------------------------------------------------------------------------

  private async runStep(cmd: RunCmd): Promise<void> {
    let argv: string[];
    if (cmd.cmd.json) {
      argv = cmd.cmd.args;
    } else if (cmd.heredocs.length === 1 && /^\d*<<-?\s*["']?[^\s]+["']?$/.test(cmd.cmd.text.trim())) {
      // `RUN <<EOF` alone: the body is the script.
      argv = [...this.shell, cmd.heredocs[0]!.content];
    } else if (cmd.heredocs.length > 0) {
      // Heredocs with a command: the shell reads them itself.
      argv = [...this.shell, `${cmd.cmd.text}\n${cmd.heredocs.map((h) => `${h.content}${h.name}\n`).join('')}`];
    } else {
      argv = [...this.shell, cmd.cmd.text];
    }
    // Build args in use reach the command's environment and the cache key ("|N k=v …").
    const env = envMap(this.c.Env);
    const argEnv: string[] = [];
    for (const [k, v] of [...this.args].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      if (v !== undefined && !env.has(k)) argEnv.push(`${k}=${v}`);
    }
    const proxies: string[] = [];
    for (const p of PROXY_ARGS) {
      const v = this.job.settings.buildArgs.get(p);
      if (v !== undefined && !this.args.has(p) && !env.has(p)) {
        proxies.push(`${p}=${v}`);
        this.job.consumedArgs.add(p);
      }
    }
    const createdBy = (argEnv.length > 0 ? `|${argEnv.length} ${argEnv.join(' ')} ` : '') + argv.join(' ');
    this.lastCreatedBy = createdBy;
    const network = cmd.network && cmd.network !== 'default' ? cmd.network : this.job.settings.networkMode;
    const mountSpecs = cmd.mounts.map((m) => this.parseRunMount(m));
    if (mountSpecs.some((m) => m.type === 'bind' && m.from === undefined)) await this.job.contextReady();
    const mountKeys: string[] = [];
    for (const m of mountSpecs) mountKeys.push(`${JSON.stringify(m)}:${m.type === 'bind' && m.from === undefined ? await checksumPath(resolvedInRoot(this.job.contextDir, m.source)).catch(() => 'missing') : ''}`);
    const key = cacheKey({ parent: this.imageId, instruction: createdBy, extra: { network, mounts: mountKeys.join('\n') } });
    if (await this.lookupCache(key)) return;
    const releases: Array<() => Promise<void>> = [];
    try {
      const mounts = await this.prepareRunMounts(mountSpecs, releases);
      await this.execRun(argv, argEnv, proxies, network, mounts, createdBy, key);
    } finally {
      for (const r of releases) await r();
    }
  }

  /** One RUN --mount option list, values expanded (type=cache|bind|tmpfs). */
  private parseRunMount(spec: string): RunMountSpec {
    const fields = new Map<string, string>();
    for (const part of spec.split(',')) {
      const eq = part.indexOf('=');
      const k = (eq === -1 ? part : part.slice(0, eq)).trim().toLowerCase();
      fields.set(k, eq === -1 ? 'true' : this.word(part.slice(eq + 1)));
    }
    const type = fields.get('type') ?? 'bind';
    if (!['cache', 'bind', 'tmpfs'].includes(type)) {
      throw new InvalidParameterError(`RUN --mount=type=${type} is not supported by berth's classic builder (cache, bind and tmpfs are)`);
    }
    let target = fields.get('target') ?? fields.get('dst') ?? fields.get('destination');
    if (!target) throw new InvalidParameterError(`mount target is required: --mount=${spec}`);
    if (!target.startsWith('/')) target = posix.join(this.c.WorkingDir || '/', target);
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
        throw new InvalidParameterError(`RUN --mount=type=${type} is not supported by berth's classic builder (cache, bind and tmpfs are)`);
    }
  }

  private async prepareRunMounts(specs: RunMountSpec[], releases: Array<() => Promise<void>>): Promise<NonNullable<RunStepOptions['mounts']>> {
    const out: NonNullable<RunStepOptions['mounts']> = [];
    for (const m of specs) {
      if (m.type === 'cache') {
        // A directory of the builder's own per cache id, kept between builds and never in a layer.
        const dir = join(this.job.deps.root, 'cache-mounts', createHash('sha256').update(m.id).digest('hex').slice(0, 32));
        await mkdir(dir, { recursive: true, mode: 0o755 });
        out.push({ type: 'bind', source: dir, target: m.target, readOnly: false });
      } else if (m.type === 'bind') {
        let root = this.job.contextDir;
        if (m.from !== undefined) {
          const mounted = await this.mountFrom(m.from);
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

  private async execRun(argv: string[], argEnv: string[], proxies: string[], network: string, mounts: NonNullable<RunStepOptions['mounts']>, createdBy: string, key: string): Promise<void> {
    if (!this.imageId) await this.ensureImage();

    const { steps } = this.job.deps;
    let containerId = '';
    const s = this.job.settings;
    const result = await steps.run({
      image: this.imageId,
      cmd: argv,
      env: [...(this.c.Env ?? []), ...argEnv, ...proxies],
      workdir: this.c.WorkingDir ?? '',
      user: this.c.User ?? '',
      networkMode: network === 'default' ? 'default' : network,
      extraHosts: s.extraHosts,
      ...(s.memory ? { memory: s.memory } : {}),
      ...(s.shmSize ? { shmSize: s.shmSize } : {}),
      onCreated: (id, warnings) => {
        containerId = id;
        for (const w of warnings) this.out.stream(` ---> [Warning] ${w}\n`);
        this.out.stream(` ---> Running in ${short(id)}\n`);
      },
      onOutput: (_stream, data) => this.out.stream(data.toString('utf8')),
      signal: this.job.signal,
      ...(mounts.length ? { mounts } : {}),
    });
    try {
      if (result.exitCode !== 0) {
        throw new StepError(`The command '${argv.join(' ')}' returned a non-zero code: ${result.exitCode}`, result.exitCode);
      }
      const diff = await result.diff();
      try {
        await this.commitLayer(diff.stream, createdBy, key);
      } finally {
        await diff.release();
      }
    } finally {
      if (s.rm || s.forceRm) {
        await steps.remove(containerId).catch((err) => this.out.stream(`Removing intermediate container ${short(containerId)}: ${errorMessage(err)}\n`));
        this.out.stream(` ---> Removed intermediate container ${short(containerId)}\n`);
      }
    }
  }

  // ---- COPY / ADD ------------------------------------------------------------------

  private async copyStep(cmd: CopyCmd): Promise<void> {
    const what = cmd.kind.toUpperCase();
    const env = this.env;
    const expand = (s: string) => processWord(s, env, this.job.escape);
    const sources = cmd.sources.map(expand);
    const destRaw = expand(cmd.dest);
    const workdir = this.c.WorkingDir || '/';
    let dest = destRaw.startsWith('/') ? destRaw : posix.join(workdir, destRaw) + (destRaw.endsWith('/') || destRaw === '.' ? '/' : '');
    if (destRaw === '.' || destRaw === './') dest = workdir.endsWith('/') ? workdir : workdir + '/';
    const chown = cmd.chown !== undefined ? expand(cmd.chown) : undefined;
    const chmodText = cmd.chmod !== undefined ? expand(cmd.chmod) : undefined;
    if (chmodText !== undefined && !/^[0-7]{1,4}$/.test(chmodText)) {
      throw new InvalidParameterError(`invalid chmod parameter: '${chmodText}'. it should be octal string and between 0 and 07777`);
    }
    const mode = chmodText !== undefined ? parseInt(chmodText, 8) : undefined;

    // Where the sources come from: the context, another stage, or an image.
    let srcRoot = this.job.contextDir;
    let fromContext = true;
    let release: (() => Promise<void>) | undefined;
    // A directory .dockerignore excludes is still entered when an exception may bring something below it back.
    const ignore = this.job.ignore;
    let excluded = (rel: string, isDir: boolean) => ignore.matches(rel) && !(isDir && ignore.mayIncludeUnder(rel));
    if (cmd.from !== undefined) {
      const mounted = await this.mountFrom(cmd.from);
      srcRoot = mounted.dir;
      release = mounted.release;
      fromContext = false;
      excluded = () => false;
    }
    const scratch = join(this.job.scratchDir, `src-${randomBytes(6).toString('hex')}`);
    try {
      // Resolve every source and checksum it for the cache key.
      interface Src { path: string; rel: string; isDir: boolean; name: string; url?: string; archive?: boolean }
      const resolved: Src[] = [];
      const hashes: string[] = [];
      // ADD looks into local files for archives.
      if (cmd.kind === 'add' && fromContext) await this.job.contextReady();
      for (const [i, s] of sources.entries()) {
        const heredoc = cmd.heredocs.find((h) => s === `<<${h.name}` || s === `<<-${h.name}` || new RegExp(`^\\d*<<-?["']?${h.name}["']?$`).test(cmd.sources[i]!));
        if (heredoc) {
          await mkdir(scratch, { recursive: true });
          const file = join(scratch, heredoc.name);
          await writeFile(file, heredoc.expand ? processWord(heredoc.content, env, '\\') : heredoc.content, { mode: 0o644 });
          await chmod(file, 0o644);
          resolved.push({ path: file, rel: '', isDir: false, name: heredoc.name });
          hashes.push(`file:${await checksumPath(file)}`);
          continue;
        }
        if (/^https?:\/\//i.test(s)) {
          if (cmd.kind === 'copy') throw new InvalidParameterError(`${what} failed: source can't be a URL for COPY`);
          await mkdir(scratch, { recursive: true });
          const { file, name } = await download(s, scratch, this.job.signal);
          resolved.push({ path: file, rel: '', isDir: false, name, url: s });
          hashes.push(`file:${await checksumPath(file)}`);
          continue;
        }
        const matches = await expandSource(srcRoot, s, excluded);
        if (matches.length === 0) throw new InvalidParameterError(`${what} failed: no source files were specified`);
        for (const rel of matches) {
          const st = await statSource(srcRoot, rel, excluded, what);
          const src: Src = { path: st.path, rel, isDir: st.isDir, name: posix.basename(rel) };
          if (cmd.kind === 'add' && !st.isDir && (await isArchive(st.path))) src.archive = true;
          resolved.push(src);
          hashes.push(`${st.isDir ? 'dir' : 'file'}:${await checksumPath(st.path, excluded, rel, fromContext ? this.job.contextDigests : undefined)}`);
        }
      }
      if (resolved.length > 1 && !dest.endsWith('/')) {
        throw new InvalidParameterError(`When using ${what} with more than one source file, the destination must be a directory and end with a /`);
      }
      const srcHash = hashes.length === 1 ? hashes[0]! : `multi:${createHash('sha256').update(hashes.join(',')).digest('hex')}`;
      const createdBy = `${this.shell.join(' ')} #(nop) ${what} ${srcHash} in ${dest} `;
      this.lastCreatedBy = createdBy;
      const key = cacheKey({ parent: this.imageId, instruction: createdBy, extra: { chown: chown ?? '', chmod: chmodText ?? '' } });
      if (await this.lookupCache(key)) return;
      if (fromContext) await this.job.contextReady();

      await this.withSnapshot(async (root) => {
        const owner: Owner | undefined = chown !== undefined ? await resolveChown(root, chown) : undefined;
        for (const src of resolved) {
          const opts = { fromContext, ...(owner ? { owner } : {}), ...(mode !== undefined ? { mode } : {}), excluded };
          if (src.isDir) {
            // A directory's contents are copied, not the directory itself.
            const target = await mkdirInRoot(root, dest, owner);
            for (const name of (await readdir(src.path)).sort()) {
              const rel = src.rel === '' ? name : posix.join(src.rel, name);
              if (excluded(rel, (await lstat(join(src.path, name))).isDirectory())) continue;
              await copyEntry(join(src.path, name), rel, join(target, name), opts);
            }
            continue;
          }
          if (src.archive) {
            const target = await mkdirInRoot(root, dest, owner);
            const { stream } = await decompress((await open(src.path)).createReadStream());
            await applyLayer(stream, target);
            continue;
          }
          let targetRel: string;
          if (dest.endsWith('/')) targetRel = posix.join(dest, src.name);
          else {
            const existing = await lstat(resolvedInRoot(root, dest)).catch(() => undefined);
            targetRel = existing?.isDirectory() ? posix.join(dest, src.name) : dest;
          }
          await mkdirInRoot(root, posix.dirname(targetRel), owner);
          const target = inRoot(root, targetRel);
          await copyEntry(src.path, '', target, { ...opts, ...(src.url ? { mode: mode ?? 0o600 } : {}) });
        }
      }, createdBy, key);
    } finally {
      await rm(scratch, { recursive: true, force: true });
      if (release) await release();
    }
  }

  /** Runs `fn` on a writable snapshot of the current image, then commits what changed as a layer. */
  private async withSnapshot(fn: (root: string) => Promise<void>, createdBy: string, key: string): Promise<void> {
    const { snapshotter } = this.job.deps;
    const snapKey = `berth-build-${randomBytes(8).toString('hex')}`;
    const mountpoint = join(this.job.scratchDir, `mnt-${randomBytes(6).toString('hex')}`);
    const mounts = await snapshotter.prepare(snapKey, this.topChain(), { 'berth.build': '1' });
    try {
      await mkdir(mountpoint, { recursive: true });
      await mountAll(mounts, mountpoint);
      try {
        await fn(mountpoint);
      } finally {
        await unmountIfMounted(mountpoint);
      }
      const diff = await snapshotDiff(snapshotter, snapKey);
      try {
        await this.commitLayer(diff.stream, createdBy, key);
      } finally {
        await diff.release();
      }
    } finally {
      await unmountIfMounted(mountpoint).catch(() => {});
      await rm(mountpoint, { recursive: true, force: true }).catch(() => {});
      await snapshotter.remove(snapKey).catch(() => {});
    }
  }

  /** COPY --from: a read-only view of a stage's or an image's filesystem. */
  private async mountFrom(ref: string): Promise<{ dir: string; release: () => Promise<void> }> {
    const stage = this.job.stageResult(ref.toLowerCase());
    let diffIds: string[];
    if (stage) {
      diffIds = (await stage).config.rootfs.diff_ids;
    } else {
      diffIds = (await this.baseImage(ref)).config.rootfs.diff_ids;
    }
    const dir = join(this.job.scratchDir, `from-${randomBytes(6).toString('hex')}`);
    await mkdir(dir, { recursive: true });
    if (diffIds.length === 0) return { dir, release: () => rm(dir, { recursive: true, force: true }) };
    let chain = diffIds[0]!;
    for (const d of diffIds.slice(1)) chain = 'sha256:' + createHash('sha256').update(`${chain} ${d}`).digest('hex');
    const { snapshotter } = this.job.deps;
    const key = `berth-build-view-${randomBytes(8).toString('hex')}`;
    const mounts = await snapshotter.view(key, chain);
    await mountAll(mounts, dir);
    return {
      dir,
      release: async () => {
        await unmountIfMounted(dir).catch(() => {});
        await rm(dir, { recursive: true, force: true }).catch(() => {});
        await snapshotter.remove(key).catch(() => {});
      },
    };
  }
}

function exposedPorts(spec: string): string[] {
  const [portPart = '', proto = 'tcp'] = spec.split('/', 2);
  // [ip:][hostport:]port — only the container port counts.
  const port = portPart.split(':').pop()!;
  const m = /^(\d+)(?:-(\d+))?$/.exec(port);
  if (!m) throw new InvalidParameterError(`Invalid containerPort: ${port}`);
  const start = Number(m[1]);
  const end = m[2] !== undefined ? Number(m[2]) : start;
  if (end < start) throw new InvalidParameterError(`Invalid range specified for the Port: ${port}`);
  const out: string[] = [];
  for (let p = start; p <= end; p++) out.push(`${p}/${proto.toLowerCase()}`);
  return out;
}

function healthConfig(cmd: HealthcheckCmd): HealthConfig {
  const h: HealthConfig = { Test: cmd.test };
  if (cmd.interval !== undefined) h.Interval = cmd.interval;
  if (cmd.timeout !== undefined) h.Timeout = cmd.timeout;
  if (cmd.startPeriod !== undefined) h.StartPeriod = cmd.startPeriod;
  if (cmd.startInterval !== undefined) h.StartInterval = cmd.startInterval;
  if (cmd.retries !== undefined) h.Retries = cmd.retries;
  return h;
}

/** Go's %q of the HealthConfig struct pointer, as the classic builder records it. */
function healthText(h: HealthConfig): string {
  const d = (n?: number) => JSON.stringify(goDuration(n ?? 0));
  const retries = h.Retries ?? 0;
  const r = retries < 16 ? `'\\x0${retries.toString(16)}'` : retries < 256 ? `'\\x${retries.toString(16)}'` : `'${String.fromCodePoint(retries)}'`;
  return `&{${goQuoted(h.Test ?? [])} ${d(h.Interval)} ${d(h.Timeout)} ${d(h.StartPeriod)} ${d(h.StartInterval)} ${r}}`;
}

/** A local file ADD unpacks: a tar, plain or compressed. */
async function isArchive(path: string): Promise<boolean> {
  const fh = await open(path);
  try {
    const buf = Buffer.alloc(512);
    const { bytesRead } = await fh.read(buf, 0, 512, 0);
    const head = buf.subarray(0, bytesRead);
    if (head.length >= 262 && head.subarray(257, 262).toString() === 'ustar') return true;
    if (head[0] === 0x1f && head[1] === 0x8b) return true; // gzip
    if (head.subarray(0, 3).toString() === 'BZh') return true;
    if (head.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) return true; // xz
    if (head.subarray(0, 4).equals(Buffer.from([0x28, 0xb5, 0x2f, 0xfd]))) return true; // zstd
    return false;
  } finally {
    await fh.close();
  }
}

/** ADD <url>: the file named after the URL's last path component, mtime from Last-Modified. */
async function download(url: string, dir: string, signal: AbortSignal): Promise<{ file: string; name: string }> {
  let res: Response;
  try {
    res = await fetch(url, { signal, redirect: 'follow' });
  } catch (err) {
    throw new InvalidParameterError(`failed to fetch ${url}: ${errorMessage(err)}`);
  }
  if (!res.ok || !res.body) throw new InvalidParameterError(`failed to GET ${url} with status ${res.status} ${res.statusText}: ${await res.text().catch(() => '')}`.trim());
  const base = posix.basename(new URL(url).pathname);
  const name = base && base !== '/' ? base : '__unnamed__';
  const file = join(dir, `download-${randomBytes(4).toString('hex')}`);
  await pipeline(Readable.fromWeb(res.body as import('node:stream/web').ReadableStream), createWriteStream(file, { mode: 0o600 }));
  await chmod(file, 0o600);
  await lchown(file, 0, 0);
  const lm = res.headers.get('last-modified');
  const t = lm ? new Date(lm) : new Date(0);
  if (!Number.isNaN(t.getTime())) await utimes(file, t, t);
  return { file, name };
}
