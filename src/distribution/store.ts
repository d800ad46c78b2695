import type { LocalImageStore } from '../image/index.js';

/** What pull, push, save and load need of the image store. */
export type DistributionStore = Pick<
  LocalImageStore,
  'content' | 'discardBlob' | 'unpackLayer' | 'layerByChain' | 'holdLayer' | 'createImage' | 'discardLayers' | 'resolve' | 'list' | 'layer' | 'setLayerBlob' | 'addRepoDigest' | 'get'
>;
