import { InvalidParameterError } from '../errors/index.js';
import type { ImageDeleteResponseItem } from '../types/engine.js';
import type { ImageRecord, ImageStore } from './image-store.js';

// `docker image prune` as dockerd does it: dangling images only (no tag, no
// digest) unless dangling=false, then every image no container uses; never
// an image another image names as its parent; until, label and label!
// filters on the image's creation time and labels.

export interface ImagePruneReport {
  ImagesDeleted: ImageDeleteResponseItem[] | null;
  SpaceReclaimed: number;
}

/** dockerd's until: a Go duration before now, a Unix time or a date, to epoch ms. */
export type ParseUntil = (value: string, now: number) => number;

export async function pruneImages(
  store: ImageStore,
  filters: Record<string, string[]>,
  inUse: ReadonlySet<string>,
  parseUntil: ParseUntil,
  now = Date.now(),
): Promise<ImagePruneReport> {
  for (const key of Object.keys(filters)) {
    if (!['dangling', 'until', 'label', 'label!'].includes(key)) throw new InvalidParameterError(`invalid filter '${key}'`);
  }
  let danglingOnly = true;
  for (const v of filters.dangling ?? []) {
    if (v === 'false' || v === '0') danglingOnly = false;
    else if (v !== 'true' && v !== '1') throw new InvalidParameterError(`invalid filter 'dangling=${v}'`);
  }
  const untils = (filters.until ?? []).map((u) => parseUntil(u, now));
  if (untils.length > 1) throw new InvalidParameterError('more than one until filter specified');
  const all = await store.list({ all: true });
  const parents = new Set(all.map((i) => i.parent).filter((p): p is string => p !== undefined));
  const wanted = (img: ImageRecord) => {
    if (inUse.has(img.id) || parents.has(img.id)) return false;
    if (danglingOnly && (img.repoTags.length > 0 || img.repoDigests.length > 0)) return false;
    const created = Date.parse(img.config.created ?? '');
    if (untils.length && !(created < untils[0]!)) return false;
    const labels = img.config.config?.Labels ?? {};
    if (filters.label?.length && !filters.label.every((l) => labelMatches(labels, l))) return false;
    if (filters['label!']?.length && filters['label!'].some((l) => labelMatches(labels, l))) return false;
    return true;
  };
  const deleted: ImageDeleteResponseItem[] = [];
  let reclaimed = 0;
  for (const img of all.filter(wanted)) {
    // Layer sizes first: once removed, the store no longer knows them.
    const sizes = new Map<string, number>();
    for (const c of img.chainIds) sizes.set(c, (await store.layer(c))?.size ?? 0);
    try {
      // Each tag goes first (as `docker rmi` by name would), then the image by ID.
      for (const ref of [...img.repoTags, ...img.repoDigests]) deleted.push(...(await store.remove(ref, { force: false })));
      if (await store.get(img.id)) deleted.push(...(await store.remove(img.id, { force: false })));
    } catch {
      // Taken meanwhile (a new container, a new child): dockerd skips it as well.
      continue;
    }
    for (const item of deleted) if (item.Deleted && sizes.has(item.Deleted)) reclaimed += sizes.get(item.Deleted)!, sizes.delete(item.Deleted);
  }
  return { ImagesDeleted: deleted.length ? deleted : null, SpaceReclaimed: reclaimed };
}

function labelMatches(labels: Record<string, string>, filter: string): boolean {
  const eq = filter.indexOf('=');
  if (eq < 0) return filter in labels;
  return labels[filter.slice(0, eq)] === filter.slice(eq + 1);
}
