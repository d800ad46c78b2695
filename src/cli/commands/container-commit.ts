import type { CommandImpl } from '../command.js';
import { StatusError } from '../command.js';
import { parseNormalizedNamed } from '../../image/index.js';

// `berth commit CONTAINER [REPOSITORY[:TAG]]`: a new image from a container's
// changes, with docker's flags (-a, -c, -m, -p) and its output (the image ID).

export const commitCommand: CommandImpl<{ author: string; change: string[]; message: string; pause: boolean }> = {
  flags: [
    { name: 'author', short: 'a', kind: 'string', usage: 'Author (e.g., "John Hannibal Smith <hannibal@a-team.com>")' },
    { name: 'change', short: 'c', kind: 'list', usage: 'Apply Dockerfile instruction to the created image' },
    { name: 'message', short: 'm', kind: 'string', usage: 'Commit message' },
    { name: 'pause', short: 'p', kind: 'bool', usage: 'Pause container during commit', default: true, defaultText: 'true' },
  ],
  args: { kind: 'range', min: 1, max: 2 },
  async run(ctx, v, [container, reference]) {
    let repo: string | undefined;
    let tag: string | undefined;
    if (reference) {
      // As the docker CLI: a bad reference is refused before anything is sent.
      try {
        parseNormalizedNamed(reference);
      } catch (err) {
        throw new StatusError(`invalid reference format: ${(err as Error).message.replace(/^invalid reference format:?\s*/, '')}`.replace(/:\s*$/, ''), 1);
      }
      const slash = reference.lastIndexOf('/');
      const colon = reference.lastIndexOf(':');
      if (colon > slash && !reference.includes('@')) {
        repo = reference.slice(0, colon);
        tag = reference.slice(colon + 1);
      } else {
        repo = reference;
      }
    }
    const res = await ctx.client().request<{ Id: string }>('POST', '/commit', {
      query: {
        container: container!,
        repo,
        tag,
        comment: v.message || undefined,
        author: v.author || undefined,
        pause: v.pause ? '1' : '0',
        changes: v.change.length ? v.change : undefined,
      },
    });
    ctx.out(`${res.Id}\n`);
    return 0;
  },
};
