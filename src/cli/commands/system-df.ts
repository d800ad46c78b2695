import type { SystemDfResponse } from '../../types/volume.js';
import { StatusError, type CommandImpl } from '../command.js';
import { humanSize, renderFormat, TemplateError } from '../format/index.js';
import { FORMAT_HELP } from '../options/container-options.js';
import { CONTAINER_HEADERS, ContainerRow } from './container-list.js';
import { IMAGE_HEADERS, imageRows } from './image-list.js';
import { VOLUME_HEADERS, VolumeRow } from './volume.js';

// `berth system df [-v]`: docker's disk-usage summary, or per-object tables.

const DEFAULT_DF_TABLE = 'table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}';
const DF_HEADERS = { Type: 'TYPE', TotalCount: 'TOTAL', Active: 'ACTIVE', Size: 'SIZE', Reclaimable: 'RECLAIMABLE' };
const VERBOSE_IMAGES = 'table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}\t{{.SharedSize}}\t{{.UniqueSize}}\t{{.Containers}}';
const VERBOSE_CONTAINERS = 'table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.LocalVolumes}}\t{{.Size}}\t{{.RunningFor}}\t{{.Status}}\t{{.Names}}';
const VERBOSE_VOLUMES = 'table {{.Name}}\t{{.Links}}\t{{.Size}}';

/** "1.2MB (50%)" as docker's disk-usage contexts print reclaimable space. */
function withPercent(reclaimable: number, total: number): string {
  const text = humanSize(reclaimable, 4);
  return total > 0 ? `${text} (${Math.trunc((reclaimable * 100) / total)}%)` : text;
}

class DfRow {
  constructor(
    readonly Type: string,
    readonly TotalCount: string,
    readonly Active: string,
    readonly Size: string,
    readonly Reclaimable: string,
  ) {}
}

export function dfRows(df: SystemDfResponse): DfRow[] {
  const images = df.Images ?? [];
  let usedByImages = 0;
  for (const i of images) {
    if (i.Containers !== 0 && i.Size !== -1 && i.SharedSize !== -1) usedByImages += i.Size - i.SharedSize;
  }
  const containers = df.Containers ?? [];
  const active = (state: string) => ['running', 'paused', 'restarting'].includes(state);
  let containerSize = 0;
  let containerReclaimable = 0;
  for (const c of containers) {
    containerSize += c.SizeRw ?? 0;
    if (!active(c.State)) containerReclaimable += c.SizeRw ?? 0;
  }
  const volumes = df.Volumes ?? [];
  let volumeSize = 0;
  let volumeReclaimable = 0;
  for (const v of volumes) {
    const size = v.UsageData?.Size ?? -1;
    if (size === -1) continue;
    volumeSize += size;
    if ((v.UsageData?.RefCount ?? 0) === 0) volumeReclaimable += size;
  }
  return [
    new DfRow('Images', String(images.length), String(images.filter((i) => i.Containers > 0).length), humanSize(df.LayersSize, 4), withPercent(df.LayersSize - usedByImages, df.LayersSize)),
    new DfRow('Containers', String(containers.length), String(containers.filter((c) => active(c.State)).length), humanSize(containerSize, 4), withPercent(containerReclaimable, containerSize)),
    new DfRow('Local Volumes', String(volumes.length), String(volumes.filter((v) => (v.UsageData?.RefCount ?? 0) > 0).length), humanSize(volumeSize, 4), withPercent(volumeReclaimable, volumeSize)),
    new DfRow('Build Cache', '0', '0', '0B', '0B'),
  ];
}

function table(format: string, rows: object[], headers: Record<string, string>): string {
  return renderFormat(format, rows, { defaultTable: format, headers });
}

export const systemDfCommand: CommandImpl<{ verbose: boolean; format: string }> = {
  flags: [
    { name: 'format', kind: 'string', usage: FORMAT_HELP },
    { name: 'verbose', short: 'v', kind: 'bool', usage: 'Show detailed information on space usage' },
  ],
  args: { kind: 'none' },
  async run(ctx, values) {
    const df = await ctx.client().systemDf();
    try {
      if (!values.verbose) {
        ctx.out(renderFormat(values.format, dfRows(df), { defaultTable: DEFAULT_DF_TABLE, headers: DF_HEADERS }));
        return 0;
      }
      if (values.format && values.format !== 'table') throw new StatusError('the --format flag is not supported together with --verbose', 1);
      const now = Date.now();
      const imageRowsAll = (df.Images ?? []).flatMap((img) => imageRows(img, { trunc: true, digest: false, needDigest: false, now }));
      const containers = (df.Containers ?? []).map((c) => new ContainerRow({ ...c, SizeRootFs: 0 }, true, now));
      const volumes = (df.Volumes ?? []).map((v) => new VolumeRow(v));
      ctx.out(
        `Images space usage:\n\n${table(VERBOSE_IMAGES, imageRowsAll, IMAGE_HEADERS)}\n` +
          `Containers space usage:\n\n${table(VERBOSE_CONTAINERS, containers, CONTAINER_HEADERS)}\n` +
          `Local Volumes space usage:\n\n${table(VERBOSE_VOLUMES, volumes, VOLUME_HEADERS)}\n` +
          `Build cache usage: 0B\n\nCACHE ID   CACHE TYPE   SIZE      CREATED   LAST USED   USAGE     SHARED\n`,
      );
    } catch (err) {
      if (err instanceof TemplateError) throw new StatusError(err.message, 1);
      throw err;
    }
    return 0;
  },
};
