import type { Readable } from 'node:stream';
import { SystemError } from '../errors/index.js';
import type { OciImageConfig } from '../image/image-store.js';
import type { Platform } from '../image/platform.js';
import type { ImageConfig, JSONMessage } from '../types/engine.js';
import type { BuilderDeps } from './backend.js';
import type { BuildCache } from './cache.js';
import type { PatternMatcher } from './dockerignore.js';
import type { Env } from './shell-lex.js';
import type { StepResources } from './run-step.js';

// What the parts of a build share: the settings of the request, the job a
// stage belongs to, and the host a step runs in (the stage's current image
// and config, and the ways a step reuses a cached image or commits a new one).

export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
export const DEFAULT_SHELL = ['/bin/sh', '-c'];

export interface BuildSettings {
  buildArgs: Map<string, string | undefined>;
  noCache: boolean;
  pull: boolean;
  /** Remove intermediate containers after a successful step (docker's --rm, default true). */
  rm: boolean;
  /** Remove them after a failed step too. */
  forceRm: boolean;
  networkMode: string;
  extraHosts: string[];
  /** Limits of every step container. */
  resources: StepResources;
  /** `--platform` of the build: the platform base images are pulled for. */
  platform?: Platform;
  cacheFrom: string[];
  /** Credentials by registry (X-Registry-Config), each as the client sent it. */
  registryAuths: Record<string, Record<string, unknown>>;
}

/** Output of one stage, in order: text for the JSON stream, or a whole message (pull progress, aux). */
export interface StageOutput {
  stream(text: string): void;
  message(m: JSONMessage): void;
}

export interface StageResult {
  imageId: string;
  config: OciImageConfig;
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

/** A step that failed; `code` is a RUN's exit code, which the docker CLI exits with. */
export class StepError extends SystemError {
  constructor(message: string, readonly code?: number) {
    super(message);
  }
}

/**
 * The stage a step runs in, as the step modules (RUN, COPY/ADD) see it: the
 * current image and config, expansion, and the ways to finish a step (a cache
 * hit, or a new image with or without a layer).
 */
export interface StepHost {
  readonly job: BuildJob;
  readonly out: StageOutput;
  /** The image the step starts from ("" before the first layer of FROM scratch). */
  readonly imageId: string;
  readonly config: OciImageConfig;
  /** The container config being built (config.config). */
  readonly runConfig: ImageConfig;
  readonly shell: string[];
  /** ARGs declared in this stage and their values (undefined: declared without one). */
  readonly args: ReadonlyMap<string, string | undefined>;
  /** Declared ARGs overridden by ENV: what `$VAR` expands to. */
  env(): Env;
  word(s: string): string;
  /** Reuses the image a cached step made (" ---> Using cache"); false on a miss. */
  lookupCache(key: string, createdBy: string): Promise<boolean>;
  /** Stores the layer tar as the next image (an empty diff makes an empty_layer entry). */
  commitLayer(tar: Readable, createdBy: string, key: string): Promise<void>;
  /** Runs `fn` on a writable snapshot of the current image and commits what it changed. */
  withSnapshot(fn: (root: string) => Promise<void>, createdBy: string, key: string): Promise<void>;
  /** Stores FROM scratch's empty config as an image, so a container can be made of it. */
  ensureImage(): Promise<void>;
  /** Removes a step's container, printing "Removing intermediate container …" as dockerd does. */
  removeContainer(id: string): Promise<void>;
  /** A read-only view of a stage's or an image's filesystem (COPY --from, RUN --mount from=). */
  mountFrom(ref: string): Promise<{ dir: string; release: () => Promise<void> }>;
}

export function short(id: string): string {
  return id.replace(/^sha256:/, '').slice(0, 12);
}

export function clone<T>(v: T): T {
  return JSON.parse(JSON.stringify(v)) as T;
}

export function envMap(env: readonly string[] | null | undefined): Map<string, string> {
  const m = new Map<string, string>();
  for (const e of env ?? []) {
    const eq = e.indexOf('=');
    m.set(eq === -1 ? e : e.slice(0, eq), eq === -1 ? '' : e.slice(eq + 1));
  }
  return m;
}

/**
 * Whether step containers go after their step, worked or failed: unless
 * --rm=false, and always with --force-rm. (dockerd keeps a failed step's
 * container unless --force-rm; issue 16 asks that a failed build leave none.)
 */
export function removesStepContainers(s: Pick<BuildSettings, 'rm' | 'forceRm'>): boolean {
  return s.rm || s.forceRm;
}
