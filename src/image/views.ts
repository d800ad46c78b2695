import { InvalidParameterError } from '../errors/index.js';
import type { ImageHistoryItem, ImageInspect, ImageSummary } from '../types/engine.js';
import type { ImageRecord } from './image-store.js';
import type { Image } from './image-records.js';
import { ZERO_TIME } from './layout.js';
import { findImage, type Catalog } from './lookup.js';
import { familiarString } from './reference.js';

// What the API shows of images: docker images rows, docker image inspect,
// docker history. Built from records; nothing here changes the store.

function seconds(iso: string | undefined): number {
  const t = iso ? Date.parse(iso) : NaN;
  return Number.isNaN(t) ? 0 : Math.floor(t / 1000);
}

export function imageSummary(img: ImageRecord, containers: number): ImageSummary {
  return {
    Id: img.id,
    ParentId: img.parent ?? '',
    RepoTags: img.repoTags,
    RepoDigests: img.repoDigests,
    Created: seconds(img.config.created),
    Size: img.size,
    SharedSize: -1,
    Labels: img.config.config?.Labels ?? {},
    Containers: containers,
  };
}

export function imageInspect(img: ImageRecord, graphDriver: string): ImageInspect {
  const out: ImageInspect = {
    Id: img.id,
    RepoTags: img.repoTags,
    RepoDigests: img.repoDigests,
    Parent: img.parent ?? '',
    Comment: img.comment ?? '',
    Created: img.config.created ?? ZERO_TIME,
    DockerVersion: '',
    Author: img.config.author ?? '',
    Config: img.config.config ?? {},
    Architecture: img.config.architecture,
    Os: img.config.os,
    Size: img.size,
    GraphDriver: { Name: graphDriver, Data: null },
    RootFS: { Type: 'layers', Layers: [...img.config.rootfs.diff_ids] },
    Metadata: { LastTagTime: img.lastTagTime ?? ZERO_TIME },
  };
  if (img.config.variant) out.Variant = img.config.variant;
  return out;
}

/** docker history: the config's history, newest first, with sizes from the layers and IDs and tags along the parent chain. */
export function imageHistory(c: Catalog, ref: string): ImageHistoryItem[] {
  const top = findImage(c, ref);
  const items: ImageHistoryItem[] = [];
  let layer = 0;
  for (const h of top.config.history ?? []) {
    let size = 0;
    if (!h.empty_layer) {
      const chainId = top.chainIds[layer++];
      if (chainId === undefined) throw new InvalidParameterError('too many non-empty layers in History section');
      size = c.layers.get(chainId)?.size ?? 0;
    }
    items.unshift({ Id: '<missing>', Created: seconds(h.created), CreatedBy: h.created_by ?? '', Tags: [], Size: size, Comment: h.comment ?? '' });
  }
  // IDs and tags along the parent chain, newest first, as Docker fills them.
  let img: Image | undefined = top;
  for (const item of items) {
    if (!img) break;
    item.Id = img.meta.id;
    item.Tags = c.tags.refsOf(img.meta.id).filter((r) => r.digest === undefined).map(familiarString);
    img = img.meta.parent !== undefined ? c.images.get(img.meta.parent) : undefined;
  }
  return items;
}
