import type { Readable } from 'node:stream';
import type { ImageConfig, ImageDeleteResponseItem, ImageHistoryItem, ImageInspect, ImageSummary } from '../types/engine.js';

/** The OCI image config as stored (application/vnd.oci.image.config.v1+json). */
export interface OciImageConfig {
  created?: string;
  author?: string;
  architecture: string;
  os: string;
  variant?: string;
  config?: ImageConfig;
  rootfs: { type: 'layers'; diff_ids: string[] };
  history?: Array<{ created?: string; created_by?: string; author?: string; comment?: string; empty_layer?: boolean }>;
  /** Docker's top-level comment (set by import and commit), shown by inspect. */
  comment?: string;
}

/** What the rest of berth knows of one image. */
export interface ImageRecord {
  /** "sha256:<hex>", the digest of the config blob. */
  id: string;
  config: OciImageConfig;
  /** Familiar references that point at it, e.g. "busybox:latest". */
  repoTags: string[];
  repoDigests: string[];
  /** Snapshot keys (OCI chain IDs, "sha256:<hex>") of its layers, bottom to top. */
  chainIds: string[];
  /** Uncompressed size of all layers, bytes. */
  size: number;
  /** When a tag last moved to this image (ISO time). */
  lastTagTime?: string;
  parent?: string;
  comment?: string;
}

export interface ImportOptions {
  /** Reference to tag the new image with (repo[:tag]); none leaves it untagged. */
  reference?: string;
  /** Dockerfile-style changes: "CMD [\"sh\"]", "ENV A=b", "ENTRYPOINT …", "WORKDIR /x", … */
  changes?: string[];
  message?: string;
  platform?: string;
  signal?: AbortSignal;
}

export interface RemoveOptions {
  force?: boolean;
  noPrune?: boolean;
}

export interface ListOptions {
  all?: boolean;
  /** Docker's filters: dangling, label, before, since, reference. */
  filters?: Record<string, string[]>;
}

/**
 * Image store: content-addressed blobs, image configs and tags under the data
 * root. Lookups accept everything Docker accepts: "busybox", "busybox:latest",
 * "docker.io/library/busybox:latest", a full or short (≥ 1 hex char prefix,
 * unambiguous) image ID, "sha256:<id>", "name@sha256:<digest>".
 */
export interface ImageStore {
  /** NotFoundError("No such image: <ref>") when nothing matches. */
  resolve(ref: string): Promise<ImageRecord>;
  get(id: string): Promise<ImageRecord | undefined>;
  list(opts?: ListOptions): Promise<ImageRecord[]>;
  /** Imports a (plain or gzip) tar as a one-layer image. */
  importTarball(body: Readable, opts: ImportOptions): Promise<ImageRecord>;
  /** Points `target` (repo[:tag]) at the image `source` resolves to. */
  tag(source: string, target: string): Promise<void>;
  /**
   * `docker rmi`: untags first, deletes when no tag is left. Refuses with
   * ConflictError while a container uses the image unless forced.
   */
  remove(ref: string, opts?: RemoveOptions): Promise<ImageDeleteResponseItem[]>;
  history(ref: string): Promise<ImageHistoryItem[]>;
  /** Unpacks a layer tar on top of layer `parent` (builder, commit); release() once an image holds it. */
  importLayer(body: Readable, opts?: { parent?: string; signal?: AbortSignal }): Promise<{ chainId: string; diffId: string; size: number; release(): void }>;
  /** Stores `config` as an image (every layer in its rootfs must be in the store), tagged with `reference`. */
  createImage(config: OciImageConfig, opts?: { reference?: string; parent?: string }): Promise<ImageRecord>;
  /** A layer by chain ID; its size is what removing it frees. */
  layer(chainId: string): Promise<{ size: number } | undefined>;
  summary(img: ImageRecord, containers: number): ImageSummary;
  inspect(img: ImageRecord): ImageInspect;
  /** Uncompressed size of every layer, by chain ID (what a prune reclaims). */
  layerSizes(): Promise<Map<string, number>>;
  /** Removes half-made imports a crash left behind. Called once at startup. */
  cleanup(): Promise<void>;
}

/** Who uses an image: returns the names of containers created from image `id`. */
export type ImageUsers = (imageId: string) => string[];
