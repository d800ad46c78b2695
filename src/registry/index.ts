// berth's registry server (OCI Distribution spec / Docker Registry v2 API).
export { RegistryServer, parseListenAddress, type RegistryServerOptions } from './server.js';
export { RegistryStorage } from './storage.js';
export { RegistryHttpError, type RegistryErrorCode } from './errors.js';
