// The image store: image records, references and tags, layers -> snapshots,
// import/tag/rmi, views (the rooms are listed in local-store.ts).
export type { ImageRecord, ImageStore, ImageUsers, ImportOptions, ListOptions, OciImageConfig, RemoveOptions } from './image-store.js';
export { LocalImageStore, chainIds, type CreateImageOptions, type ImportLayerOptions, type ImportedLayer, type LayerRecord, type PendingLayer, type UnpackOptions } from './local-store.js';
export {
  DEFAULT_DOMAIN,
  familiarMatch,
  familiarName,
  familiarString,
  fullName,
  isNamed,
  parseAnyReference,
  parseNormalizedNamed,
  normalizeForStore,
  referenceString,
  tagNameOnly,
  type DigestReference,
  type Reference,
} from './reference.js';
export { applyChanges } from './changes.js';
export { pruneImages, type ImagePruneResponse } from './prune.js';
export { hostPlatform, parsePlatform, type Platform } from './platform.js';
