import type { ContainerSummary } from '../../types/engine.js';
import { StatusError, type CommandImpl } from '../command.js';
import { ellipsis, humanDuration, humanSize, parseTemplate, renderFormat, shortId, TemplateError } from '../format/index.js';
import { goQuoteString } from '../format/quote.js';
import { FILTER_FLAG, filtersFrom } from '../options/filters.js';
import { FORMAT_HELP } from '../options/container-options.js';
import { displayablePorts } from '../support/ports.js';
import { familiarName, parseNormalizedNamed } from '../support/reference.js';
import { goTimeString } from '../support/time.js';

// `berth ps`: docker's container table, --format templates over docker's
// ContainerContext fields, -q, -a, -n, -l, -s and filters.

export const DEFAULT_CONTAINER_TABLE = 'table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}';

export const CONTAINER_HEADERS: Record<string, string> = {
  ID: 'CONTAINER ID',
  Names: 'NAMES',
  Image: 'IMAGE',
  Command: 'COMMAND',
  CreatedAt: 'CREATED AT',
  RunningFor: 'CREATED',
  Ports: 'PORTS',
  State: 'STATE',
  Status: 'STATUS',
  Size: 'SIZE',
  Labels: 'LABELS',
  Mounts: 'MOUNTS',
  LocalVolumes: 'LOCAL VOLUMES',
  Networks: 'NETWORKS',
  Platform: 'PLATFORM',
};

/** docker's formatter.ContainerContext: the fields a --format template sees (getters are Go methods). */
export class ContainerRow {
  readonly #c: ContainerSummary;
  readonly #trunc: boolean;
  readonly #now: number;

  constructor(c: ContainerSummary, trunc: boolean, now = Date.now()) {
    this.#c = c;
    this.#trunc = trunc;
    this.#now = now;
  }

  get ID(): string {
    return this.#trunc ? shortId(this.#c.Id) : this.#c.Id;
  }

  get Names(): string {
    let names = (this.#c.Names ?? []).map((n) => n.slice(1));
    if (this.#trunc) {
      // Links add names like "other/alias"; the table shows the container's own.
      const own = names.find((n) => n.split('/').length === 1);
      if (own !== undefined) names = [own];
    }
    return names.join(',');
  }

  get Image(): string {
    const image = this.#c.Image;
    if (!image) return '<no image>';
    if (this.#trunc) {
      const short = shortId(this.#c.ImageID ?? '');
      if (short === shortId(image)) return short;
      try {
        const ref = parseNormalizedNamed(image);
        if (ref.tag) return `${familiarName(ref)}:${ref.tag}`;
        return familiarName(ref);
      } catch {
        // Not a reference: show it as the daemon gave it.
      }
    }
    return image;
  }

  get Command(): string {
    const command = this.#c.Command ?? '';
    return goQuoteString(this.#trunc ? ellipsis(command, 20) : command);
  }

  get CreatedAt(): string {
    return goTimeString(this.#c.Created);
  }

  get RunningFor(): string {
    return `${humanDuration(this.#now - this.#c.Created * 1000)} ago`;
  }

  get Platform(): null {
    return null;
  }

  get Ports(): string {
    return displayablePorts(this.#c.Ports ?? []);
  }

  get State(): string {
    return this.#c.State;
  }

  get Status(): string {
    return this.#c.Status;
  }

  get Size(): string {
    const rw = humanSize(this.#c.SizeRw ?? 0, 3);
    const rootFs = this.#c.SizeRootFs ?? 0;
    return rootFs > 0 ? `${rw} (virtual ${humanSize(rootFs, 3)})` : rw;
  }

  get Labels(): string {
    const labels = this.#c.Labels;
    if (!labels) return '';
    return Object.entries(labels)
      .map(([k, v]) => `${k}=${v}`)
      .sort()
      .join(',');
  }

  Label(name: string): string {
    return this.#c.Labels?.[name] ?? '';
  }

  get Mounts(): string {
    return (this.#c.Mounts ?? [])
      .map((m) => {
        const name = m.Name || m.Source;
        return this.#trunc ? ellipsis(name, 15) : name;
      })
      .join(',');
  }

  get LocalVolumes(): string {
    return String((this.#c.Mounts ?? []).filter((m) => m.Driver === 'local').length);
  }

  get Networks(): string {
    return Object.keys(this.#c.NetworkSettings?.Networks ?? {})
      .sort()
      .join(',');
  }
}

/** docker's NewContainerFormat: the template for the --format value, -q and -s. */
export function containerFormat(source: string, quiet: boolean, size: boolean): string {
  switch (source) {
    case 'table':
    case '':
      if (quiet) return '{{.ID}}';
      return size ? `${DEFAULT_CONTAINER_TABLE}\t{{.Size}}` : DEFAULT_CONTAINER_TABLE;
    case 'raw': {
      if (quiet) return 'container_id: {{.ID}}';
      let raw =
        'container_id: {{.ID}}\nimage: {{.Image}}\ncommand: {{.Command}}\ncreated_at: {{.CreatedAt}}\nstate: {{- pad .State 1 0}}\nstatus: {{- pad .Status 1 0}}\nnames: {{.Names}}\nlabels: {{- pad .Labels 1 0}}\nports: {{- pad .Ports 1 0}}\n';
      if (size) raw += 'size: {{.Size}}\\n';
      return raw;
    }
    default:
      return quiet ? '{{.ID}}' : source;
  }
}

interface PsValues {
  quiet: boolean;
  size: boolean;
  all: boolean;
  noTrunc: boolean;
  latest: boolean;
  last: number;
  format: string;
  filter: Array<[string, string] | undefined>;
}

export const psCommand: CommandImpl<PsValues> = {
  flags: [
    { name: 'quiet', short: 'q', kind: 'bool', usage: 'Only display container IDs' },
    { name: 'size', short: 's', kind: 'bool', usage: 'Display total file sizes' },
    { name: 'all', short: 'a', kind: 'bool', usage: 'Show all containers (default shows just running)' },
    { name: 'no-trunc', kind: 'bool', usage: "Don't truncate output" },
    { name: 'latest', short: 'l', kind: 'bool', usage: 'Show the latest created container (includes all states)' },
    { name: 'last', short: 'n', kind: 'int', usage: 'Show n last created containers (includes all states)', default: -1, defaultText: '-1' },
    { name: 'format', kind: 'string', usage: FORMAT_HELP },
    FILTER_FLAG,
  ],
  args: { kind: 'none' },
  async run(ctx, values, _args, parsed) {
    if (values.format && values.quiet) ctx.err('WARNING: Ignoring custom format, because both --format and --quiet are set.\n');
    let size = values.size;
    if (values.format) {
      try {
        parseTemplate(values.format);
      } catch (err) {
        if (err instanceof TemplateError) throw new StatusError(`failed to parse template: ${err.message}`, 1);
        throw err;
      }
      // A template that shows sizes makes the daemon compute them, as docker does.
      if (!values.quiet && !parsed.changed.has('size') && /\.Size\b|\bjson\s+\.|^json$/.test(values.format)) size = true;
    }
    const limit = values.latest && values.last === -1 ? 1 : values.last;
    const containers = await ctx.client().containerList({ all: values.all, limit, size, filters: filtersFrom(values.filter) });
    const now = Date.now();
    const rows = containers.map((c) => new ContainerRow(c, !values.noTrunc, now));
    const format = containerFormat(values.format, values.quiet, size);
    try {
      ctx.out(renderFormat(format, rows, { defaultTable: DEFAULT_CONTAINER_TABLE, headers: CONTAINER_HEADERS }));
    } catch (err) {
      if (err instanceof TemplateError) throw new StatusError(err.message, 1);
      throw err;
    }
    return 0;
  },
};
