export {
  NetworkService, type NetworkServiceOptions, type ContainerLookup, type ContainerNetworkRequest, type SandboxGrant,
} from './service.js';
export { DEFAULT_POOLS, parsePool, type AddressPool } from './ipam.js';
export { findCniPath } from './cni.js';
export { HOST_LOCK_PATH } from './host-lock.js';
