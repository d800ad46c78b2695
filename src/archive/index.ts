// Safe tar handling: extraction that never leaves its target, and tars of
// directory trees.
export { applyLayer, type ApplyOptions, type ApplyResult } from './apply.js';
export { createTarFromDir, createTarOfPath, rebaseTar, type CreateTarOptions } from './create.js';
export { decompress, detectCompression, type Compression } from './compression.js';
export { secureJoin, secureResolve } from './secure-path.js';
