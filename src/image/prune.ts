import { InvalidParameterError } from '../errors/index.js';
import type { ImageDeleteResponseItem } from '../types/engine.js';
import type { ImageRecord, ImageStore, RemoveOptions } from './image-store.js';
import { labelMatches, parseUntil } from '../util/filters.js';

// docker image prune, as dockerd's ImagesPrune does it: by default only
// dangling images (no tag, no child image); with dangling=false every image no
// container uses. until / label / label! narrow the choice. Images are removed
// as `rmi` would (untagged, then deleted with their untagged parents); one that
// cannot be removed (a conflict) is skipped.

export interface ImagePruneResponse {
  ImagesDeleted: ImageDeleteResponseItem[] | null;
  SpaceReclaimed: number;
}

export interface PruneDeps {
  store: ImageStore;
  /** Image IDs some container (running or not) was created from. */
  inUse: () => Set<string>;
  /** rmi, with its events. */
  remove: (ref: string, opts: RemoveOptions) => Promise<ImageDeleteResponseItem[]>;
}

const ACCEPTED = ['dangling', 'until', 'label', 'label!'];


function danglingOnly(values: string[] | undefined): boolean {
  let out = true;
  for (const v of values ?? []) {
    const b = v.toLowerCase();
    if (b === 'true' || b === '1') out = true;
    else if (b === 'false' || b === '0') out = false;
    else throw new InvalidParameterError(`invalid filter 'dangling=${v}'`);
  }
  return out;
}

export async function pruneImages(deps: PruneDeps, filters: Record<string, string[]>, now = Date.now()): Promise<ImagePruneResponse> {
  for (const key of Object.keys(filters)) if (!ACCEPTED.includes(key)) throw new InvalidParameterError(`invalid filter '${key}'`);
  const dangling = danglingOnly(filters.dangling);
  const untils = (filters.until ?? []).map((u) => parseUntil(u, now));
  if (untils.length > 1) throw new InvalidParameterError('more than one until filter specified');

  const all = await deps.store.list({ all: true });
  const hasChild = new Set(all.map((i) => i.parent).filter((p): p is string => !!p));
  const inUse = deps.inUse();
  const sizesBefore = await deps.store.layerSizes();

  const chosen = all.filter((img) => {
    if (inUse.has(img.id)) return false;
    // Dangling: untagged heads (an untagged parent goes with its child).
    if (dangling && (img.repoTags.length > 0 || hasChild.has(img.id))) return false;
    if (untils.length && !(Date.parse(img.config.created ?? '1970-01-01T00:00:00Z') < untils[0]!)) return false;
    const labels = img.config.config?.Labels ?? {};
    if (filters.label?.length && !filters.label.every((l) => labelMatches(labels, l))) return false;
    if (filters['label!']?.length && filters['label!'].some((l) => labelMatches(labels, l))) return false;
    return true;
  });

  // Children before parents, so a parent is free when its turn comes.
  const depth = (img: ImageRecord): number => img.chainIds.length;
  chosen.sort((a, b) => depth(b) - depth(a));

  const deleted: ImageDeleteResponseItem[] = [];
  for (const img of chosen) {
    const current = await deps.store.get(img.id);
    if (!current) continue; // went with a child already
    const refs = [...current.repoTags, ...current.repoDigests];
    try {
      if (refs.length === 0) deleted.push(...(await deps.remove(img.id, { force: false, noPrune: false })));
      else for (const ref of refs) deleted.push(...(await deps.remove(ref, { force: false, noPrune: false })));
    } catch {
      // In use by a child image or a container created meanwhile: skipped, as dockerd does.
    }
  }

  const sizesAfter = await deps.store.layerSizes();
  let reclaimed = 0;
  for (const [chain, size] of sizesBefore) if (!sizesAfter.has(chain)) reclaimed += size;
  return { ImagesDeleted: deleted.length ? deleted : null, SpaceReclaimed: reclaimed };
}
