import type { ContainerService } from '../../container/index.js';
import type { ImageStore } from '../../image/image-store.js';
import type { EventBus } from '../../events/index.js';
import type { JSONMessage, SystemVersion } from '../../types/engine.js';
import type { SystemDfResponse } from '../../types/volume.js';
import type { VolumeService } from '../../volume/index.js';

// What the routes need from the rest of berthd, and nothing more (moby's backend.go).

// Routes see containers through views (inspect, list, ContainerView), never
// the service's mutable records.
export type ContainerBackend = Pick<
  ContainerService,
  'create' | 'start' | 'stop' | 'kill' | 'restart' | 'rename' | 'remove' | 'wait' | 'logs' | 'assertLogsReadable' | 'attach' | 'resize' | 'inspect' | 'list' | 'get' | 'pause' | 'unpause' | 'stats' | 'top' | 'archiveStat' | 'archiveGet' | 'archivePut' | 'changes' | 'export' | 'update' | 'prune'
>;

export type ExecBackend = Pick<ContainerService, 'execCreate' | 'execStart' | 'execInspect' | 'execResize'>;

export interface ImageBackend {
  store: ImageStore;
  /** How many containers use each image ID. */
  containerCounts(): Map<string, number>;
  importTarball: ImageStore['importTarball'];
  tag: ImageStore['tag'];
  remove: ImageStore['remove'];
  /** Starts a pull; throws (before any progress) when it cannot begin. */
  pull(ref: string, tag: string | undefined, signal: AbortSignal): Promise<AsyncIterable<JSONMessage>>;
}

export interface SystemBackend {
  version(): Promise<SystemVersion>;
  info(): Promise<Record<string, unknown>>;
  /** GET /system/df, the parts `types` names (all when empty). */
  df(types: string[]): Promise<SystemDfResponse>;
  events: EventBus;
}

export type VolumeBackend = Pick<VolumeService, 'list' | 'create' | 'inspect' | 'remove' | 'prune'>;

/** POST /build and the build cache (src/builder behind it). */
export interface BuildBackend {
  /** Refuses bad input before answering; `run` then streams the build. */
  prepare(context: import('node:stream').Readable, opts: import('../../builder/index.js').BuildOptions): Promise<{
    run: (emit: (m: JSONMessage) => void) => Promise<string>;
    dispose: () => Promise<void>;
  }>;
  prune(opts: { all?: boolean; untilMs?: number }): Promise<import('../../builder/index.js').PruneResult>;
  /** The build cache entries, for GET /system/df. */
  buildCache(): Promise<import('../../builder/index.js').BuildCacheRecord[]>;
}
