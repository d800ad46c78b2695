// The registry client: auth, manifests, pull, push.
export { DistributionService, type DistributionHooks, type DistributionInspect, type PullRequest, type PushRequest } from './service.js';
export { decodeRegistryAuth, parseChallenges, type AuthConfig } from './auth.js';
export { isInsecure, type RegistryConfig } from './session.js';
export { MT, MANIFEST_ACCEPT } from './media-types.js';
export { selectPlatform, parseManifest, type Descriptor, type ImageIndex, type ImageManifest } from './manifest.js';
export { Channel } from './progress.js';
export type { DistributionStore } from './store.js';
