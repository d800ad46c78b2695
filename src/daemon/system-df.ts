import type { ContainerService } from '../container/index.js';
import type { ImageStore } from '../image/image-store.js';
import type { Snapshotter } from '../snapshot/snapshotter.js';
import type { VolumeService } from '../volume/index.js';
import type { SystemDfResponse } from '../types/volume.js';

/** GET /system/df: disk use of images, containers, volumes and the build cache. */
export async function systemDf(
  parts: { images: ImageStore; containers: ContainerService; volumes: VolumeService; snapshotter: Snapshotter; buildCache?: () => Promise<unknown[]> },
  types: string[],
): Promise<SystemDfResponse> {
  const want = (t: string) => types.length === 0 || types.includes(t);
  const out: SystemDfResponse = { LayersSize: 0, Images: [], Containers: [], Volumes: [], BuildCache: [] };
  if (want('image')) {
    const counts = new Map<string, number>();
    for (const id of parts.containers.imageIdsInUse()) counts.set(id, (counts.get(id) ?? 0) + 1);
    out.Images = (await parts.images.list({ all: true })).map((img) => parts.images.summary(img, counts.get(img.id) ?? 0));
    for (const snap of await parts.snapshotter.list()) {
      if (snap.kind === 'committed') out.LayersSize += (await parts.snapshotter.usage(snap.key).catch(() => ({ size: 0 }))).size;
    }
  }
  if (want('container')) out.Containers = await parts.containers.list({ all: true, size: true });
  if (want('volume')) out.Volumes = await parts.volumes.usage();
  if (want('build-cache') && parts.buildCache) out.BuildCache = await parts.buildCache();
  return out;
}
