import type { ContainerService } from '../../container/index.js';
import type { NetworkService } from '../../network/index.js';
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
  'create' | 'start' | 'stop' | 'kill' | 'restart' | 'rename' | 'remove' | 'wait' | 'logs' | 'assertLogsReadable' | 'attach' | 'resize' | 'inspect' | 'list' | 'get' | 'pause' | 'unpause' | 'stats' | 'top' | 'archiveStat' | 'archiveGet' | 'archivePut' | 'changes' | 'export' | 'update' | 'prune' | 'commit'
>;

export type ExecBackend = Pick<ContainerService, 'execCreate' | 'execStart' | 'execInspect' | 'execResize'>;

export interface ImageBackend {
  store: ImageStore;
  /** How many containers use each image ID. */
  containerCounts(): Map<string, number>;
  importTarball: ImageStore['importTarball'];
  tag: ImageStore['tag'];
  remove: ImageStore['remove'];
  /** docker image prune (dangling, until, label, label! filters). */
  prune(filters: Record<string, string[]>): Promise<import('../../image/index.js').ImagePruneResponse>;
  /** Starts a pull; throws (before any progress) when it cannot begin. */
  pull(req: PullParams): Promise<AsyncIterable<JSONMessage>>;
}

export interface PullParams {
  image: string;
  tag?: string;
  platform?: string;
  allTags?: boolean;
  /** The X-Registry-Auth header as sent. */
  registryAuth?: string;
  signal: AbortSignal;
}

/** Registry and archive operations: push, login, distribution inspect, save, load. */
export interface DistributionBackend {
  push(req: { name: string; tag?: string; registryAuth?: string; platform?: string; signal: AbortSignal }): Promise<AsyncIterable<JSONMessage>>;
  login(body: Record<string, unknown>, signal: AbortSignal): Promise<{ Status: string; IdentityToken: string }>;
  inspect(name: string, registryAuth: string | undefined, signal: AbortSignal): Promise<unknown>;
  /** docker save: a tar of the named images, streamed into `out`. */
  save(names: string[], out: NodeJS.WritableStream, signal: AbortSignal): Promise<void>;
  /** Checks that every name exists before the 200 goes out. */
  checkSave(names: string[], platform?: string): Promise<void>;
  /** docker load: reads a tar; returns the progress/result messages. */
  load(body: NodeJS.ReadableStream, opts: { quiet: boolean; platform?: string; signal: AbortSignal }): Promise<AsyncIterable<JSONMessage>>;
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
export type NetworkBackend = Pick<NetworkService, 'list' | 'find' | 'resource' | 'create' | 'remove' | 'prune' | 'connect' | 'disconnect'>;
