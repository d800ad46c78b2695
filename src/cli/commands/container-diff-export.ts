import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { StatusError, type CommandImpl } from '../command.js';

// `berth diff` (A/C/D lines, as docker prints them) and `berth export`
// (the container's filesystem as a tar, to -o FILE or a non-terminal stdout).

const KINDS = ['C', 'A', 'D'];

export const diffCommand: CommandImpl = {
  flags: [],
  args: { kind: 'exact', n: 1 },
  async run(ctx, _values, [container]) {
    const changes = await ctx.client().request<Array<{ Path: string; Kind: number }> | null>('GET', `/containers/${encodeURIComponent(container!)}/changes`);
    for (const c of changes ?? []) ctx.out(`${KINDS[c.Kind] ?? '?'} ${c.Path}\n`);
    return 0;
  },
};

export const exportCommand: CommandImpl<{ output: string }> = {
  flags: [{ name: 'output', short: 'o', kind: 'string', usage: 'Write to a file, instead of STDOUT' }],
  args: { kind: 'exact', n: 1 },
  async run(ctx, v, [container]) {
    if (!v.output && ctx.stdout.isTTY) throw new StatusError('cowardly refusing to save to a terminal. Use the -o flag or redirect', 1);
    const res = await ctx.client().open('GET', `/containers/${encodeURIComponent(container!)}/export`);
    await pipeline(res, v.output ? createWriteStream(v.output) : ctx.stdout);
    return 0;
  },
};
