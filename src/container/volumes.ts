import type { HostConfig } from '../types/engine.js';
import { parseMounts, parseVolumesFrom, type MountRecord, type VolumesFromSource } from '../volume/index.js';
import { InvalidParameterError, NotFoundError } from '../errors/index.js';
import type { ContainerRecord } from './record.js';

// The container side of volumes: what a record says about its mounts, and
// the mounts --volumes-from borrows. The volume subsystem never reads
// container records; these helpers hand it what it needs.

/** A record's mounts; records from before volumes existed kept only their host config. */
export function mountsOf(r: ContainerRecord): MountRecord[] {
  return r.mounts ?? parseMounts(r.hostConfig, null);
}

/** The mounts of each --volumes-from container, found with `lookup`. */
export function volumesFromSources(h: HostConfig, lookup: (ref: string) => ContainerRecord): VolumesFromSource[] {
  return (h.VolumesFrom ?? []).map((spec) => {
    const { container } = parseVolumesFrom(spec);
    try {
      return { spec, mounts: mountsOf(lookup(container)) };
    } catch (err) {
      // 400, not dockerd's 404: the docker CLI reads a 404 from create as a missing image.
      if (err instanceof NotFoundError) throw new InvalidParameterError(err.message, { cause: err });
      throw err;
    }
  });
}
