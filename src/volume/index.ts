// Volumes: the store and its drivers, and the resolution of a container's mounts.
export { VolumeService, ANONYMOUS_LABEL, type VolumeServiceOptions, type ResolveRequest } from './service.js';
export type { VolumeDriver } from './driver.js';
export { parseMounts, parseVolumesFrom, type MountRecord, type RuntimeMount, type VolumesFromSource } from './mounts.js';
export { validateVolumeName } from './names.js';
