import type { CommandImpl } from '../command.js';
import { TabWriter } from '../format/index.js';

// `berth top CONTAINER [ps OPTIONS]`: the daemon runs ps; the columns come
// back as it printed them, aligned as docker does (tabwriter 20, 1, 3).

export const topCommand: CommandImpl = {
  flags: [],
  args: { kind: 'min', n: 1 },
  interspersed: false,
  async run(ctx, _values, [container, ...psArgs]) {
    const top = await ctx.client().containerTop(container!, psArgs.join(' '));
    const w = new TabWriter({ minwidth: 20, tabwidth: 1, padding: 3, padchar: ' ' });
    w.write(top.Titles.join('\t') + '\n');
    for (const p of top.Processes ?? []) w.write(p.join('\t') + '\n');
    ctx.out(w.flush());
    return 0;
  },
};
