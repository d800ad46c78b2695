import type { Readable } from 'node:stream';
import type { ImageRecord, OciImageConfig } from '../image/image-store.js';
import type { ImportedLayer } from '../image/local-store.js';
import type { Snapshotter } from '../snapshot/snapshotter.js';
import type { ImageDeleteResponseItem, JSONMessage } from '../types/engine.js';
import type { StepRunner } from './run-step.js';

// What the builder needs from the rest of berthd, and nothing more.

export interface BuildImages {
  /** NotFoundError when nothing matches. */
  resolve(ref: string): Promise<ImageRecord>;
  get(id: string): Promise<ImageRecord | undefined>;
  list(opts?: { all?: boolean }): Promise<ImageRecord[]>;
  importLayer(body: Readable, opts: { parent?: string; signal?: AbortSignal }): Promise<ImportedLayer>;
  createImage(config: OciImageConfig, opts: { reference?: string; parent?: string }): Promise<ImageRecord>;
  tag(source: string, target: string): Promise<void>;
  remove(ref: string, opts?: { force?: boolean; noPrune?: boolean }): Promise<ImageDeleteResponseItem[]>;
}

export interface BuilderDeps {
  /** Where the builder keeps its cache index and scratch space. */
  root: string;
  images: BuildImages;
  snapshotter: Snapshotter;
  steps: StepRunner;
  /** Pulls an image that is not present (FROM, COPY --from), for `platform` ("linux/arm64") when given; absent: such a build fails. */
  pull?: (ref: string, opts: { platform?: string; registryAuth?: string; signal: AbortSignal }) => Promise<AsyncIterable<JSONMessage>>;
  /** Image events ("tag") as dockerd emits them after a build. */
  onTagged?: (imageId: string, reference: string) => void;
  log?: (level: 'debug' | 'info' | 'warn' | 'error', msg: string) => void;
}
