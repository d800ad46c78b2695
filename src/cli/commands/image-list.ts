import type { ImageSummary } from '../../types/engine.js';
import { StatusError, type CommandImpl } from '../command.js';
import { humanDuration, humanSize, renderFormat, shortId, TemplateError } from '../format/index.js';
import { FILTER_FLAG, filtersFrom } from '../options/filters.js';
import { FORMAT_HELP } from '../options/container-options.js';
import { familiarName, parseNormalizedNamed } from '../support/reference.js';
import { goTimeString } from '../support/time.js';

// `berth images`: docker's image table, one row per repository:tag (and
// digest with --digests), dangling images as <none>.

export const DEFAULT_IMAGE_TABLE = 'table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{if .CreatedSince }}{{.CreatedSince}}{{else}}N/A{{end}}\t{{.Size}}';
const DEFAULT_IMAGE_TABLE_WITH_DIGEST = 'table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{if .CreatedSince }}{{.CreatedSince}}{{else}}N/A{{end}}\t{{.Size}}';

export const IMAGE_HEADERS: Record<string, string> = {
  ID: 'IMAGE ID',
  Repository: 'REPOSITORY',
  Tag: 'TAG',
  Digest: 'DIGEST',
  CreatedSince: 'CREATED',
  CreatedAt: 'CREATED AT',
  Size: 'SIZE',
  Containers: 'CONTAINERS',
  VirtualSize: 'SIZE',
  SharedSize: 'SHARED SIZE',
  UniqueSize: 'UNIQUE SIZE',
};

/** docker's formatter imageContext. */
export class ImageRow {
  readonly #i: ImageSummary;
  readonly #trunc: boolean;
  readonly #repo: string;
  readonly #tag: string;
  readonly #digest: string;
  readonly #now: number;

  constructor(i: ImageSummary, trunc: boolean, repo: string, tag: string, digest: string, now = Date.now()) {
    this.#i = i;
    this.#trunc = trunc;
    this.#repo = repo;
    this.#tag = tag;
    this.#digest = digest;
    this.#now = now;
  }

  get ID(): string {
    return this.#trunc ? shortId(this.#i.Id) : this.#i.Id;
  }

  get Repository(): string {
    return this.#repo;
  }

  get Tag(): string {
    return this.#tag;
  }

  get Digest(): string {
    return this.#digest;
  }

  get CreatedSince(): string {
    return `${humanDuration(this.#now - this.#i.Created * 1000)} ago`;
  }

  get CreatedAt(): string {
    return goTimeString(this.#i.Created);
  }

  get Size(): string {
    return humanSize(this.#i.Size, 3);
  }

  get Containers(): string {
    return this.#i.Containers === -1 ? 'N/A' : String(this.#i.Containers);
  }

  get VirtualSize(): string {
    return humanSize(this.#i.Size, 4);
  }

  get SharedSize(): string {
    return this.#i.SharedSize === -1 ? 'N/A' : humanSize(this.#i.SharedSize, 4);
  }

  get UniqueSize(): string {
    return this.#i.Size === -1 || this.#i.SharedSize === -1 ? 'N/A' : humanSize(this.#i.Size - this.#i.SharedSize, 4);
  }
}

function isDangling(img: ImageSummary): boolean {
  const tags = img.RepoTags ?? [];
  const digests = img.RepoDigests ?? [];
  if (tags.length === 0 && digests.length === 0) return true;
  return tags.length === 1 && tags[0] === '<none>:<none>' && digests.length === 1 && digests[0] === '<none>@<none>';
}

/** docker's imageFormat: the rows for one image. */
export function imageRows(img: ImageSummary, opts: { trunc: boolean; digest: boolean; needDigest: boolean; now?: number }): ImageRow[] {
  const now = opts.now ?? Date.now();
  if (isDangling(img)) return [new ImageRow(img, opts.trunc, '<none>', '<none>', '<none>', now)];
  const repoTags = new Map<string, string[]>();
  const repoDigests = new Map<string, string[]>();
  for (const text of img.RepoTags ?? []) {
    try {
      const ref = parseNormalizedNamed(text);
      if (ref.tag) {
        const name = familiarName(ref);
        repoTags.set(name, [...(repoTags.get(name) ?? []), ref.tag]);
      }
    } catch {
      // Not a reference: docker skips it too.
    }
  }
  for (const text of img.RepoDigests ?? []) {
    try {
      const ref = parseNormalizedNamed(text);
      if (ref.digest) {
        const name = familiarName(ref);
        repoDigests.set(name, [...(repoDigests.get(name) ?? []), ref.digest]);
      }
    } catch {
      // As above.
    }
  }
  const rows: ImageRow[] = [];
  for (const [repo, tags] of repoTags) {
    const digests = opts.needDigest ? (repoDigests.get(repo) ?? []) : [];
    repoDigests.delete(repo);
    for (const tag of tags) {
      if (digests.length === 0) rows.push(new ImageRow(img, opts.trunc, repo, tag, '<none>', now));
      else for (const d of digests) rows.push(new ImageRow(img, opts.trunc, repo, tag, d, now));
    }
  }
  for (const [repo, digests] of repoDigests) {
    if (opts.digest) for (const d of digests) rows.push(new ImageRow(img, opts.trunc, repo, '<none>', d, now));
    else rows.push(new ImageRow(img, opts.trunc, repo, '<none>', '', now));
  }
  return rows;
}

/** docker's NewImageFormat. */
export function imageFormat(source: string, quiet: boolean, digest: boolean): string {
  if (source === 'table') {
    if (quiet) return '{{.ID}}';
    return digest ? DEFAULT_IMAGE_TABLE_WITH_DIGEST : DEFAULT_IMAGE_TABLE;
  }
  if (source === 'raw') {
    if (quiet) return 'image_id: {{.ID}}';
    return digest
      ? 'repository: {{ .Repository }}\ntag: {{.Tag}}\ndigest: {{.Digest}}\nimage_id: {{.ID}}\ncreated_at: {{.CreatedAt}}\nvirtual_size: {{.Size}}\n'
      : 'repository: {{ .Repository }}\ntag: {{.Tag}}\nimage_id: {{.ID}}\ncreated_at: {{.CreatedAt}}\nvirtual_size: {{.Size}}\n';
  }
  if (source.startsWith('table') && digest && !source.includes('{{.Digest}}')) return `${source}\t{{.Digest}}`;
  return source;
}

const SUBCOMMAND_NAMES = ['build', 'history', 'import', 'inspect', 'list', 'load', 'ls', 'prune', 'pull', 'push', 'rm', 'save', 'tag'];

interface ImagesValues {
  quiet: boolean;
  all: boolean;
  noTrunc: boolean;
  digests: boolean;
  format: string;
  filter: Array<[string, string] | undefined>;
}

export const imagesCommand: CommandImpl<ImagesValues> = {
  flags: [
    { name: 'quiet', short: 'q', kind: 'bool', usage: 'Only show image IDs' },
    { name: 'all', short: 'a', kind: 'bool', usage: 'Show all images (default hides intermediate images)' },
    { name: 'no-trunc', kind: 'bool', usage: "Don't truncate output" },
    { name: 'digests', kind: 'bool', usage: 'Show digests' },
    { name: 'format', kind: 'string', usage: FORMAT_HELP },
    FILTER_FLAG,
  ],
  args: { kind: 'max', n: 1 },
  async run(ctx, values, args) {
    const filters = filtersFrom(values.filter);
    const matchName = args[0];
    if (matchName) (filters.reference ??= []).push(matchName);
    const images = await ctx.client().imageList({ all: values.all, filters });
    const format = imageFormat(values.format || 'table', values.quiet, values.digests);
    const needDigest = values.digests || format.includes('{{.Digest}}');
    const now = Date.now();
    const rows = images.flatMap((img) => imageRows(img, { trunc: !values.noTrunc, digest: values.digests, needDigest, now }));
    try {
      ctx.out(renderFormat(format, rows, { defaultTable: DEFAULT_IMAGE_TABLE, headers: IMAGE_HEADERS }));
    } catch (err) {
      if (err instanceof TemplateError) throw new StatusError(err.message, 1);
      throw err;
    }
    if (matchName && images.length === 0 && ctx.commandPath.endsWith(' images') && SUBCOMMAND_NAMES.includes(matchName)) {
      ctx.err(`\nNo images found matching ${JSON.stringify(matchName)}: did you mean "berth image ${matchName}"?\n`);
    }
    return 0;
  },
};
