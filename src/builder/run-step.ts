import { mkdir, rm } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import type { ContainerCreateRequest, HostConfig, ImageConfig } from '../types/engine.js';
import type { Snapshotter } from '../snapshot/snapshotter.js';
import type { AttachOptions, AttachSession, WaitCondition } from '../container/index.js';
import type { LogEntry } from '../container/logs.js';
import { snapshotDiff } from '../archive/index.js';
import { mountAll, unmountIfMounted } from '../util/mount.js';

// The containers of a build's steps, made through the container service as
// dockerd's classic builder makes them: a RUN is a container created from the
// previous step's image, attached for its output, started and waited for, its
// writable snapshot's upper directory then being the step's layer; a step
// that only records config (ENV, LABEL, WORKDIR, …) gets a container too, never
// started, whose command is the history text ("/bin/sh -c #(nop) …"), and
// WORKDIR makes its directory in that container's filesystem. This file is
// the only place the builder touches the container service.

/** The container operations the steps need (a subset of the container service). */
export interface StepContainers {
  create(req: ContainerCreateRequest, name?: string): Promise<{ id: string; warnings: string[] }>;
  attach(ref: string, opts: AttachOptions, onOutput: (e: LogEntry) => void | Promise<void>, signal: AbortSignal): AttachSession;
  start(ref: string): Promise<void>;
  wait(ref: string, condition?: WaitCondition, signal?: AbortSignal): { done: Promise<{ StatusCode: number }> };
  remove(ref: string, opts?: { force?: boolean; volumes?: boolean }): Promise<void>;
}

/**
 * The limits `docker build` sets on every step container (--memory,
 * --memory-swap, --cpu-shares, --cpuset-cpus, --cpu-period, --cpu-quota,
 * --shm-size), as HostConfig fields; the container service validates them as
 * it does for `docker run`.
 */
export type StepResources = Pick<HostConfig, 'Memory' | 'MemorySwap' | 'CpuShares' | 'CpusetCpus' | 'CpuPeriod' | 'CpuQuota' | 'ShmSize'>;

export interface StepContainerOptions {
  image: string;
  /** The config as it stands after the step (Env, Entrypoint, WorkingDir, User, Volumes, …). */
  config: ImageConfig;
  cmd: string[];
  networkMode: string;
  extraHosts: string[];
  resources: StepResources;
}

export interface RunStepOptions {
  image: string;
  cmd: string[];
  env: string[];
  workdir: string;
  user: string;
  networkMode: string;
  extraHosts: string[];
  resources: StepResources;
  labels?: Record<string, string>;
  /** RUN --mount: binds (cache dirs, the context, another stage) and tmpfs, outside the layer. */
  mounts?: Array<{ type: 'bind'; source: string; target: string; readOnly: boolean } | { type: 'tmpfs'; target: string; size?: number }>;
  /** Called as soon as the container exists (for " ---> Running in …"). */
  onCreated(id: string, warnings: string[]): void;
  onOutput(stream: 'stdout' | 'stderr', data: Buffer): void | Promise<void>;
  signal?: AbortSignal;
}

export interface RunStepResult {
  id: string;
  exitCode: number;
  /** The layer tar of what the command changed; call release once it is consumed. */
  diff(): Promise<{ stream: Readable; release: () => Promise<void> }>;
}

export interface StepRunner {
  /** Creates (never starts) the container of a config step. */
  create(opts: StepContainerOptions): Promise<{ id: string; warnings: string[] }>;
  /** Mounts a created container's root filesystem at `dir` while `fn` runs. */
  withRootfs<T>(id: string, dir: string, fn: (root: string) => Promise<T>): Promise<T>;
  /** The layer tar of what changed in a container's root filesystem. */
  diff(id: string): Promise<{ stream: Readable; release: () => Promise<void> }>;
  run(opts: RunStepOptions): Promise<RunStepResult>;
  /** Removes a step's container and its anonymous volumes. */
  remove(id: string): Promise<void>;
}

export function containerStepRunner(containers: StepContainers, snapshotter: Snapshotter): StepRunner {
  return {
    async create(o) {
      const c = o.config;
      const req: ContainerCreateRequest = {
        ...(c.User ? { User: c.User } : {}),
        ...(c.ExposedPorts ? { ExposedPorts: c.ExposedPorts } : {}),
        Env: c.Env ?? [],
        Cmd: o.cmd,
        Entrypoint: c.Entrypoint ?? [],
        ...(c.Healthcheck ? { Healthcheck: c.Healthcheck } : {}),
        ...(c.Volumes ? { Volumes: c.Volumes } : {}),
        WorkingDir: c.WorkingDir ?? '',
        Labels: c.Labels ?? {},
        ...(c.StopSignal ? { StopSignal: c.StopSignal } : {}),
        ...(c.OnBuild ? { OnBuild: c.OnBuild } : {}),
        ...(c.Shell ? { Shell: c.Shell } : {}),
        Image: o.image,
        HostConfig: {
          NetworkMode: o.networkMode,
          ExtraHosts: o.extraHosts,
          ...o.resources,
        },
      };
      return containers.create(req);
    },
    async withRootfs(id, dir, fn) {
      await mkdir(dir, { recursive: true });
      await mountAll(await snapshotter.mounts(id), dir);
      try {
        return await fn(dir);
      } finally {
        await unmountIfMounted(dir);
        await rm(dir, { recursive: true, force: true }).catch(() => {});
      }
    },
    diff: (id) => snapshotDiff(snapshotter, id),
    async run(o) {
      const req: ContainerCreateRequest = {
        Image: o.image,
        Cmd: o.cmd,
        Entrypoint: [],
        Env: o.env,
        WorkingDir: o.workdir,
        User: o.user,
        AttachStdout: true,
        AttachStderr: true,
        Labels: o.labels ?? {},
        HostConfig: {
          NetworkMode: o.networkMode,
          ExtraHosts: o.extraHosts,
          ...o.resources,
          ...(o.mounts?.length
            ? {
                Mounts: o.mounts.map((m) =>
                  m.type === 'bind'
                    ? { Type: 'bind' as const, Source: m.source, Target: m.target, ReadOnly: m.readOnly }
                    : { Type: 'tmpfs' as const, Target: m.target, ...(m.size ? { TmpfsOptions: { SizeBytes: m.size } } : {}) },
                ),
              }
            : {}),
        },
      };
      const { id, warnings } = await containers.create(req);
      o.onCreated(id, warnings);
      const abort = new AbortController();
      const onAbort = () => abort.abort(o.signal?.reason);
      o.signal?.addEventListener('abort', onAbort, { once: true });
      try {
        const session = containers.attach(id, { stdout: true, stderr: true, logs: false, stream: true }, (e) => o.onOutput(e.stream, e.data), abort.signal);
        const waited = containers.wait(id, 'next-exit', abort.signal).done;
        const streaming = session.run();
        // Its failure is reported by the wait or the start (an abort ends both); never left unhandled.
        streaming.catch(() => {});
        await containers.start(id);
        const { StatusCode } = await waited;
        await streaming;
        return {
          id,
          exitCode: StatusCode,
          diff: () => snapshotDiff(snapshotter, id, (o.mounts ?? []).map((m) => m.target.replace(/^\/+|\/+$/g, ''))),
        };
      } catch (err) {
        // A cancelled build kills and removes its container, as dockerd's does; one that
        // could not start is removed with the step's others (stage.ts) unless --rm=false.
        if (o.signal?.aborted) await containers.remove(id, { force: true, volumes: true }).catch(() => {});
        throw err;
      } finally {
        o.signal?.removeEventListener('abort', onAbort);
        abort.abort();
      }
    },
    async remove(id) {
      await containers.remove(id, { force: true, volumes: true });
    },
  };
}
