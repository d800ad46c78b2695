import { createInterface } from 'node:readline';
import type { CommandImpl } from '../command.js';
import { parseFilter, filtersFrom } from '../options/filters.js';
import { encodeFilters } from '../../client/index.js';
import { humanSize } from '../format/index.js';

// `berth image prune [-a] [-f] [--filter]`: docker's prompt, then what went
// and the space reclaimed. Without -a only dangling images go (dangling=true),
// with -a every image no container uses (dangling=false).

const WARN_DANGLING = 'WARNING! This will remove all dangling images.';
const WARN_ALL = 'WARNING! This will remove all images without at least one container associated to them.';

function ask(ctx: { stdin: NodeJS.ReadStream; err(text: string): void }, warning: string): Promise<boolean> {
  ctx.err(`${warning}\nAre you sure you want to continue? [y/N] `);
  return new Promise((resolve) => {
    const rl = createInterface({ input: ctx.stdin });
    let answered = false;
    rl.once('line', (line) => {
      answered = true;
      rl.close();
      resolve(/^y(es)?$/i.test(line.trim()));
    });
    rl.once('close', () => !answered && resolve(false));
  });
}

export const imagePruneCommand: CommandImpl<{ all: boolean; force: boolean; filter: Array<[string, string] | undefined> }> = {
  flags: [
    { name: 'all', short: 'a', kind: 'bool', usage: 'Remove all unused images, not just dangling ones' },
    { name: 'filter', kind: 'list', type: 'filter', usage: 'Provide filter values (e.g. "until=<timestamp>")', parse: parseFilter },
    { name: 'force', short: 'f', kind: 'bool', usage: 'Do not prompt for confirmation' },
  ],
  args: { kind: 'none' },
  async run(ctx, v) {
    const filters = filtersFrom(v.filter);
    filters.dangling = [v.all ? 'false' : 'true'];
    if (!v.force && !(await ask(ctx, v.all ? WARN_ALL : WARN_DANGLING))) return 0;
    const res = await ctx.client().request<{ ImagesDeleted: Array<{ Untagged?: string; Deleted?: string }> | null; SpaceReclaimed: number }>('POST', '/images/prune', {
      query: { filters: encodeFilters(filters) },
    });
    let out = '';
    if (res.ImagesDeleted?.length) {
      out += 'Deleted Images:\n';
      for (const d of res.ImagesDeleted) out += d.Untagged ? `untagged: ${d.Untagged}\n` : `deleted: ${d.Deleted}\n`;
      out += '\n';
    }
    out += `Total reclaimed space: ${humanSize(res.SpaceReclaimed)}\n`;
    ctx.out(out);
    return 0;
  },
};
