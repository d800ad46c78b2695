import { hexOf } from '../content/index.js';
import { ConflictError } from '../errors/index.js';
import type { ImageDeleteResponseItem } from '../types/engine.js';
import type { ImageUsers, RemoveOptions } from './image-store.js';
import { shortId } from './layout.js';
import { findImage, type Catalog } from './lookup.js';
import { normalizeForStore, parseNormalizedNamed, referenceString, familiarString, type Reference } from './reference.js';

// docker rmi, as dockerd's ImageDelete decides it: a repository reference is
// untagged first and the image deleted only when nothing else names it; an ID
// deletes the image with its one tag (and that tag's digests); conflicts
// (child images, other tags, containers) in dockerd's words; untagged parents
// pruned unless told not to. Everything here runs inside the store's lock.

export interface RmiContext extends Catalog {
  imageUsers: ImageUsers;
}

class DeleteConflict extends ConflictError {
  constructor(id: string, readonly hard: boolean, readonly used: boolean, reason: string) {
    super(`conflict: unable to delete ${shortId(id)} (${hard ? 'cannot be forced' : 'must be forced'}) - ${reason}`);
  }
}

function isImageIdPrefix(id: string, ref: string): boolean {
  return id.startsWith(ref) || hexOf(id).startsWith(ref);
}

/** One tag (plus digests of that same repository) names the image. */
function isSingleReference(refs: Reference[]): boolean {
  if (refs.length <= 1) return refs.length === 1;
  let single: Reference | undefined;
  const canonical = new Set<string>();
  for (const r of refs) {
    if (r.digest !== undefined) canonical.add(referenceString({ domain: r.domain, path: r.path }));
    else if (single === undefined) single = r;
    else return false;
  }
  single ??= refs[0]!;
  return canonical.size === 1 && canonical.has(referenceString({ domain: single.domain, path: single.path }));
}

/** Docker's checkImageDeleteConflict; container users are all treated as "stopped" (names are all we know). */
function deleteConflict(c: RmiContext, id: string, opts: { hard: boolean; references: boolean; users: boolean }): DeleteConflict | undefined {
  if (opts.hard && c.images.childrenOf(id).length > 0) return new DeleteConflict(id, true, false, 'image has dependent child images');
  if (opts.references && c.tags.refsOf(id).length > 0) return new DeleteConflict(id, false, false, 'image is referenced in multiple repositories');
  if (opts.users) {
    const users = c.imageUsers(id);
    if (users.length > 0) return new DeleteConflict(id, false, true, `image is being used by stopped container ${users[0]}`);
  }
  return undefined;
}

function untag(c: RmiContext, ref: Reference, records: ImageDeleteResponseItem[]): void {
  c.tags.delete(ref);
  records.push({ Untagged: familiarString(ref) });
}

export async function removeImage(c: RmiContext, ref: string, opts: RemoveOptions = {}): Promise<ImageDeleteResponseItem[]> {
  const force = opts.force === true;
  const img = findImage(c, ref);
  const id = img.meta.id;
  const records: ImageDeleteResponseItem[] = [];
  let repoRefs = c.tags.refsOf(id);
  let quiet = false;
  try {
    if (!isImageIdPrefix(id, ref)) {
      // A repository reference: untag it first.
      const users = c.imageUsers(id);
      if (!force && isSingleReference(repoRefs) && users.length > 0) {
        throw new ConflictError(`conflict: unable to remove repository reference "${ref}" (must force) - container ${users[0]} is using its referenced image ${shortId(id)}`);
      }
      const parsed = normalizeForStore(parseNormalizedNamed(ref));
      untag(c, parsed, records);
      repoRefs = c.tags.refsOf(id);
      if (parsed.digest === undefined) {
        // Its last tag in this repository gone: the repository's digests go too.
        const sameRepo = (r: Reference) => r.domain === parsed.domain && r.path === parsed.path;
        if (!repoRefs.some((r) => r.digest === undefined && sameRepo(r))) {
          for (const r of repoRefs) if (r.digest !== undefined && sameRepo(r)) untag(c, r, records);
          repoRefs = c.tags.refsOf(id);
        }
      }
      if (repoRefs.length > 0) return records;
      quiet = true;
    } else if (isSingleReference(repoRefs)) {
      // An ID with one tag (plus its digests): remove those with the image.
      const conflict = deleteConflict(c, id, { hard: true, references: false, users: !force });
      if (conflict) throw conflict;
      for (const r of repoRefs) untag(c, r, records);
    }
    await deleteImage(c, id, records, force, opts.noPrune !== true, quiet);
    return records;
  } finally {
    // Whatever was untagged stays untagged, even if deleting failed after.
    if (records.length > 0) await c.tags.save();
  }
}

/** Docker's imageDeleteHelper. */
async function deleteImage(c: RmiContext, id: string, records: ImageDeleteResponseItem[], force: boolean, prune: boolean, quiet: boolean): Promise<void> {
  const conflict = deleteConflict(c, id, { hard: true, references: !force, users: !force });
  if (conflict) {
    // Pruning parents stops quietly at one that is tagged, used or has another child (not dangling).
    if (quiet && (c.tags.refsOf(id).length > 0 || c.images.childrenOf(id).length > 0 || conflict.used)) return;
    throw conflict;
  }
  for (const r of c.tags.refsOf(id)) untag(c, r, records);
  // A container still uses it: forced, it loses its tags but stays, so the
  // container keeps a working image (Docker refuses for running ones).
  if (c.imageUsers(id).length > 0) return;
  const img = c.images.get(id)!;
  const parent = img.meta.parent;
  await c.tags.save();
  // The image record is the commit point: once it is gone, the rest is garbage.
  await c.images.delete(id);
  records.push({ Deleted: id });
  for (const chainId of await c.layers.releaseChain(img.chainIds, c.images.usedChains())) records.push({ Deleted: chainId });
  if (prune && parent !== undefined && c.images.has(parent)) await deleteImage(c, parent, records, false, true, true);
}
