import type { Readable } from 'node:stream';
import type { ContainerCreateRequest } from '../types/engine.js';
import type { Snapshotter } from '../snapshot/snapshotter.js';
import type { AttachOptions, AttachSession, WaitCondition } from '../container/index.js';
import type { LogEntry } from '../container/logs.js';
import { snapshotDiff } from '../archive/index.js';

// A RUN step is an ordinary container: created from the previous step's
// image through the container service, attached for its output, started and
// waited for; its writable snapshot's upper directory is then the step's
// layer. This file is the only place the builder touches the container
// service, through the few operations below.

/** The container operations a RUN step needs (a subset of the container service). */
export interface StepContainers {
  create(req: ContainerCreateRequest, name?: string): Promise<{ id: string; warnings: string[] }>;
  attach(ref: string, opts: AttachOptions, onOutput: (e: LogEntry) => void | Promise<void>, signal: AbortSignal): AttachSession;
  start(ref: string): Promise<void>;
  wait(ref: string, condition?: WaitCondition, signal?: AbortSignal): { done: Promise<{ StatusCode: number }> };
  remove(ref: string, opts?: { force?: boolean }): Promise<void>;
}

export interface RunStepOptions {
  image: string;
  cmd: string[];
  env: string[];
  workdir: string;
  user: string;
  networkMode: string;
  extraHosts: string[];
  memory?: number;
  shmSize?: number;
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
  run(opts: RunStepOptions): Promise<RunStepResult>;
  remove(id: string): Promise<void>;
}

export function containerStepRunner(containers: StepContainers, snapshotter: Snapshotter): StepRunner {
  return {
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
          ...(o.memory ? { Memory: o.memory } : {}),
          ...(o.shmSize ? { ShmSize: o.shmSize } : {}),
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
        await containers.start(id);
        const { StatusCode } = await waited;
        await streaming;
        return {
          id,
          exitCode: StatusCode,
          diff: () => snapshotDiff(snapshotter, id, (o.mounts ?? []).map((m) => m.target.replace(/^\/+|\/+$/g, ''))),
        };
      } catch (err) {
        await containers.remove(id, { force: true }).catch(() => {});
        throw err;
      } finally {
        o.signal?.removeEventListener('abort', onAbort);
        abort.abort();
      }
    },
    async remove(id) {
      await containers.remove(id, { force: true });
    },
  };
}
