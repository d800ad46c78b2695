import { ApiError } from '../../client/index.js';
import { StatusError, type CommandImpl } from '../command.js';
import { familiarName, parseNormalizedNamed, withDefaultTag } from '../support/reference.js';

// `berth rmi` and `berth tag`.

function describe(err: unknown): string {
  if (err instanceof ApiError) return err.toString();
  return err instanceof Error ? err.message : String(err);
}

export const rmiCommand: CommandImpl<{ force: boolean; noPrune: boolean }> = {
  flags: [
    { name: 'force', short: 'f', kind: 'bool', usage: 'Force removal of the image' },
    { name: 'no-prune', kind: 'bool', usage: 'Do not delete untagged parents' },
  ],
  args: { kind: 'min', n: 1 },
  async run(ctx, values, images) {
    const client = ctx.client();
    const errors: string[] = [];
    // Only "no such image" may be forgiven by --force.
    let fatal = false;
    for (const image of images) {
      try {
        for (const item of await client.imageRemove(image, { force: values.force, noPrune: values.noPrune })) {
          ctx.out(item.Deleted ? `Deleted: ${item.Deleted}\n` : `Untagged: ${item.Untagged ?? ''}\n`);
        }
      } catch (err) {
        if (!(err instanceof ApiError && err.statusCode === 404)) fatal = true;
        errors.push(describe(err));
      }
    }
    if (errors.length) {
      if (!values.force || fatal) throw new StatusError(errors.join('\n'), 1);
      ctx.err(errors.join('\n') + '\n');
    }
    return 0;
  },
};

export const tagCommand: CommandImpl = {
  flags: [],
  args: { kind: 'exact', n: 2 },
  interspersed: false,
  async run(ctx, _values, [source, target]) {
    const invalid = (text: string, err: unknown) => new StatusError(`Error parsing reference: ${JSON.stringify(text)} is not a valid repository/tag: ${(err as Error).message}`, 1);
    if (!/^(sha256:)?[a-f0-9]{64}$/.test(source!)) {
      try {
        parseNormalizedNamed(source!);
      } catch (err) {
        throw invalid(source!, err);
      }
    }
    let ref;
    try {
      ref = parseNormalizedNamed(target!);
    } catch (err) {
      throw invalid(target!, err);
    }
    if (ref.digest) throw new StatusError('refusing to create a tag with a digest reference', 1);
    const tagged = withDefaultTag(ref);
    await ctx.client().imageTag(source!, familiarName(tagged), tagged.tag);
    return 0;
  },
};
