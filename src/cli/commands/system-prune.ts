import type { CommandImpl } from '../command.js';
import { StatusError } from '../command.js';
import { FILTER_FLAG, filtersFrom } from '../options/filters.js';
import { encodeFilters, type EngineClient } from '../../client/index.js';
import { humanSize } from '../format/index.js';
import { promptForConfirmation } from '../support/confirm.js';

// `berth system prune` and `berth image prune`, as the docker CLI does them:
// docker's prompt, then the prune endpoints in docker's order (containers,
// networks, anonymous volumes with --volumes, images, build cache), each
// report as docker prints it, and the total reclaimed.

type Filters = Record<string, string[]>;

interface Pruned {
  reclaimed: number;
  output: string;
}

function section(title: string, lines: string[]): string {
  return lines.length ? `${title}:\n${lines.map((l) => `${l}\n`).join('')}` : '';
}

async function pruneContainers(client: EngineClient, filters: Filters): Promise<Pruned> {
  const r = await client.request<{ ContainersDeleted: string[] | null; SpaceReclaimed: number }>('POST', '/containers/prune', { query: { filters: encodeFilters(filters) } });
  return { reclaimed: r.SpaceReclaimed ?? 0, output: section('Deleted Containers', r.ContainersDeleted ?? []) };
}

async function pruneNetworks(client: EngineClient, filters: Filters): Promise<Pruned> {
  const r = await client.request<{ NetworksDeleted: string[] | null }>('POST', '/networks/prune', { query: { filters: encodeFilters(filters) } });
  return { reclaimed: 0, output: section('Deleted Networks', r.NetworksDeleted ?? []) };
}

async function pruneVolumes(client: EngineClient, filters: Filters): Promise<Pruned> {
  const r = await client.volumePrune({ filters });
  return { reclaimed: r.SpaceReclaimed ?? 0, output: section('Deleted Volumes', r.VolumesDeleted ?? []) };
}

async function pruneImages(client: EngineClient, filters: Filters, all: boolean): Promise<Pruned> {
  const f = { ...filters, dangling: [all ? 'false' : 'true'] };
  const r = await client.request<{ ImagesDeleted: Array<{ Untagged?: string; Deleted?: string }> | null; SpaceReclaimed: number }>('POST', '/images/prune', { query: { filters: encodeFilters(f) } });
  const lines = (r.ImagesDeleted ?? []).map((i) => (i.Untagged ? `untagged: ${i.Untagged}` : `deleted: ${i.Deleted}`));
  return { reclaimed: r.SpaceReclaimed ?? 0, output: section('Deleted Images', lines) };
}

async function pruneBuildCache(client: EngineClient, filters: Filters, all: boolean): Promise<Pruned> {
  const r = await client.request<{ CachesDeleted: string[] | null; SpaceReclaimed: number }>('POST', '/build/prune', {
    query: { all: all ? '1' : undefined, filters: encodeFilters(filters) },
  });
  return { reclaimed: r.SpaceReclaimed ?? 0, output: section('Deleted build cache objects', r.CachesDeleted ?? []) };
}

function warning(all: boolean, volumes: boolean, filters: Filters): string {
  const items = [
    'all stopped containers',
    'all networks not used by at least one container',
    ...(volumes ? ['all anonymous volumes not used by at least one container'] : []),
    all ? 'all images without at least one container associated to them' : 'all dangling images',
    all ? 'all build cache' : 'unused build cache',
  ];
  let text = `WARNING! This will remove:\n${items.map((i) => `  - ${i}\n`).join('')}`;
  const pairs = Object.entries(filters).flatMap(([k, vs]) => vs.map((v) => `${k}=${v}`));
  if (pairs.length) text += `\n  Items to be pruned will be filtered with:\n${pairs.map((p) => `  - ${p}\n`).join('')}`;
  return text;
}

export const systemPruneCommand: CommandImpl<{ all: boolean; volumes: boolean; force: boolean; filter: Array<[string, string] | undefined> }> = {
  flags: [
    { name: 'all', short: 'a', kind: 'bool', usage: 'Remove all unused images not just dangling ones' },
    { ...FILTER_FLAG, short: undefined, usage: 'Provide filter values (e.g. "label=<key>=<value>")' },
    { name: 'force', short: 'f', kind: 'bool', usage: 'Do not prompt for confirmation' },
    { name: 'volumes', kind: 'bool', usage: 'Prune anonymous volumes' },
  ],
  args: { kind: 'none' },
  async run(ctx, v) {
    const filters = filtersFrom(v.filter);
    if (v.volumes && filters.until) throw new StatusError('ERROR: The "until" filter is not supported with "--volumes"', 1);
    if (!v.force && !(await promptForConfirmation(ctx.stdin, (t) => ctx.out(t), warning(v.all, v.volumes, filters)))) return 0;
    const client = ctx.client();
    const steps: Array<() => Promise<Pruned>> = [
      () => pruneContainers(client, filters),
      () => pruneNetworks(client, filters),
      ...(v.volumes ? [() => pruneVolumes(client, filters)] : []),
      () => pruneImages(client, filters, v.all),
      () => pruneBuildCache(client, filters, v.all),
    ];
    let total = 0;
    for (const step of steps) {
      const { reclaimed, output } = await step();
      total += reclaimed;
      if (output) ctx.out(`${output}\n`);
    }
    ctx.out(`Total reclaimed space: ${humanSize(total, 4)}\n`);
    return 0;
  },
};

export const imagePruneCommand: CommandImpl<{ all: boolean; force: boolean; filter: Array<[string, string] | undefined> }> = {
  flags: [
    { name: 'all', short: 'a', kind: 'bool', usage: 'Remove all unused images, not just dangling ones' },
    { ...FILTER_FLAG, short: undefined, usage: 'Provide filter values (e.g. "until=<timestamp>")' },
    { name: 'force', short: 'f', kind: 'bool', usage: 'Do not prompt for confirmation' },
  ],
  args: { kind: 'none' },
  async run(ctx, v) {
    const message = v.all
      ? 'WARNING! This will remove all images without at least one container associated to them.'
      : 'WARNING! This will remove all dangling images.';
    if (!v.force && !(await promptForConfirmation(ctx.stdin, (t) => ctx.out(t), message))) return 0;
    const { reclaimed, output } = await pruneImages(ctx.client(), filtersFrom(v.filter), v.all);
    ctx.out(`${output ? `${output}\n` : ''}Total reclaimed space: ${humanSize(reclaimed, 4)}\n`);
    return 0;
  },
};
