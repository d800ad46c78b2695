import { NotFoundError } from '../errors/index.js';
import type { ImageRecord } from './image-store.js';
import type { Image, ImageRecords } from './image-records.js';
import type { LayerStore } from './layer-store.js';
import { familiarString, isNamed, normalizeForStore, parseAnyReference, tagNameOnly, type Reference } from './reference.js';
import type { TagStore } from './tag-store.js';

// Finding an image by what a user typed, and the record the rest of berth
// sees of it: the pieces kept apart (record, tags, layers) put together.

export interface Catalog {
  images: ImageRecords;
  tags: TagStore;
  layers: LayerStore;
}

/** Docker's GetImage: reference store first, then (short) image IDs. */
export function findImage(c: Catalog, ref: string): Image {
  const parsed = parseAnyReference(ref);
  // Docker's ErrImageDoesNotExist names the reference in familiar form: "No such image: nope:latest".
  const notFound = () => new NotFoundError(`No such image: ${isNamed(parsed) ? familiarString(tagNameOnly(parsed)) : parsed.digest}`);
  if (!isNamed(parsed)) {
    const img = c.images.get(parsed.digest);
    if (!img) throw notFound();
    return img;
  }
  const stored = c.tags.get(normalizeForStore(parsed));
  if (stored !== undefined) {
    const img = c.images.get(stored);
    if (img) return img;
  }
  // A short ID, with or without "sha256:"; ambiguity finds nothing, as in Docker.
  const hex = ref.startsWith('sha256:') ? ref.slice(7) : ref;
  if (/^[a-f0-9]+$/.test(hex)) {
    const matches = [...c.images.ids()].filter((k) => k.startsWith(`sha256:${hex}`));
    if (matches.length === 1) return c.images.get(matches[0]!)!;
  }
  throw notFound();
}

/** The record of `img`, with the references given (all of its own by default). */
export function toRecord(c: Catalog, img: Image, refs: Reference[] = c.tags.refsOf(img.meta.id)): ImageRecord {
  const rec: ImageRecord = {
    id: img.meta.id,
    config: img.config,
    repoTags: refs.filter((r) => r.digest === undefined).map(familiarString),
    repoDigests: refs.filter((r) => r.digest !== undefined).map(familiarString),
    chainIds: [...img.chainIds],
    size: img.chainIds.reduce((n, ch) => n + (c.layers.get(ch)?.size ?? 0), 0),
  };
  if (img.meta.lastTagTime) rec.lastTagTime = img.meta.lastTagTime;
  if (img.meta.parent) rec.parent = img.meta.parent;
  const comment = img.config.comment ?? img.config.history?.[img.config.history.length - 1]?.comment;
  if (comment !== undefined) rec.comment = comment;
  return rec;
}
