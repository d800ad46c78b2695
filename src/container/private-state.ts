import { chmod } from 'node:fs/promises';
import { join } from 'node:path';
export { privateDir } from '../util/private-dir.js';

// What berth keeps about a container holds its secrets (the environment is in
// the record and in the bundle's config.json), so only root reads it. The
// modes follow dockerd's: the container directory is 0710 (root-group
// traversable, nothing listable), the record and the log 0600 (dockerd's json-file log is 0640). hosts,
// hostname and resolv.conf stay 0644: they are bind-mounted into the
// container, where a non-root user must be able to read them (the bind mount
// does not need the host directories above them to be open). The runtime's
// side (bundles with their config.json, exit codes) is private in
// src/runtime/conmon-tasks.ts.

export const CONTAINERS_ROOT_MODE = 0o710;
export const CONTAINER_DIR_MODE = 0o710;
export const RECORD_MODE = 0o600;
export const LOG_MODE = 0o600;
export const ETC_FILE_MODE = 0o644;

/** Brings a container directory made by an older berth to today's modes; what is missing is skipped. */
export async function tightenContainerDir(dir: string): Promise<void> {
  await chmod(dir, CONTAINER_DIR_MODE).catch(() => {});
  await chmod(join(dir, 'container.json'), RECORD_MODE).catch(() => {});
  await chmod(join(dir, 'container.log'), LOG_MODE).catch(() => {});
}
