import { ApiError } from '../../client/index.js';
import type { Volume } from '../../types/volume.js';
import { StatusError, type CommandImpl } from '../command.js';
import { humanSize, renderFormat, TemplateError } from '../format/index.js';
import { FILTER_FLAG, filtersFrom } from '../options/filters.js';
import { FORMAT_HELP, INSPECT_FORMAT_HELP } from '../options/container-options.js';
import { promptForConfirmation } from '../support/confirm.js';
import { inspectAll } from './inspect.js';

// `berth volume create|ls|inspect|rm|prune`, printing as the docker CLI does.

export const DEFAULT_VOLUME_TABLE = 'table {{.Driver}}\t{{.Name}}';

export const VOLUME_HEADERS: Record<string, string> = {
  Name: 'VOLUME NAME',
  Driver: 'DRIVER',
  Scope: 'SCOPE',
  Mountpoint: 'MOUNTPOINT',
  Labels: 'LABELS',
  Links: 'LINKS',
  Size: 'SIZE',
  Group: 'GROUP',
  Availability: 'AVAILABILITY',
  Status: 'STATUS',
};

/** docker's formatter volumeContext. */
export class VolumeRow {
  readonly #v: Volume;

  constructor(v: Volume) {
    this.#v = v;
  }

  get Name(): string {
    return this.#v.Name;
  }

  get Driver(): string {
    return this.#v.Driver;
  }

  get Scope(): string {
    return this.#v.Scope;
  }

  get Mountpoint(): string {
    return this.#v.Mountpoint;
  }

  get Labels(): string {
    const labels = this.#v.Labels ?? {};
    return Object.keys(labels).sort().map((k) => `${k}=${labels[k]}`).join(',');
  }

  Label(name: unknown): string {
    return this.#v.Labels?.[String(name)] ?? '';
  }

  get Links(): string {
    return this.#v.UsageData ? String(this.#v.UsageData.RefCount) : 'N/A';
  }

  get Size(): string {
    const size = this.#v.UsageData?.Size ?? -1;
    return size === -1 ? 'N/A' : humanSize(size, 4);
  }

  get Group(): string {
    return 'N/A';
  }

  get Availability(): string {
    return 'N/A';
  }

  get Status(): string {
    return 'N/A';
  }
}

function describe(err: unknown): string {
  if (err instanceof ApiError) return err.toString();
  return err instanceof Error ? err.message : String(err);
}

function render(format: string, rows: object[], quiet: boolean, defaultTable = DEFAULT_VOLUME_TABLE): string {
  try {
    return renderFormat(format, rows, { defaultTable, headers: VOLUME_HEADERS, quiet, quietFormat: '{{.Name}}' });
  } catch (err) {
    if (err instanceof TemplateError) throw new StatusError(err.message, 1);
    throw err;
  }
}

/** opts.ConvertKVStringsToMap: "k=v" → k: v, "k" → k: "". */
function kvMap(items: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of items) {
    const eq = item.indexOf('=');
    out[eq < 0 ? item : item.slice(0, eq)] = eq < 0 ? '' : item.slice(eq + 1);
  }
  return out;
}

export const volumeCreateCommand: CommandImpl<{ driver: string; label: string[]; opt: Record<string, string>; name: string }> = {
  flags: [
    { name: 'driver', short: 'd', kind: 'string', usage: 'Specify volume driver name', default: 'local', defaultText: '"local"' },
    { name: 'label', kind: 'list', usage: 'Set metadata for a volume' },
    { name: 'opt', short: 'o', kind: 'map', usage: 'Set driver specific options', defaultText: 'map[]' },
    { name: 'name', kind: 'string', usage: 'Specify volume name', hidden: true },
  ],
  args: { kind: 'max', n: 1 },
  async run(ctx, values, args) {
    let name = values.name;
    if (args[0] !== undefined) {
      if (name !== '') throw new StatusError('conflicting options: cannot specify a volume-name through both --name and as a positional arg', 1);
      name = args[0];
    }
    const vol = await ctx.client().volumeCreate({ Name: name, Driver: values.driver, DriverOpts: values.opt, Labels: kvMap(values.label) });
    ctx.out(`${vol.Name}\n`);
    return 0;
  },
};

export const volumeListCommand: CommandImpl<{ quiet: boolean; format: string; filter: Array<[string, string] | undefined> }> = {
  flags: [
    { name: 'quiet', short: 'q', kind: 'bool', usage: 'Only display volume names' },
    { name: 'format', kind: 'string', usage: FORMAT_HELP },
    FILTER_FLAG,
  ],
  args: { kind: 'none' },
  async run(ctx, values) {
    const list = await ctx.client().volumeList({ filters: filtersFrom(values.filter) });
    const vols = [...(list.Volumes ?? [])].sort((a, b) => (a.Name < b.Name ? -1 : a.Name > b.Name ? 1 : 0));
    ctx.out(render(values.format, vols.map((v) => new VolumeRow(v)), values.quiet));
    for (const w of list.Warnings ?? []) ctx.err(`${w}\n`);
    return 0;
  },
};

export const volumeInspectCommand: CommandImpl<{ format: string }> = {
  flags: [{ name: 'format', short: 'f', kind: 'string', usage: INSPECT_FORMAT_HELP }],
  args: { kind: 'min', n: 1 },
  async run(ctx, values, names) {
    const client = ctx.client();
    return inspectAll(ctx, names, values.format, (name) => client.volumeInspectRaw(name));
  },
};

export const volumeRemoveCommand: CommandImpl<{ force: boolean }> = {
  flags: [{ name: 'force', short: 'f', kind: 'bool', usage: 'Force the removal of one or more volumes' }],
  args: { kind: 'min', n: 1 },
  async run(ctx, values, names) {
    const client = ctx.client();
    const errors: string[] = [];
    for (const name of names) {
      try {
        await client.volumeRemove(name, { force: values.force });
        ctx.out(`${name}\n`);
      } catch (err) {
        errors.push(describe(err));
      }
    }
    if (errors.length) throw new StatusError(errors.join('\n'), 1);
    return 0;
  },
};

export const volumePruneCommand: CommandImpl<{ all: boolean; filter: Array<[string, string] | undefined>; force: boolean }> = {
  flags: [
    { name: 'all', short: 'a', kind: 'bool', usage: 'Remove all unused volumes, not just anonymous ones' },
    { ...FILTER_FLAG, usage: 'Provide filter values (e.g. "label=<label>")' },
    { name: 'force', short: 'f', kind: 'bool', usage: 'Do not prompt for confirmation' },
  ],
  args: { kind: 'none' },
  async run(ctx, values) {
    const filters = filtersFrom(values.filter);
    if (values.all) {
      if (filters.all) throw new StatusError(`conflicting options: cannot specify both --all and --filter all=${filters.all[0]}`, 1);
      filters.all = ['true'];
    }
    const warning = values.all || filters.all?.some((v) => v === 'true' || v === '1')
      ? 'WARNING! This will remove all local volumes not used by at least one container.'
      : 'WARNING! This will remove anonymous local volumes not used by at least one container.';
    if (!values.force && !(await promptForConfirmation(ctx.stdin, (t) => ctx.out(t), warning))) return 0;
    const report = await ctx.client().volumePrune({ filters });
    let out = '';
    if (report.VolumesDeleted?.length) out += `Deleted Volumes:\n${report.VolumesDeleted.map((n) => `${n}\n`).join('')}\n`;
    ctx.out(`${out}Total reclaimed space: ${humanSize(report.SpaceReclaimed, 4)}\n`);
    return 0;
  },
};
