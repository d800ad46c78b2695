import { InvalidParameterError } from '../errors/index.js';
import { labelMatches, parseUntil } from '../util/filters.js';
import type { ImageRecord, ListOptions } from './image-store.js';
import { ZERO_TIME } from './layout.js';
import { findImage, toRecord, type Catalog } from './lookup.js';
import { familiarMatch } from './reference.js';

// docker images: Docker's list filters (dangling, label, before, since,
// reference, until), intermediate images only with `all`, newest first.

const FILTERS = ['dangling', 'label', 'before', 'since', 'reference', 'until'];

export function listImages(c: Catalog, opts: ListOptions = {}): ImageRecord[] {
  const filters = opts.filters ?? {};
  for (const key of Object.keys(filters)) {
    if (!FILTERS.includes(key)) throw new InvalidParameterError(`invalid filter '${key}'`);
  }
  let danglingOnly: boolean | undefined;
  for (const v of filters['dangling'] ?? []) {
    const b = v.toLowerCase();
    if (b === 'true' || b === '1') danglingOnly = true;
    else if (b === 'false' || b === '0') danglingOnly = danglingOnly ?? false;
    else throw new InvalidParameterError(`invalid filter 'dangling=${v}'`);
  }
  const created = (config: { created?: string }) => Date.parse(config.created ?? ZERO_TIME);
  let before: number | undefined;
  let since: number | undefined;
  for (const v of filters['before'] ?? []) before = created(findImage(c, v).config);
  for (const v of filters['since'] ?? []) since = created(findImage(c, v).config);
  let until: number | undefined;
  for (const v of filters['until'] ?? []) until = parseUntil(v);
  const labels = filters['label'] ?? [];
  const patterns = filters['reference'] ?? [];

  const out: ImageRecord[] = [];
  for (const img of c.images.values()) {
    const t = created(img.config);
    if (before !== undefined && !(t < before)) continue;
    if (since !== undefined && !(t > since)) continue;
    if (until !== undefined && !(t < until)) continue;
    const imgLabels = img.config.config?.Labels ?? {};
    if (!labels.every((l) => labelMatches(imgLabels, l))) continue;
    let refs = c.tags.refsOf(img.meta.id);
    if (patterns.length > 0) refs = refs.filter((r) => patterns.some((p) => familiarMatch(p, r)));
    const rec = toRecord(c, img, refs);
    if (rec.repoTags.length === 0 && rec.repoDigests.length === 0) {
      // Untagged: shown only as a head (intermediate images need `all`),
      // never for dangling=false or a reference filter.
      if (!opts.all && c.images.childrenOf(img.meta.id).length > 0) continue;
      if (danglingOnly === false || patterns.length > 0) continue;
    } else if (danglingOnly && rec.repoTags.length > 0) {
      continue;
    }
    out.push(rec);
  }
  // Newest first, as docker images prints them.
  return out.sort((a, b) => created(b.config) - created(a.config));
}
