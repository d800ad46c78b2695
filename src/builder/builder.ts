import { randomBytes } from 'node:crypto';
import { mkdir, readFile, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { entryPath } from '../archive/secure-path.js';
import { BerthError, InvalidParameterError, errorMessage } from '../errors/index.js';
import { familiarString, parseNormalizedNamed, tagNameOnly } from '../image/reference.js';
import { parsePlatform } from '../image/platform.js';
import type { JSONMessage } from '../types/engine.js';
import type { BuilderDeps } from './backend.js';
import { BuildCache, type CacheEntry } from './cache.js';
import { extractContext, loadDockerignore, type ExtractedContext } from './context.js';
import { resolvedInRoot } from './copy.js';
import { parseStages, type Dockerfile, type LabelCmd, type Stage } from './instructions.js';
import { processWord } from './shell-lex.js';
import { StepError, type BuildJob, type BuildSettings, type StageOutput, type StageResult } from './build-job.js';
import { StageBuilder } from './stage.js';
import { decodeRegistryConfig } from './base-image.js';
import type { StepResources } from './run-step.js';

// The classic builder behind POST /build: unpack the context, parse the
// Dockerfile, work out which stages the target needs, build them (stages
// that do not depend on each other at the same time), tag the result. The
// output is the classic builder's text ("Step 2/5 : …", " ---> …") as JSON
// stream lines; stages built in parallel are buffered so the text still
// reads stage by stage.

export interface BuildOptions {
  /** Path of the Dockerfile inside the context ("Dockerfile"). */
  dockerfile?: string;
  tags: string[];
  buildArgs: Record<string, string | null>;
  target?: string;
  noCache: boolean;
  pull: boolean;
  rm: boolean;
  forceRm: boolean;
  labels: Record<string, string>;
  quiet: boolean;
  cacheFrom: string[];
  networkMode?: string;
  extraHosts: string[];
  platform?: string;
  /** Limits of the step containers (memory, memswap, cpushares, cpusetcpus, cpuperiod, cpuquota, shmsize). */
  resources: StepResources;
  /** The X-Registry-Config header: base64 JSON of credentials by registry. */
  registryConfig?: string;
  signal?: AbortSignal;
}

export interface PruneResult {
  CachesDeleted: string[] | null;
  SpaceReclaimed: number;
}

/** docker system df's BuildCache entries (types.BuildCache). */
export interface BuildCacheRecord {
  ID: string;
  Parents: string[] | null;
  Type: string;
  Description: string;
  InUse: boolean;
  Shared: boolean;
  Size: number;
  CreatedAt: string;
  LastUsedAt: string | null;
  UsageCount: number;
}

function short(id: string): string {
  return id.replace(/^sha256:/, '').slice(0, 12);
}

/** Writes one stage's messages only when every earlier stage's have been written. */
class OrderedOutput {
  private buffers: JSONMessage[][] = [];
  private done: boolean[] = [];
  private current = 0;
  constructor(count: number, private readonly write: (m: JSONMessage) => void) {
    for (let i = 0; i < count; i++) {
      this.buffers.push([]);
      this.done.push(false);
    }
  }
  channel(i: number): StageOutput & { finish(): void } {
    const message = (m: JSONMessage) => {
      if (i === this.current) this.write(m);
      else this.buffers[i]!.push(m);
    };
    return {
      message,
      stream: (text) => message({ stream: text }),
      finish: () => {
        this.done[i] = true;
        while (this.current < this.done.length && this.done[this.current]) {
          this.current++;
          if (this.current < this.buffers.length) {
            for (const m of this.buffers[this.current]!) this.write(m);
            this.buffers[this.current] = [];
          }
        }
      },
    };
  }
  /** Everything still buffered (for a failed build: what ran so far). */
  flush(): void {
    for (let i = this.current + 1; i < this.buffers.length; i++) for (const m of this.buffers[i]!) this.write(m);
  }
}

/** What prepare() made ready for the stages: the unpacked context and the options. */
interface PreparedContext {
  contextDir: string;
  ignore: BuildJob['ignore'];
  scratchDir: string;
  opts: BuildOptions;
  context: ExtractedContext;
}

export class Builder {
  readonly cache: BuildCache;

  constructor(private readonly deps: BuilderDeps) {
    this.cache = new BuildCache(join(deps.root, 'cache'));
  }

  /** Removes scratch directories a crash left behind. */
  async cleanup(): Promise<void> {
    const tmp = join(this.deps.root, 'tmp');
    await mkdir(tmp, { recursive: true });
    const { unmountIfMounted } = await import('../util/mount.js');
    for (const name of await readdir(tmp)) {
      const dir = join(tmp, name);
      for (const sub of await readdir(dir).catch(() => [] as string[])) await unmountIfMounted(join(dir, sub)).catch(() => {});
      await rm(dir, { recursive: true, force: true });
    }
    for (const s of await this.deps.snapshotter.list()) {
      if (s.key.startsWith('berth-build-')) await this.deps.snapshotter.remove(s.key).catch(() => {});
    }
  }

  /**
   * Checks everything that can be refused before any output (tags, the
   * Dockerfile) so those come back as HTTP errors, then streams the build
   * through `emit`. Returns the image ID; a failing step rejects with the
   * step's error after its output was emitted.
   */
  async prepare(context: Readable, opts: BuildOptions): Promise<{ run: (emit: (m: JSONMessage) => void) => Promise<string>; dispose: () => Promise<void> }> {
    for (const t of opts.tags) {
      const ref = parseNormalizedNamed(t);
      if (ref.digest !== undefined) throw new InvalidParameterError(`invalid reference format`);
    }
    const platform = opts.platform ? parsePlatform(opts.platform) : undefined;
    const scratchDir = join(this.deps.root, 'tmp', randomBytes(8).toString('hex'));
    await mkdir(join(scratchDir, 'context'), { recursive: true });
    const dispose = () => rm(scratchDir, { recursive: true, force: true });
    try {
      const contextDir = join(scratchDir, 'context');
      const t0 = performance.now();
      const extracted = await extractContext(context, contextDir, opts.signal ? { signal: opts.signal } : {});
      this.deps.log?.('debug', `build: context received and unpacked in ${(performance.now() - t0).toFixed(1)} ms`);
      const dfName = opts.dockerfile || 'Dockerfile';
      const dfParts = entryPath(dfName, 'Dockerfile path');
      let text: string | undefined;
      for (const candidate of opts.dockerfile ? [dfParts.join('/')] : ['Dockerfile', 'dockerfile']) {
        const path = resolvedInRoot(contextDir, candidate);
        if (extracted.isHeld(path)) await extracted.materialize();
        text = await readFile(path, 'utf8').catch(() => undefined);
        if (text !== undefined) break;
      }
      if (text === undefined) throw new InvalidParameterError(`Cannot locate specified Dockerfile: ${dfName}`);
      const df = parseStages(text, dfName);
      if (extracted.isHeld(join(contextDir, '.dockerignore'))) await extracted.materialize();
      const ignore = await loadDockerignore(contextDir);
      const target = this.targetIndex(df, opts.target);
      const settings: BuildSettings = {
        buildArgs: new Map(Object.entries(opts.buildArgs).filter(([, v]) => v !== null) as Array<[string, string]>),
        noCache: opts.noCache,
        pull: opts.pull,
        rm: opts.rm,
        forceRm: opts.forceRm,
        networkMode: opts.networkMode || 'default',
        extraHosts: opts.extraHosts,
        cacheFrom: opts.cacheFrom,
        registryAuths: decodeRegistryConfig(opts.registryConfig),
        resources: opts.resources,
        ...(platform ? { platform } : {}),
      };
      return {
        dispose,
        run: (emit) => this.run(df, target, settings, { contextDir, ignore, scratchDir, opts, context: extracted }, emit),
      };
    } catch (err) {
      await dispose();
      throw err;
    }
  }

  private targetIndex(df: Dockerfile, target: string | undefined): number {
    if (!target) return df.stages.length - 1;
    const t = target.toLowerCase();
    let idx = -1;
    for (const s of df.stages) if (s.name === t) idx = s.index;
    if (idx === -1) throw new InvalidParameterError(`failed to reach build target ${target} in Dockerfile`);
    return idx;
  }

  private async run(
    df: Dockerfile,
    target: number,
    settings: BuildSettings,
    ctx: PreparedContext,
    emit: (m: JSONMessage) => void,
  ): Promise<string> {
    const { opts } = ctx;
    // -q: dockerd keeps the output back and sends it only if the build fails.
    const held: JSONMessage[] = [];
    const send = (m: JSONMessage) => {
      if (opts.quiet) held.push(m);
      else emit(m);
    };
    const write = (text: string) => send({ stream: text });
    try {
      return await this.runStages(df, target, settings, ctx, send, write, emit);
    } catch (err) {
      for (const m of held) emit(m);
      throw err;
    }
  }

  private async runStages(
    df: Dockerfile,
    target: number,
    settings: BuildSettings,
    ctx: PreparedContext,
    send: (m: JSONMessage) => void,
    write: (text: string) => void,
    emit: (m: JSONMessage) => void,
  ): Promise<string> {
    const { opts } = ctx;
    // Global ARGs: defaults expanded in order, build args win.
    const metaEnv = new Map<string, string>();
    const consumed = new Set<string>();
    for (const cmd of df.metaArgs) {
      for (const a of cmd.args) {
        if (settings.buildArgs.has(a.key)) {
          metaEnv.set(a.key, settings.buildArgs.get(a.key)!);
          consumed.add(a.key);
        } else if (a.value !== undefined) {
          metaEnv.set(a.key, processWord(a.value, metaEnv, df.escape));
        }
      }
    }

    // The stages the target needs: its FROM chain and COPY --from sources.
    const byName = (ref: string, before: number): Stage | undefined => {
      const r = ref.toLowerCase();
      if (/^\d+$/.test(r)) return Number(r) < before ? df.stages[Number(r)] : undefined;
      let found: Stage | undefined;
      for (const s of df.stages) if (s.index < before && s.name === r) found = s;
      return found;
    };
    const depsOf = (s: Stage): Stage[] => {
      const out: Stage[] = [];
      const base = byName(processWord(s.from.image, metaEnv, df.escape), s.index);
      if (base) out.push(base);
      for (const c of s.commands) {
        if ((c.kind === 'copy' || c.kind === 'add') && c.from !== undefined) {
          const dep = byName(c.from, s.index);
          if (dep) out.push(dep);
          else if (df.stages.some((o) => o.name === c.from!.toLowerCase()) || (/^\d+$/.test(c.from) && Number(c.from) < df.stages.length)) {
            throw new InvalidParameterError(`invalid from flag value ${c.from}: stage ${c.from} is defined after the current stage`);
          }
        }
      }
      return out;
    };
    const needed = new Set<number>();
    const visit = (s: Stage) => {
      if (needed.has(s.index)) return;
      needed.add(s.index);
      for (const d of depsOf(s)) visit(d);
    };
    visit(df.stages[target]!);
    const order = [...needed].sort((a, b) => a - b);

    // --label: one more LABEL step at the end of the target, as the classic builder adds it.
    // --label: one more LABEL step per label at the end of the target, sorted by key and
    // taken as they are (no expansion), as dockerd 20.10 adds them.
    const extra: LabelCmd[] = Object.keys(opts.labels)
      .sort()
      .map((key) => ({ kind: 'label', line: 0, original: `LABEL ${key}=${opts.labels[key]!}`, pairs: [{ key, value: opts.labels[key]! }], literal: true }));
    // The ARGs before the first FROM are steps of their own in the count and the output.
    let totalSteps = df.metaArgs.length;
    const firstStep = new Map<number, number>();
    for (const i of order) {
      firstStep.set(i, totalSteps + 1);
      totalSteps += 1 + df.stages[i]!.commands.length + (i === target ? extra.length : 0);
    }

    const signal = opts.signal ?? new AbortController().signal;
    const results = new Map<number, Promise<StageResult>>();
    const job: BuildJob = {
      deps: this.deps,
      cache: this.cache,
      settings,
      contextDir: ctx.contextDir,
      contextDigests: ctx.context.digests,
      contextReady: () => ctx.context.materialize(),
      ignore: ctx.ignore,
      escape: df.escape,
      metaEnv,
      consumedArgs: consumed,
      totalSteps,
      signal,
      scratchDir: ctx.scratchDir,
      stageResult: () => undefined,
    };
    for (const [i, cmd] of df.metaArgs.entries()) {
      write(`Step ${i + 1}/${totalSteps} : ${cmd.original}`);
      write('\n');
    }
    const output = new OrderedOutput(order.length, send);
    const failed = new AbortController();
    const stageSignal = AbortSignal.any([signal, failed.signal]);
    for (const [pos, i] of order.entries()) {
      const stage = df.stages[i]!;
      const channel = output.channel(pos);
      const stageJob: BuildJob = {
        ...job,
        signal: stageSignal,
        stageResult: (ref) => {
          const s = byName(ref, i);
          return s ? results.get(s.index) : undefined;
        },
      };
      const builder = new StageBuilder(stageJob, stage, firstStep.get(i)!, channel, i === target ? extra : [], this.deps.log);
      // Each stage starts at once; one that needs another waits for it inside (FROM, COPY --from).
      const p = builder.run().finally(() => channel.finish());
      p.catch(() => failed.abort(new Error('another stage failed')));
      results.set(i, p);
    }
    let final: StageResult;
    try {
      // Usage bookkeeping after the build, off its critical path.
      void Promise.allSettled(order.map((i) => results.get(i)!)).then(() => this.cache.flush().catch(() => {}));
      const settled = await Promise.allSettled(order.map((i) => results.get(i)!));
      const firstFailure = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected' && !(s.reason instanceof Error && s.reason.message === 'another stage failed'));
      if (firstFailure) throw firstFailure.reason;
      const rejected = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
      if (rejected) throw rejected.reason;
      final = await results.get(target)!;
    } catch (err) {
      output.flush();
      throw err;
    }

    const unused = [...settings.buildArgs.keys()].filter((k) => !consumed.has(k) && !/^(HTTP_PROXY|HTTPS_PROXY|FTP_PROXY|NO_PROXY|ALL_PROXY)$/i.test(k));
    if (unused.length > 0) write(`[Warning] One or more build-args [${unused.join(' ')}] were not consumed\n`);
    write(`Successfully built ${short(final.imageId)}\n`);
    for (const t of opts.tags) {
      // A tag already on this image is left as it is (dockerd's reference store does the same).
      const current = await this.deps.images.resolve(t).catch(() => undefined);
      if (current?.id !== final.imageId || !current.repoTags.includes(familiarString(tagNameOnly(parseNormalizedNamed(t))))) await this.deps.images.tag(final.imageId, t);
      const name = familiarString(tagNameOnly(parseNormalizedNamed(t)));
      this.deps.onTagged?.(final.imageId, name);
      write(`Successfully tagged ${name}\n`);
    }
    // -q: the stream carries only the image ID, which the CLI prints.
    if (opts.quiet) emit({ stream: `${final.imageId}\n` });
    return final.imageId;
  }

  // ---- cache maintenance -----------------------------------------------------------

  /** The build cache as /system/df reports it. */
  async usage(): Promise<BuildCacheRecord[]> {
    const entries = await this.cache.list();
    const tagged = new Set((await this.deps.images.list({ all: true })).filter((i) => i.repoTags.length > 0).map((i) => i.id));
    return entries.map((e) => this.record(e, tagged.has(e.imageId)));
  }

  private record(e: CacheEntry, inUse: boolean): BuildCacheRecord {
    return {
      ID: e.key.slice(0, 25),
      Parents: e.parent ? [e.parent] : null,
      Type: 'regular',
      Description: e.description,
      InUse: inUse,
      Shared: false,
      Size: e.size,
      CreatedAt: e.created,
      LastUsedAt: e.lastUsed,
      UsageCount: e.usageCount,
    };
  }

  /**
   * Forgets cached steps (all with `all`, else those whose image is not an
   * ancestor of a tagged image) and removes the intermediate images no tag
   * and no container holds any more. `until` (a duration in ms) keeps
   * entries used more recently.
   */
  async prune(opts: { all?: boolean; untilMs?: number; keepStorage?: number } = {}): Promise<PruneResult> {
    const entries = await this.cache.list();
    const images = await this.deps.images.list({ all: true });
    const byId = new Map(images.map((i) => [i.id, i]));
    const keep = new Set<string>();
    for (const img of images) {
      if (img.repoTags.length === 0) continue;
      for (let cur: typeof img | undefined = img; cur; cur = cur.parent ? byId.get(cur.parent) : undefined) keep.add(cur.id);
    }
    const now = Date.now();
    const deleted: string[] = [];
    let reclaimed = 0;
    const doomed: CacheEntry[] = [];
    for (const e of entries) {
      if (opts.untilMs !== undefined && now - Date.parse(e.lastUsed) < opts.untilMs) continue;
      if (!opts.all && keep.has(e.imageId)) continue;
      doomed.push(e);
    }
    for (const e of doomed) {
      await this.cache.delete(e.key);
      deleted.push(e.key.slice(0, 25));
    }
    // Intermediate images with no tag, no child and no container go, children first.
    const doomedIds = new Set(doomed.map((e) => e.imageId));
    for (let progress = true; progress; ) {
      progress = false;
      for (const id of [...doomedIds]) {
        const img = await this.deps.images.get(id);
        if (!img) {
          doomedIds.delete(id);
          continue;
        }
        if (img.repoTags.length > 0) {
          doomedIds.delete(id);
          continue;
        }
        try {
          await this.deps.images.remove(id, { noPrune: true });
          const size = doomed.find((e) => e.imageId === id)?.size ?? 0;
          reclaimed += size;
          doomedIds.delete(id);
          progress = true;
        } catch (err) {
          if (!(err instanceof BerthError)) throw err;
          // Still a parent or used by a container: maybe next round.
        }
      }
    }
    return { CachesDeleted: deleted.length > 0 ? deleted : null, SpaceReclaimed: reclaimed };
  }
}

export function buildErrorMessage(err: unknown): JSONMessage {
  const message = errorMessage(err);
  const detail: { message: string; code?: number } = { message };
  if (err instanceof StepError && err.code !== undefined) detail.code = err.code;
  return { error: message, errorDetail: detail };
}
