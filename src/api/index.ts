export { ApiServer, API_VERSION, MIN_API_VERSION, type ApiServerOptions, type TlsListenOptions } from './server.js';
export { Router, type Route, type ApiContext } from './router.js';
export { statusForError } from './status.js';
export { systemRoutes } from './routes/system.js';
export { containerRoutes } from './routes/containers.js';
export { execRoutes } from './routes/exec.js';
export { imageRoutes } from './routes/images.js';
export { volumeRoutes } from './routes/volumes.js';
export type { ContainerBackend, ExecBackend, ImageBackend, SystemBackend, VolumeBackend } from './routes/backend.js';
