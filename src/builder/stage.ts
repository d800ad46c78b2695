import { randomBytes } from 'node:crypto';
import { lstat, mkdir, rm } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { Readable } from 'node:stream';
import { snapshotDiff } from '../archive/index.js';
import { mkdirAllInRoot, resolveInRoot } from '../archive/in-root.js';
import { InvalidParameterError, NotFoundError, errorMessage } from '../errors/index.js';
import type { ImageRecord, OciImageConfig } from '../image/image-store.js';
import { hostPlatform } from '../image/platform.js';
import { normalizeSignal } from '../container/index.js';
import type { ImageConfig } from '../types/engine.js';
import { mountAll, unmountIfMounted } from '../util/mount.js';
import type { BuilderDeps } from './backend.js';
import { baseImage, chainId, fromPlatform, mountLayers, platformWarning } from './base-image.js';
import { DEFAULT_PATH, DEFAULT_SHELL, StepError, clone, envMap, removesStepContainers, short, type BuildJob, type StageOutput, type StageResult, type StepHost } from './build-job.js';
import { cacheKey } from './cache.js';
import { CacheFromImages } from './cache-from.js';
import { copyStep } from './copy-step.js';
import { exposedPorts, goQuoted, healthConfig, healthText } from './history-text.js';
import { parseTrigger, type Command, type Stage } from './instructions.js';
import { runStep } from './run-instruction.js';
import { processWord, processWords, type Env } from './shell-lex.js';

// One stage, instruction by instruction, as dockerd 20.10's classic builder
// evaluates it: every step starts from the image the previous step produced
// and produces a new image whose parent is that one, or reuses a cached one
// when its key matches. A config instruction (ENV, LABEL, …) changes the
// config in a container that is created but never run, as dockerd does, and
// WORKDIR makes its directory in that container's filesystem; RUN (see
// run-instruction.ts) and COPY/ADD (copy-step.ts) make layers. An empty
// change is recorded as an empty_layer history entry, as dockerd records it.

/** The empty tar's first block: all zeros, the end-of-archive marker. */
async function peekEmptyTar(src: Readable): Promise<{ empty: boolean; stream: Readable }> {
  const it = src[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  const head: Buffer[] = [];
  let len = 0;
  let ended = false;
  while (len < 512) {
    const r = await it.next();
    if (r.done) {
      ended = true;
      break;
    }
    head.push(r.value);
    len += r.value.length;
  }
  const first = Buffer.concat(head);
  const empty = first.length < 512 || first.subarray(0, 512).every((b) => b === 0);
  async function* rest() {
    yield first;
    if (ended) return;
    for (;;) {
      const r = await it.next();
      if (r.done) return;
      yield r.value;
    }
  }
  return { empty, stream: Readable.from(rest()) };
}

export class StageBuilder implements StepHost {
  imageId = '';
  config!: OciImageConfig;
  /** ARGs declared in this stage and their values (undefined: declared without a value). */
  readonly args = new Map<string, string | undefined>();
  /** MAINTAINER of this stage: the author of the images it makes (not inherited from the base). */
  private maintainer = '';
  private cmdSet = false;
  private step: number;
  private readonly cacheFrom: CacheFromImages;

  constructor(
    readonly job: BuildJob,
    private readonly stage: Stage,
    firstStep: number,
    readonly out: StageOutput,
    private readonly extra: Command[] = [],
    private readonly log?: BuilderDeps['log'],
  ) {
    this.step = firstStep;
    this.cacheFrom = new CacheFromImages(job.deps.images, job.settings.cacheFrom, (msg) => log?.('debug', msg));
  }

  get runConfig(): ImageConfig {
    return (this.config.config ??= {});
  }

  get shell(): string[] {
    const s = this.runConfig.Shell;
    return s && s.length > 0 ? s : DEFAULT_SHELL;
  }

  /** The environment for substitution: declared ARGs with values, overridden by ENV. */
  env(): Env {
    const m = new Map<string, string>();
    for (const [k, v] of this.args) if (v !== undefined) m.set(k, v);
    for (const [k, v] of envMap(this.runConfig.Env)) m.set(k, v);
    return m;
  }

  word(s: string): string {
    return processWord(s, this.env(), this.job.escape);
  }

  private printStep(original: string): void {
    // dockerd writes the newline as a message of its own.
    this.out.stream(`Step ${this.step++}/${this.job.totalSteps} : ${original}`);
    this.out.stream('\n');
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
    this.out.message({ aux: { ID: this.imageId } });
    return { imageId: this.imageId, config: this.config };
  }

  // ---- FROM ------------------------------------------------------------------------

  private async from(): Promise<void> {
    const from = this.stage.from;
    const name = processWord(from.image, this.job.metaEnv, this.job.escape);
    if (name === '') throw new InvalidParameterError(`base name (${from.image}) should not be blank`);
    const platform = from.platform !== undefined ? fromPlatform(processWord(from.platform, this.job.metaEnv, this.job.escape)) : undefined;
    const earlier = this.job.stageResult(name.toLowerCase());
    if (earlier) {
      const r = await earlier;
      this.imageId = r.imageId;
      this.config = clone(r.config);
    } else if (name === 'scratch') {
      // No image: the platform asked for (FROM --platform, else --platform, else the host's).
      const p = platform ?? this.job.settings.platform ?? hostPlatform();
      this.imageId = '';
      this.config = {
        architecture: p.architecture,
        os: p.os,
        ...(p.variant ? { variant: p.variant } : {}),
        config: { Env: [`PATH=${DEFAULT_PATH}`] },
        rootfs: { type: 'layers', diff_ids: [] },
        history: [],
      };
    } else {
      const img = await baseImage(this.job, this.out, name, platform);
      this.imageId = img.id;
      this.config = clone(img.config);
    }
    // What belongs to the base's own making (its commit comment, author, date) is not the child's.
    delete this.config.created;
    delete this.config.comment;
    delete this.config.author;
    this.config.history ??= [];
    const cfg = this.runConfig;
    if (!envMap(cfg.Env).has('PATH')) cfg.Env = [...(cfg.Env ?? []), `PATH=${DEFAULT_PATH}`];
  }

  private async runTriggers(): Promise<void> {
    const triggers = this.runConfig.OnBuild ?? [];
    if (triggers.length === 0) return;
    this.out.stream(`# Executing ${triggers.length} build trigger${triggers.length === 1 ? '' : 's'}\n`);
    this.runConfig.OnBuild = null;
    for (const t of triggers) {
      // A trigger that is no instruction fails here, without a line, as in dockerd.
      const cmd = parseTrigger(t, this.job.escape, 0);
      await this.dispatch(cmd);
    }
  }

  // ---- dispatch --------------------------------------------------------------------

  private async dispatch(cmd: Command): Promise<void> {
    const c = this.runConfig;
    switch (cmd.kind) {
      case 'env': {
        const parts: string[] = [];
        for (const p of cmd.pairs) {
          const key = this.word(p.key);
          const value = this.word(p.value);
          c.Env = setEnv(c.Env ?? [], key, value);
          parts.push(`${key}=${value}`);
        }
        return this.configStep(`ENV ${parts.join(' ')}`);
      }
      case 'label': {
        const parts: string[] = [];
        for (const p of cmd.pairs) {
          const key = cmd.literal ? p.key : this.word(p.key);
          const value = cmd.literal ? p.value : this.word(p.value);
          c.Labels = { ...(c.Labels ?? {}), [key]: value };
          parts.push(`${key}=${value}`);
        }
        return this.configStep(`LABEL ${parts.join(' ')}`);
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
        return this.configStep(`ARG ${parts.join(' ')}`);
      }
      case 'workdir': {
        let path = this.word(cmd.path);
        if (!path.startsWith('/')) path = posix.join(c.WorkingDir || '/', path);
        c.WorkingDir = posix.normalize(path);
        return this.workdirStep(c.WorkingDir);
      }
      case 'user':
        c.User = this.word(cmd.user);
        return this.configStep(`USER ${c.User}`);
      case 'expose': {
        // dockerd sorts the words as written, then expands them.
        const ports = [...cmd.ports].sort().flatMap((p) => processWords(p, this.env(), this.job.escape));
        c.ExposedPorts = { ...(c.ExposedPorts ?? {}) };
        for (const p of ports) for (const k of exposedPorts(p)) c.ExposedPorts[k] = {};
        return this.configStep(`EXPOSE ${ports.join(' ')}`);
      }
      case 'volume': {
        const vols = cmd.volumes.map((v) => this.word(v));
        for (const v of vols) if (v.trim() === '') throw new InvalidParameterError('VOLUME specified can not be an empty string');
        c.Volumes = { ...(c.Volumes ?? {}) };
        for (const v of vols) c.Volumes[v] = {};
        return this.configStep(`VOLUME [${vols.join(' ')}]`);
      }
      case 'stopsignal': {
        const sig = this.word(cmd.signal);
        try {
          normalizeSignal(sig);
        } catch {
          throw new InvalidParameterError(`Invalid signal: ${sig}`);
        }
        c.StopSignal = sig;
        return this.configStep(`STOPSIGNAL ${sig}`);
      }
      case 'cmd': {
        c.Cmd = cmd.cmd.json ? cmd.cmd.args : [...this.shell, cmd.cmd.text];
        this.cmdSet = true;
        return this.configStep(`CMD ${goQuoted(c.Cmd)}`);
      }
      case 'entrypoint': {
        c.Entrypoint = cmd.cmd.json ? cmd.cmd.args : cmd.cmd.text === '' ? [] : [...this.shell, cmd.cmd.text];
        if (!this.cmdSet) c.Cmd = null;
        return this.configStep(`ENTRYPOINT ${goQuoted(c.Entrypoint)}`);
      }
      case 'shell':
        c.Shell = cmd.shell;
        return this.configStep(`SHELL [${cmd.shell.join(' ')}]`);
      case 'healthcheck': {
        const previous = c.Healthcheck;
        if (previous?.Test?.length && previous.Test[0] !== 'NONE') this.out.stream(`Note: overriding previous HEALTHCHECK: [${previous.Test.join(' ')}]\n`);
        const next = healthConfig(cmd);
        const text = `HEALTHCHECK ${healthText(next)}`;
        // dockerd's container create fills the fields this one leaves unset from the
        // previous HEALTHCHECK, in the very config it then commits: the image keeps them.
        if (previous) {
          for (const f of ['Interval', 'Timeout', 'StartPeriod', 'Retries'] as const) if (!next[f] && previous[f]) next[f] = previous[f];
        }
        c.Healthcheck = next;
        return this.configStep(text);
      }
      case 'onbuild':
        c.OnBuild = [...(c.OnBuild ?? []), cmd.expression];
        return this.configStep(`ONBUILD ${cmd.expression}`);
      case 'maintainer':
        this.maintainer = cmd.name;
        this.config.author = cmd.name;
        return this.configStep(`MAINTAINER ${cmd.name}`);
      case 'run':
        return runStep(this, cmd);
      case 'copy':
      case 'add':
        return copyStep(this, cmd);
    }
  }

  // ---- config steps ----------------------------------------------------------------

  /**
   * A step that only changes the config: a cache hit, or a container created
   * with the history text as its command ("/bin/sh -c #(nop)  ENV A=b") and
   * removed again after the commit, as dockerd prints it.
   */
  private async configStep(comment: string): Promise<void> {
    const cmd = [...this.shell, '#(nop) ', comment];
    const createdBy = cmd.join(' ');
    const key = cacheKey({ parent: this.imageId, instruction: createdBy });
    if (await this.lookupCache(key, createdBy)) return;
    await this.inStepContainer(cmd, async () => undefined, () => this.commit(createdBy, undefined, key, 0));
  }

  /**
   * WORKDIR: the directory is made (root-owned, 0755, as dockerd makes it
   * whatever USER says) in the step container's filesystem and committed as
   * a layer; a directory that is there already leaves an empty_layer entry.
   * dockerd does this while it creates the container, so a path that cannot
   * be a directory fails before " ---> Running in" and leaves no container.
   */
  private async workdirStep(dir: string): Promise<void> {
    const comment = `WORKDIR ${dir}`;
    // dockerd joins this one into a single "#(nop) WORKDIR …" word: one space.
    const cmd = [...this.shell, `#(nop) ${comment}`];
    const createdBy = cmd.join(' ');
    const key = cacheKey({ parent: this.imageId, instruction: createdBy });
    if (await this.lookupCache(key, createdBy)) return;
    const { steps } = this.job.deps;
    const made = (id: string) =>
      steps.withRootfs(id, join(this.job.scratchDir, `rootfs-${randomBytes(6).toString('hex')}`), async (root) => {
        const existing = await lstat(resolveInRoot(root, dir)).catch(() => undefined);
        if (existing?.isDirectory()) return false;
        if (existing) throw new InvalidParameterError(`Cannot mkdir: ${dir} is not a directory`);
        mkdirAllInRoot(root, dir, { mode: 0o755, uid: 0, gid: 0 });
        return true;
      });
    await this.inStepContainer(cmd, made, async (id, created) => {
      if (!created) return this.commit(createdBy, undefined, key, 0);
      const diff = await steps.diff(id);
      try {
        await this.commitLayer(diff.stream, createdBy, key);
      } finally {
        await diff.release();
      }
    });
  }

  /**
   * Runs `body` with a step container (created, not started) and removes it
   * afterwards as removesStepContainers says. `setup` is part of the
   * creation: when it fails, the container goes and nothing is printed.
   */
  private async inStepContainer<T>(cmd: string[], setup: (id: string) => Promise<T>, body: (id: string, set: T) => Promise<void>): Promise<void> {
    if (!this.imageId) await this.ensureImage();
    const s = this.job.settings;
    const { id, warnings } = await this.job.deps.steps.create({
      image: this.imageId,
      config: this.runConfig,
      cmd,
      networkMode: s.networkMode,
      extraHosts: s.extraHosts,
      resources: s.resources,
    });
    let set: T;
    try {
      set = await setup(id);
    } catch (err) {
      await this.job.deps.steps.remove(id).catch(() => {});
      throw err;
    }
    const platform = platformWarning(this.config);
    for (const w of [...(platform ? [platform] : []), ...warnings]) this.out.stream(` ---> [Warning] ${w}\n`);
    this.out.stream(` ---> Running in ${short(id)}\n`);
    try {
      await body(id, set);
    } finally {
      if (removesStepContainers(s)) await this.removeContainer(id);
    }
  }

  async removeContainer(id: string): Promise<void> {
    try {
      await this.job.deps.steps.remove(id);
    } catch (err) {
      if (!(err instanceof NotFoundError)) {
        this.out.stream(`Removing intermediate container ${short(id)}: ${errorMessage(err)}\n`);
        return;
      }
    }
    this.out.stream(`Removing intermediate container ${short(id)}\n`);
  }

  // ---- the cache -------------------------------------------------------------------

  /**
   * A cached step: the image a step with the same key made before, or, with
   * --cache-from, one of those images (or a step of their history) when it
   * continues this build's history with this very step. As in dockerd, with
   * --cache-from a local hit counts only when it is in those images' chains.
   */
  async lookupCache(key: string, createdBy: string): Promise<boolean> {
    if (this.job.settings.noCache) return false;
    const hit = await this.job.cache.lookup(key, async (id) => (await this.job.deps.images.get(id)) !== undefined);
    let img = hit ? await this.job.deps.images.get(hit.imageId) : undefined;
    if (this.cacheFrom.enabled) {
      if (img && !(await this.cacheFrom.allows(img.id))) img = undefined;
      if (!img) {
        img = await this.cacheFrom.match(this.imageId, this.config, createdBy);
        // Remembered, so a build without --cache-from finds it too.
        if (img) await this.job.cache.store({ key, imageId: img.id, description: createdBy, size: 0, parent: this.imageId });
      }
    }
    if (!img) return false;
    this.out.stream(' ---> Using cache\n');
    this.imageId = img.id;
    this.config = clone(img.config);
    return true;
  }

  // ---- committing ------------------------------------------------------------------

  /** FROM scratch has no image yet: store its (empty) config so a container or a stage can refer to it. */
  async ensureImage(): Promise<void> {
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
    config.history = [
      ...(config.history ?? []),
      { created, ...(this.maintainer ? { author: this.maintainer } : {}), created_by: createdBy, ...(diffId ? {} : { empty_layer: true }) },
    ];
    if (diffId) config.rootfs = { type: 'layers', diff_ids: [...config.rootfs.diff_ids, diffId] };
    const img = await this.job.deps.images.createImage(config, this.imageId ? { parent: this.imageId } : {});
    await this.job.cache.store({ key, imageId: img.id, description: createdBy, size, parent: this.imageId });
    this.imageId = img.id;
    this.config = clone(img.config);
  }

  /** Imports a layer tar on top of the current image and commits it as the next image; an empty one adds no layer. */
  async commitLayer(tar: Readable, createdBy: string, key: string): Promise<void> {
    const { empty, stream } = await peekEmptyTar(tar);
    if (empty) {
      for await (const _ of stream) {
        // drained: the producer finishes
      }
      return this.commit(createdBy, undefined, key, 0);
    }
    const parent = chainId(this.config.rootfs.diff_ids);
    const layer = await this.job.deps.images.importLayer(stream, { ...(parent ? { parent } : {}), signal: this.job.signal });
    try {
      await this.commit(createdBy, layer.diffId, key, layer.size);
    } finally {
      layer.release();
    }
  }

  async withSnapshot(fn: (root: string) => Promise<void>, createdBy: string, key: string): Promise<void> {
    const { snapshotter } = this.job.deps;
    const snapKey = `berth-build-${randomBytes(8).toString('hex')}`;
    const mountpoint = join(this.job.scratchDir, `mnt-${randomBytes(6).toString('hex')}`);
    const mounts = await snapshotter.prepare(snapKey, chainId(this.config.rootfs.diff_ids), { 'berth.build': '1' });
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

  async mountFrom(ref: string): Promise<{ dir: string; release: () => Promise<void> }> {
    const stage = this.job.stageResult(ref.toLowerCase());
    if (stage) return mountLayers(this.job, (await stage).config.rootfs.diff_ids);
    let img: ImageRecord;
    try {
      img = await baseImage(this.job, this.out, ref, undefined);
    } catch (err) {
      throw new StepError(`invalid from flag value ${ref}: ${errorMessage(err)}`);
    }
    return mountLayers(this.job, img.config.rootfs.diff_ids);
  }
}

function setEnv(env: string[], key: string, value: string): string[] {
  const out = env.filter((e) => e.split('=', 1)[0] !== key);
  const i = env.findIndex((e) => e.split('=', 1)[0] === key);
  if (i === -1) return [...env, `${key}=${value}`];
  out.splice(i, 0, `${key}=${value}`);
  return out;
}
