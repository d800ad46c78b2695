import { InvalidParameterError } from '../errors/index.js';
import type { ContainerInspect, ContainerStatus, ContainerSummary } from '../types/engine.js';
import type { ImageStore } from '../image/image-store.js';
import type { NetworkService } from '../network/index.js';
import type { Snapshotter } from '../snapshot/snapshotter.js';
import { humanDuration } from '../util/human-duration.js';
import { isRunning, type Live } from './lifecycle.js';
import type { VolumeService } from '../volume/index.js';
import { mountsOf } from './volumes.js';
import { dockerHostConfig, graphDriverData } from './inspect-shape.js';
import { ZERO_TIME, type ContainerRecord, type StoredState } from './record.js';
import type { ContainerStore } from './store.js';
import { labelMatches } from '../util/filters.js';

// What the outside sees of containers: inspect, list and its filters, and the
// small read-only view the routes use. Nothing here changes a record.

export interface ListOptions {
  all?: boolean;
  limit?: number;
  size?: boolean;
  filters?: Record<string, string[]>;
}

/** A read-only snapshot of a container for the routes. */
export interface ContainerView {
  readonly id: string;
  /** With Docker's leading slash. */
  readonly name: string;
  readonly status: ContainerStatus;
  readonly running: boolean;
  /** The container's process while it runs (0 otherwise). */
  readonly pid: number;
  readonly tty: boolean;
  readonly openStdin: boolean;
}

export function containerView(r: ContainerRecord): ContainerView {
  return Object.freeze({
    id: r.id,
    name: r.name,
    status: r.state.status,
    running: isRunning(r.state.status),
    pid: r.state.pid,
    tty: r.config.Tty === true,
    openStdin: r.config.OpenStdin === true,
  });
}

export class ContainerViews {
  constructor(
    private readonly store: ContainerStore,
    private readonly images: ImageStore,
    private readonly snapshotter: Snapshotter,
    private readonly volumes: Pick<VolumeService, 'mountPoints'>,
    /** Addresses, ports and networks of each container, from the network subsystem. */
    private readonly network?: NetworkService,
    /** Where a container's root is mounted while it runs (GraphDriver's MergedDir). */
    private readonly rootfsOf: (id: string) => string = () => '',
  ) {}

  async inspect(live: Live, withSize = false, execIds: string[] = []): Promise<ContainerInspect> {
    const r = live.record;
    const s = r.state;
    const out: ContainerInspect = {
      Id: r.id,
      Created: r.created,
      Path: r.path,
      Args: r.args,
      State: {
        Status: s.status,
        Running: isRunning(s.status),
        Paused: s.status === 'paused',
        Restarting: s.status === 'restarting',
        OOMKilled: s.oomKilled,
        Dead: s.status === 'dead',
        Pid: s.pid,
        ExitCode: s.exitCode,
        Error: s.error,
        StartedAt: s.startedAt,
        FinishedAt: s.finishedAt,
        ...(s.health ? { Health: s.health } : {}),
      },
      Image: r.image,
      ResolvConfPath: r.resolvConfPath,
      HostnamePath: r.hostnamePath,
      HostsPath: r.hostsPath,
      LogPath: r.logPath,
      Name: r.name,
      RestartCount: r.restartCount,
      Driver: this.snapshotter.name,
      Platform: 'linux',
      MountLabel: '',
      ProcessLabel: '',
      AppArmorProfile: '',
      ExecIDs: execIds.length ? execIds : null,
      HostConfig: dockerHostConfig(r.hostConfig, r.runtime),
      GraphDriver: {
        Name: this.snapshotter.name,
        Data: graphDriverData(await this.snapshotter.mounts(r.id).catch(() => []), this.rootfsOf(r.id)),
      },
      Mounts: this.volumes.mountPoints(mountsOf(r)),
      Config: r.config,
      NetworkSettings: this.network?.settings(r.id, isRunning(s.status)) ?? {
        Bridge: '', SandboxID: '', SandboxKey: '', Ports: {}, EndpointID: '', Gateway: '', GlobalIPv6Address: '',
        GlobalIPv6PrefixLen: 0, IPAddress: '', IPPrefixLen: 0, IPv6Gateway: '', MacAddress: '',
        Networks: {},
      },
    };
    if (withSize) {
      const sizes = await this.sizes(r);
      out.SizeRw = sizes.rw;
      out.SizeRootFs = sizes.rootFs;
    }
    // A copy: the caller may serialise it later, after the record moved on.
    return structuredClone(out);
  }

  private async sizes(r: ContainerRecord): Promise<{ rw: number; rootFs: number }> {
    const rw = (await this.snapshotter.usage(r.id).catch(() => ({ size: 0 }))).size;
    const image = await this.images.get(r.image);
    return { rw, rootFs: rw + (image?.size ?? 0) };
  }

  async list(opts: ListOptions = {}): Promise<ContainerSummary[]> {
    const filters = opts.filters ?? {};
    let records = this.store.all().map((l) => l.record);
    records.sort((a, b) => (a.created < b.created ? 1 : a.created > b.created ? -1 : 0));
    const hasStatusFilter = (filters.status?.length ?? 0) > 0 || (filters.exited?.length ?? 0) > 0;
    if (!opts.all && !(opts.limit && opts.limit > 0) && !hasStatusFilter) {
      records = records.filter((r) => isRunning(r.state.status));
    }
    records = await this.applyFilters(records, filters);
    if (opts.limit && opts.limit > 0) records = records.slice(0, opts.limit);
    const out: ContainerSummary[] = [];
    for (const r of records) {
      const image = await this.images.get(r.image);
      const summary: ContainerSummary = {
        Id: r.id,
        Names: [r.name],
        Image: r.config.Image ?? r.image,
        ImageID: r.image,
        Command: commandText(r.path, r.args),
        Created: Math.floor(Date.parse(r.created) / 1000),
        Ports: this.network?.summary(r.id, isRunning(r.state.status)).Ports ?? [],
        Labels: { ...(r.config.Labels ?? {}) },
        State: r.state.status,
        Status: statusText(r.state),
        HostConfig: { NetworkMode: r.hostConfig.NetworkMode ?? 'default' },
        NetworkSettings: { Networks: this.network?.summary(r.id, isRunning(r.state.status)).Networks ?? {} },
        Mounts: this.volumes.mountPoints(mountsOf(r)),
      };
      if (!image && summary.Image === r.image) summary.Image = r.image;
      if (opts.size) {
        const sizes = await this.sizes(r);
        summary.SizeRw = sizes.rw;
        summary.SizeRootFs = sizes.rootFs;
      }
      out.push(summary);
    }
    return out;
  }

  private async applyFilters(records: ContainerRecord[], filters: Record<string, string[]>): Promise<ContainerRecord[]> {
    const known = new Set(['id', 'name', 'status', 'label', 'ancestor', 'exited', 'before', 'since', 'volume', 'network', 'health', 'is-task', 'publish', 'expose']);
    for (const key of Object.keys(filters)) {
      if (!known.has(key)) throw new InvalidParameterError(`invalid filter '${key}'`);
    }
    const validStatus = ['created', 'restarting', 'running', 'removing', 'paused', 'exited', 'dead'];
    for (const s of filters.status ?? []) {
      if (!validStatus.includes(s)) throw new InvalidParameterError(`invalid filter 'status=${s}'`);
    }
    const ancestorIds = new Set<string>();
    for (const a of filters.ancestor ?? []) {
      try {
        ancestorIds.add((await this.images.resolve(a)).id);
      } catch {
        /* an unknown ancestor simply matches nothing */
      }
    }
    const createdOf = (ref: string) => {
      try {
        return this.store.get(ref).record.created;
      } catch {
        throw new InvalidParameterError(`No such container: ${ref}`);
      }
    };
    const before = filters.before?.[0] ? createdOf(filters.before[0]) : undefined;
    const since = filters.since?.[0] ? createdOf(filters.since[0]) : undefined;
    return records.filter((r) => {
      const any = (key: string, pred: (v: string) => boolean) => !filters[key]?.length || filters[key]!.some(pred);
      return (
        any('id', (v) => r.id.startsWith(v)) &&
        any('name', (v) => new RegExp(v).test(r.name.slice(1)) || r.name === v) &&
        any('status', (v) => r.state.status === v) &&
        any('exited', (v) => r.state.status === 'exited' && r.state.exitCode === Number(v)) &&
        (!filters.label?.length || filters.label.every((v) => labelMatches(r.config.Labels ?? {}, v))) &&
        any('ancestor', (v) => ancestorIds.has(r.image) || r.config.Image === v) &&
        (before === undefined || r.created < before) &&
        (since === undefined || r.created > since) &&
        any('health', (v) => (r.state.health?.Status ?? 'none') === v) &&
        any('is-task', (v) => v === 'false') &&
        any('volume', (v) => mountsOf(r).some((m) => m.name === v || m.destination === v || (m.type === 'bind' && m.source === v))) &&
        any('network', (v) => this.network?.networksOf(r.id).includes(v) ?? false) &&
        any('publish', () => false) &&
        any('expose', () => false)
      );
    });
  }
}


/** Docker's list shows arguments with spaces in single quotes. */
function commandText(path: string, args: string[]): string {
  return [path, ...args.map((a) => (a.includes(' ') ? `'${a}'` : a))].join(' ');
}

/** Docker's Status column: "Up 3 minutes", "Exited (0) 5 seconds ago", "Created". */
export function statusText(s: StoredState, now = Date.now()): string {
  switch (s.status) {
    case 'running':
      return `Up ${humanDuration(now - Date.parse(s.startedAt))}${s.health && s.health.Status !== 'none' ? ` (${s.health.Status === 'starting' ? 'health: starting' : s.health.Status})` : ''}`;
    case 'paused':
      return `Up ${humanDuration(now - Date.parse(s.startedAt))} (Paused)`;
    case 'restarting':
      return `Restarting (${s.exitCode}) ${humanDuration(now - Date.parse(s.finishedAt))} ago`;
    case 'exited':
      return s.finishedAt === ZERO_TIME ? `Exited (${s.exitCode})` : `Exited (${s.exitCode}) ${humanDuration(now - Date.parse(s.finishedAt))} ago`;
    case 'removing':
      return 'Removal In Progress';
    case 'dead':
      return 'Dead';
    default:
      return 'Created';
  }
}
