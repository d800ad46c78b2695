import { InvalidParameterError } from '../errors/index.js';
import { writeJsonAtomic } from '../util/atomic-file.js';
import { readJson, repositoriesPath } from './layout.js';
import { familiarName, familiarString, normalizeForStore, parseNormalizedNamed, referenceString, type Reference } from './reference.js';

// References and tags: repo:tag and repo@digest -> image ID, kept in
// repositories.json in Docker's format ({"Repositories": {name: {ref: id}}}),
// rewritten whole (atomically) on every change.

interface RepositoriesFile {
  Repositories: Record<string, Record<string, string>>;
}

/** repo[:tag] for tag/import/commit: a name, never a digest; ":latest" by default. */
export function parseTagTarget(target: string): Reference {
  const ref = parseNormalizedNamed(target);
  if (ref.digest !== undefined) throw new InvalidParameterError('refusing to create a tag with a digest reference');
  return normalizeForStore(ref);
}

export class TagStore {
  /** Stored references by referenceString of the normalised form. */
  private readonly refs = new Map<string, { ref: Reference; id: string }>();

  constructor(private readonly root: string) {}

  /** Reads the references that point at an image that exists. */
  async load(exists: (id: string) => boolean): Promise<void> {
    const repos = await readJson<RepositoriesFile>(repositoriesPath(this.root));
    for (const byRef of Object.values(repos?.Repositories ?? {})) {
      for (const [ref, id] of Object.entries(byRef)) {
        if (!exists(id)) continue;
        try {
          this.put(normalizeForStore(parseNormalizedNamed(ref)), id);
        } catch {
          // A reference this version cannot parse: dropped at the next save.
        }
      }
    }
  }

  /** The image a normalised reference points at. */
  get(ref: Reference): string | undefined {
    return this.refs.get(referenceString(ref))?.id;
  }

  /** Points a normalised reference at `id` (in memory: save() persists). */
  put(ref: Reference, id: string): void {
    this.refs.set(referenceString(ref), { ref, id });
  }

  delete(ref: Reference): void {
    this.refs.delete(referenceString(ref));
  }

  /** The references to image `id`, in familiar order. */
  refsOf(id: string): Reference[] {
    const out: Reference[] = [];
    for (const r of this.refs.values()) if (r.id === id) out.push(r.ref);
    return out.sort((a, b) => familiarString(a).localeCompare(familiarString(b)));
  }

  async save(): Promise<void> {
    const file: RepositoriesFile = { Repositories: {} };
    for (const { ref, id } of [...this.refs.values()].sort((a, b) => familiarString(a.ref).localeCompare(familiarString(b.ref)))) {
      (file.Repositories[familiarName(ref)] ??= {})[familiarString(ref)] = id;
    }
    await writeJsonAtomic(repositoriesPath(this.root), file);
  }

  /** Startup repair: drops the tags of images that did not survive; saves when something changed or the file is missing. */
  async sweep(exists: (id: string) => boolean): Promise<void> {
    const before = this.refs.size;
    for (const [k, { id }] of this.refs) if (!exists(id)) this.refs.delete(k);
    if (this.refs.size !== before || !(await readJson(repositoriesPath(this.root)))) await this.save();
  }
}
