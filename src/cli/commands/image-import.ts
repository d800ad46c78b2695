import { open } from 'node:fs/promises';
import { StatusError, type CommandImpl } from '../command.js';
import { displayJsonMessages } from '../jsonmessage.js';
import { goPathError } from '../support/path-error.js';
import { parseNormalizedNamed } from '../support/reference.js';

// `berth import`: a root filesystem tarball (a file, or `-` for stdin)
// streamed to POST /images/create?fromSrc=-; prints the new image's ID.

interface ImportValues {
  change: string[];
  message: string;
  platform: string;
}

/** Splits REPOSITORY[:TAG] into the repo and tag query parameters (as docker's client sends them). */
export function splitRepositoryTag(reference: string): { repo: string; tag?: string } {
  if (reference === '') return { repo: '' };
  const ref = parseNormalizedNamed(reference);
  if (ref.digest) throw new Error('import reference must not be a digest');
  const slash = reference.lastIndexOf('/');
  const colon = reference.lastIndexOf(':');
  if (colon > slash) return { repo: reference.slice(0, colon), tag: reference.slice(colon + 1) };
  return { repo: reference };
}

export const importCommand: CommandImpl<ImportValues> = {
  flags: [
    { name: 'change', short: 'c', kind: 'list', usage: 'Apply Dockerfile instruction to the created image' },
    { name: 'message', short: 'm', kind: 'string', usage: 'Set commit message for imported image' },
    { name: 'platform', kind: 'string', usage: 'Set platform if server is multi-platform capable', default: process.env.DOCKER_DEFAULT_PLATFORM ?? '' },
  ],
  args: { kind: 'min', n: 1 },
  async run(ctx, values, [source, reference = '']) {
    let target: { repo: string; tag?: string };
    try {
      target = splitRepositoryTag(reference);
    } catch (err) {
      throw new StatusError((err as Error).message, 1);
    }
    if (/^https?:\/\//.test(source!)) throw new StatusError('importing from a URL is not supported by berth; download the file and import it from disk', 1);
    let body: NodeJS.ReadableStream;
    if (source === '-') body = ctx.stdin;
    else {
      // Open first, so a missing file fails before anything is sent (with Go's wording).
      try {
        const handle = await open(source!, 'r');
        body = handle.createReadStream();
      } catch (err) {
        throw new StatusError(goPathError('open', source!, err), 1);
      }
    }
    const progress = await ctx.client().imageImport(body, {
      repo: target.repo,
      tag: target.tag,
      changes: values.change,
      message: values.message,
      platform: values.platform,
    });
    await displayJsonMessages(progress, ctx.stdout);
    return 0;
  },
};
