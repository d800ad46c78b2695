import type { ImageBackend } from '../api/index.js';
import type { ImageStore } from '../image/image-store.js';
import type { EventBus } from '../events/index.js';
import type { ContainerService } from '../container/index.js';
import type { DistributionService } from '../distribution/index.js';
import { decodeRegistryAuth } from '../distribution/index.js';
import { familiarString, parseNormalizedNamed, pruneImages, tagNameOnly } from '../image/index.js';
import { parseUntil } from '../container/prune.js';

/** The image routes' backend: the store, plus the image events dockerd emits. */
export function imageBackend(images: ImageStore, containers: ContainerService, events: EventBus, distribution: DistributionService): ImageBackend {
  return {
    store: images,
    async importTarball(body, opts) {
      const img = await images.importTarball(body, opts);
      events.emit('image', 'import', img.id, { name: img.repoTags[0] ?? img.id });
      return img;
    },
    async tag(source, target) {
      await images.tag(source, target);
      const img = await images.resolve(target);
      events.emit('image', 'tag', img.id, { name: familiarString(tagNameOnly(parseNormalizedNamed(target))) });
    },
    async remove(ref, opts) {
      const target = await images.resolve(ref).catch(() => undefined);
      const items = await images.remove(ref, opts);
      for (const item of items) {
        if (item.Untagged) events.emit('image', 'untag', target?.id ?? item.Untagged, { name: item.Untagged });
        if (item.Deleted) events.emit('image', 'delete', item.Deleted, { name: item.Deleted });
      }
      return items;
    },
    async prune(filters) {
      const idOf = new Map((await images.list({ all: true })).flatMap((img) => [...img.repoTags, ...img.repoDigests].map((r) => [r, img.id] as const)));
      const report = await pruneImages(images, filters, new Set(containers.imageIdsInUse()), parseUntil);
      for (const item of report.ImagesDeleted ?? []) {
        if (item.Untagged) events.emit('image', 'untag', idOf.get(item.Untagged) ?? item.Untagged, { name: item.Untagged });
        if (item.Deleted) events.emit('image', 'delete', item.Deleted, { name: item.Deleted });
      }
      events.emit('image', 'prune', '', { reclaimed: String(report.SpaceReclaimed) });
      return report;
    },
    containerCounts() {
      const counts = new Map<string, number>();
      for (const id of containers.imageIdsInUse()) counts.set(id, (counts.get(id) ?? 0) + 1);
      return counts;
    },
    pull(req) {
      return distribution.pull({
        image: req.image,
        ...(req.tag !== undefined ? { tag: req.tag } : {}),
        ...(req.platform !== undefined ? { platform: req.platform } : {}),
        allTags: req.allTags === true,
        auth: decodeRegistryAuth(req.registryAuth),
        signal: req.signal,
      });
    },
  };
}
