import type { CommandImpl } from '../command.js';
import { forEachContainer } from './container-lifecycle.js';

// pause and unpause: one call per container, names printed, like stop.

export const pauseCommand: CommandImpl = {
  flags: [],
  args: { kind: 'min', n: 1 },
  async run(ctx, _values, names) {
    const client = ctx.client();
    return forEachContainer(ctx, names, (id) => client.request('POST', `/containers/${encodeURIComponent(id)}/pause`).then(() => undefined));
  },
};

export const unpauseCommand: CommandImpl = {
  flags: [],
  args: { kind: 'min', n: 1 },
  async run(ctx, _values, names) {
    const client = ctx.client();
    return forEachContainer(ctx, names, (id) => client.request('POST', `/containers/${encodeURIComponent(id)}/unpause`).then(() => undefined));
  },
};
