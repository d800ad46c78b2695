import type { ImageRecord, OciImageConfig } from '../image/image-store.js';
import type { BuildImages } from './backend.js';
import { clone } from './build-job.js';

// --cache-from, as dockerd's classic builder matches those images: by
// history rather than by parent chain, so images that were pulled or loaded
// (which have no parent here) are cache too. An image whose history starts
// with the current image's history and layers and whose next entry is this
// step's text matches: if that entry is its last, the image itself is the
// step's result; otherwise an image of its history up to that entry (with
// that entry's layer, if it made one) is stored and used, and the rest of the
// stage follows that same image. With --cache-from, a hit of the local cache
// counts only when it is in those images' parent chains, as in dockerd.

type HistoryEntry = NonNullable<OciImageConfig['history']>[number];

/** History entries as dockerd compares them (reflect.DeepEqual of its History struct). */
function sameHistory(a: HistoryEntry, b: HistoryEntry): boolean {
  return (a.created ?? '') === (b.created ?? '') && (a.author ?? '') === (b.author ?? '') && (a.created_by ?? '') === (b.created_by ?? '')
    && (a.comment ?? '') === (b.comment ?? '') && (a.empty_layer ?? false) === (b.empty_layer ?? false);
}

/** The --cache-from images of one stage. */
export class CacheFromImages {
  private sources: Promise<ImageRecord[]> | undefined;
  private chains: Promise<Set<string>> | undefined;

  constructor(
    private readonly images: BuildImages,
    private readonly refs: readonly string[],
    private readonly log?: (msg: string) => void,
  ) {}

  get enabled(): boolean {
    return this.refs.length > 0;
  }

  private candidates(): Promise<ImageRecord[]> {
    this.sources ??= (async () => {
      const out: ImageRecord[] = [];
      for (const ref of this.refs) {
        const img = await this.images.resolve(ref).catch(() => undefined);
        if (img) out.push(img);
        else this.log?.(`build: --cache-from ${ref}: no such image, skipped`);
      }
      return out;
    })();
    return this.sources;
  }

  /** Whether a local cache hit may be used: it is one of the images or an ancestor of one. */
  async allows(id: string): Promise<boolean> {
    this.chains ??= (async () => {
      const ids = new Set<string>();
      for (const src of await this.candidates()) {
        for (let cur: ImageRecord | undefined = src; cur && !ids.has(cur.id); cur = cur.parent ? await this.images.get(cur.parent) : undefined) ids.add(cur.id);
      }
      return ids;
    })();
    return (await this.chains).has(id);
  }

  /**
   * The image for the step `createdBy` on top of `parentId` (whose config the
   * step turned into `config`), or undefined when no image continues there.
   */
  async match(parentId: string, config: OciImageConfig, createdBy: string): Promise<ImageRecord | undefined> {
    const parent = parentId ? await this.images.get(parentId) : undefined;
    const parentHistory = parent?.config.history ?? [];
    const parentLayers = parent?.config.rootfs.diff_ids ?? [];
    for (const target of await this.candidates()) {
      const history = target.config.history ?? [];
      const layers = target.config.rootfs.diff_ids;
      if (history.length === 0) continue;
      if (parent && (parentHistory.length > 0 || parentLayers.length > 0)) {
        if (parentHistory.length >= history.length || parentLayers.length > layers.length) continue;
        if (!parentHistory.every((h, i) => sameHistory(h, history[i]!))) continue;
        if (!parentLayers.every((d, i) => d === layers[i])) continue;
      }
      const entry = history[parentHistory.length]!;
      if ((entry.created_by ?? '') !== createdBy) continue;
      if (history.length - 1 === parentHistory.length) return target;
      const restored = clone(config);
      restored.history = [...parentHistory, entry];
      const before = history.slice(0, parentHistory.length).filter((h) => !h.empty_layer).length;
      restored.rootfs = { type: 'layers', diff_ids: entry.empty_layer ? [...parentLayers] : [...parentLayers, layers[before]!] };
      // Its date is the entry's: the same step restored again is the same image.
      if (entry.created) restored.created = entry.created;
      else delete restored.created;
      const img = await this.images.createImage(restored, parentId ? { parent: parentId } : {});
      // Once an image matched, the rest of the stage follows it alone.
      this.sources = Promise.resolve([target]);
      return img;
    }
    return undefined;
  }
}
