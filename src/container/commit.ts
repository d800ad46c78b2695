import { ConflictError } from '../errors/index.js';
import { snapshotDiff } from '../archive/index.js';
import { applyChanges, parseNormalizedNamed, type ImageRecord, type ImageStore } from '../image/index.js';
import type { Snapshotter } from '../snapshot/snapshotter.js';
import type { ContainerConfig } from '../types/engine.js';
import type { ContainerRecord } from './record.js';
import { mergeImageEnv } from './config.js';

// `docker commit`: the container's own changes (its snapshot's diff, the one
// layer-diff the builder uses too) as a new layer on top of its image, with a
// config from the request (body and --change lines) filled in from the
// container's, as dockerd's CreateImageFromContainer does.

export interface CommitOptions {
  /** repo[:tag]; none leaves the image untagged. */
  reference?: string;
  comment?: string;
  author?: string;
  /** Freeze the container while its files are read (dockerd's default). */
  pause: boolean;
  /** Dockerfile-style lines: CMD, ENV, LABEL, … */
  changes: string[];
  /** The request body's config, if any. */
  config?: ContainerConfig | null;
}

export interface CommitDeps {
  images: Pick<ImageStore, 'get' | 'importLayer' | 'createImage'>;
  snapshotter: Snapshotter;
  /** Freeze / thaw the task, when the container runs. */
  pause(id: string): Promise<void>;
  resume(id: string): Promise<void>;
}

/** An empty layer's diff ID (a tar of two zero blocks): no layer is added for it, as dockerd. */
const EMPTY_LAYER = 'sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef';

/** dockerd's merge(): what the new config leaves empty comes from the container's. */
export function mergeCommitConfig(user: ContainerConfig, from: ContainerConfig): ContainerConfig {
  const c: ContainerConfig = { ...user };
  if (!c.User) c.User = from.User ?? '';
  c.ExposedPorts = { ...(from.ExposedPorts ?? {}), ...(c.ExposedPorts ?? {}) };
  if (Object.keys(c.ExposedPorts).length === 0) delete c.ExposedPorts;
  c.Env = mergeImageEnv(c.Env ?? [], from.Env ?? []);
  c.Labels = { ...(from.Labels ?? {}), ...(c.Labels ?? {}) };
  if (!c.Entrypoint || c.Entrypoint.length === 0) {
    if (!c.Cmd || c.Cmd.length === 0) {
      c.Cmd = from.Cmd ?? null;
      if (from.ArgsEscaped !== undefined) c.ArgsEscaped = from.ArgsEscaped;
    }
    if (c.Entrypoint === undefined || c.Entrypoint === null) c.Entrypoint = from.Entrypoint ?? null;
  }
  if (from.Healthcheck) c.Healthcheck = { ...from.Healthcheck, ...(c.Healthcheck ?? {}) };
  if (!c.WorkingDir) c.WorkingDir = from.WorkingDir ?? '';
  const volumes = { ...(from.Volumes ?? {}), ...(c.Volumes ?? {}) };
  c.Volumes = Object.keys(volumes).length ? volumes : null;
  if (!c.StopSignal && from.StopSignal) c.StopSignal = from.StopSignal;
  if (!c.OnBuild) c.OnBuild = from.OnBuild ?? null;
  if (!c.Shell && from.Shell) c.Shell = from.Shell;
  return c;
}

/** Makes the image; the caller holds the container's lock and emits the event. */
export async function commitContainer(deps: CommitDeps, r: ContainerRecord, running: boolean, o: CommitOptions): Promise<ImageRecord> {
  if (r.state.status === 'dead') throw new ConflictError(`You cannot commit container ${r.id} which is Dead`);
  if (r.state.status === 'removing') throw new ConflictError(`You cannot commit container ${r.id} which is being removed`);
  // The reference, the request's config and --change lines are checked before any work.
  if (o.reference) parseNormalizedNamed(o.reference);
  const config = mergeCommitConfig(applyChanges(o.config ?? {}, o.changes), r.config);
  const base = await deps.images.get(r.image);
  if (!base) throw new ConflictError(`the image of container ${r.id} is gone`);
  const paused = o.pause && running;
  if (paused) await deps.pause(r.id);
  let layer: Awaited<ReturnType<CommitDeps['images']['importLayer']>>;
  try {
    const diff = await snapshotDiff(deps.snapshotter, r.id);
    try {
      layer = await deps.images.importLayer(diff.stream, base.chainIds.length ? { parent: base.chainIds[base.chainIds.length - 1] } : {});
    } finally {
      await diff.release();
    }
  } finally {
    if (paused) await deps.resume(r.id).catch(() => {});
  }
  try {
    const now = new Date().toISOString();
    const empty = layer.diffId === EMPTY_LAYER;
    const parent = base.config;
    return await deps.images.createImage({
      created: now,
      ...(o.author ? { author: o.author } : {}),
      architecture: parent.architecture,
      os: parent.os,
      ...(parent.variant ? { variant: parent.variant } : {}),
      config,
      rootfs: { type: 'layers', diff_ids: [...parent.rootfs.diff_ids, ...(empty ? [] : [layer.diffId])] },
      history: [
        ...(parent.history ?? []),
        {
          created: now,
          ...(o.author ? { author: o.author } : {}),
          created_by: (r.config.Cmd ?? []).join(' '),
          ...(o.comment ? { comment: o.comment } : {}),
          ...(empty ? { empty_layer: true } : {}),
        },
      ],
      ...(o.comment ? { comment: o.comment } : {}),
    }, { ...(o.reference ? { reference: o.reference } : {}), parent: base.id });
  } finally {
    layer.release();
  }
}
