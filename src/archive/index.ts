// Safe tar handling: extraction that never leaves its target, tars of
// directory trees, and the one resolver of paths inside a root.
export { applyLayer, type ApplyOptions, type ApplyResult } from './apply.js';
export { createTarFromDir, createTarOfPath, rebaseTar, type CreateTarOptions } from './create.js';
export { decompress, detectCompression, type Compression } from './compression.js';
export {
  resolveInRoot,
  resolveInRootParts,
  mkdirAllInRoot,
  pathParts,
  SymlinkLoopError,
  MAX_SYMLINK_HOPS,
  type ResolveOptions,
  type MkdirOptions,
} from './in-root.js';
export { diffUpperDir, diffTrees, lowerDirsOf, snapshotDiff, type DiffOptions } from './layer-diff.js';
