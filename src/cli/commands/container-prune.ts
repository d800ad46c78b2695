import type { CommandImpl } from '../command.js';
import { parseFilter, filtersFrom } from '../options/filters.js';
import { encodeFilters } from '../../client/index.js';
import { humanSize } from '../format/index.js';
import { promptForConfirmation } from '../support/confirm.js';

// `berth container prune`: asks first (unless -f), then prints what went, as docker does.

const WARNING = 'WARNING! This will remove all stopped containers.';

export const containerPruneCommand: CommandImpl<{ force: boolean; filter: Array<[string, string] | undefined> }> = {
  flags: [
    { name: 'filter', kind: 'list', type: 'filter', usage: 'Provide filter values (e.g. "until=<timestamp>")', parse: parseFilter },
    { name: 'force', short: 'f', kind: 'bool', usage: 'Do not prompt for confirmation' },
  ],
  args: { kind: 'none' },
  async run(ctx, v) {
    // docker prompts on stdout.
    if (!v.force && !(await promptForConfirmation(ctx.stdin, (t) => ctx.out(t), WARNING))) return 0;
    const res = await ctx.client().request<{ ContainersDeleted: string[] | null; SpaceReclaimed: number }>('POST', '/containers/prune', {
      query: { filters: encodeFilters(filtersFrom(v.filter)) },
    });
    let out = '';
    if (res.ContainersDeleted?.length) out += `Deleted Containers:\n${res.ContainersDeleted.join('\n')}\n\n`;
    out += `Total reclaimed space: ${humanSize(res.SpaceReclaimed, 4)}\n`;
    ctx.out(out);
    return 0;
  },
};
