import { createInterface } from 'node:readline';
import { ApiError } from '../../client/index.js';
import type { NetworkResource } from '../../types/network.js';
import { StatusError, type CliContext, type CommandImpl } from '../command.js';
import { renderFormat, shortId, TemplateError } from '../format/index.js';
import { FILTER_FLAG, filtersFrom } from '../options/filters.js';
import { FORMAT_HELP, INSPECT_FORMAT_HELP } from '../options/container-options.js';
import { inspectAll } from './inspect.js';
import { goTimeString } from '../support/time.js';

// `berth network …`, with docker's flags, output and errors.

function describe(err: unknown): string {
  if (err instanceof ApiError) return err.toString();
  return err instanceof Error ? err.message : String(err);
}

const enc = encodeURIComponent;

interface CreateValues {
  driver: string;
  subnet: string[];
  gateway: string[];
  ipRange: string[];
  internal: boolean;
  attachable: boolean;
  ingress: boolean;
  ipv6: boolean;
  label: string[];
  opt: Record<string, string>;
  ipamDriver: string;
  ipamOpt: Record<string, string>;
  scope: string;
}

export const networkCreateCommand: CommandImpl<CreateValues> = {
  flags: [
    { name: 'driver', short: 'd', kind: 'string', usage: 'Driver to manage the Network', default: 'bridge', defaultText: '"bridge"' },
    { name: 'subnet', kind: 'list', type: 'strings', usage: 'Subnet in CIDR format that represents a network segment' },
    { name: 'gateway', kind: 'list', type: 'strings', usage: 'IPv4 or IPv6 Gateway for the master subnet' },
    { name: 'ip-range', kind: 'list', type: 'strings', usage: 'Allocate container ip from a sub-range' },
    { name: 'internal', kind: 'bool', usage: 'Restrict external access to the network' },
    { name: 'attachable', kind: 'bool', usage: 'Enable manual container attachment' },
    { name: 'ingress', kind: 'bool', usage: 'Create swarm routing-mesh network' },
    { name: 'ipv6', kind: 'bool', usage: 'Enable or disable IPv6 networking' },
    { name: 'label', kind: 'list', type: 'list', usage: 'Set metadata on a network' },
    { name: 'opt', short: 'o', kind: 'map', usage: 'Set driver specific options', defaultText: 'map[]' },
    { name: 'ipam-driver', kind: 'string', usage: 'IP Address Management Driver', default: 'default', defaultText: '"default"' },
    { name: 'ipam-opt', kind: 'map', usage: 'Set IPAM driver specific options', defaultText: 'map[]' },
    { name: 'scope', kind: 'string', usage: "Control the network's scope" },
  ],
  args: { kind: 'exact', n: 1 },
  async run(ctx, v, [name]) {
    if (v.gateway.length > v.subnet.length || v.ipRange.length > v.subnet.length) {
      throw new StatusError('every ip-range or gateway must have a corresponding subnet', 1);
    }
    const config = v.subnet.map((subnet, i) => ({
      Subnet: subnet,
      ...(v.gateway[i] ? { Gateway: v.gateway[i] } : {}),
      ...(v.ipRange[i] ? { IPRange: v.ipRange[i] } : {}),
    }));
    const labels = Object.fromEntries(v.label.map((l) => {
      const eq = l.indexOf('=');
      return eq < 0 ? [l, ''] : [l.slice(0, eq), l.slice(eq + 1)];
    }));
    const res = await ctx.client().request<{ Id: string; Warning?: string }>('POST', '/networks/create', {
      body: {
        Name: name,
        Driver: v.driver,
        Options: v.opt,
        IPAM: { Driver: v.ipamDriver, Config: config, Options: v.ipamOpt },
        Internal: v.internal,
        EnableIPv6: v.ipv6,
        Attachable: v.attachable,
        Ingress: v.ingress,
        Labels: labels,
        ...(v.scope ? { Scope: v.scope } : {}),
      },
    });
    if (res.Warning) ctx.err(`${res.Warning}\n`);
    ctx.out(`${res.Id}\n`);
    return 0;
  },
};

const DEFAULT_NETWORK_TABLE = 'table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}';
const NETWORK_HEADERS: Record<string, string> = {
  ID: 'NETWORK ID', Name: 'NAME', Driver: 'DRIVER', Scope: 'SCOPE', IPv6: 'IPV6', Internal: 'INTERNAL', Labels: 'LABELS', CreatedAt: 'CREATED AT',
};

/** docker's networkContext. */
class NetworkRow {
  readonly #n: NetworkResource;
  readonly #trunc: boolean;
  constructor(n: NetworkResource, trunc: boolean) {
    this.#n = n;
    this.#trunc = trunc;
  }
  get ID(): string { return this.#trunc ? shortId(this.#n.Id) : this.#n.Id; }
  get Name(): string { return this.#n.Name; }
  get Driver(): string { return this.#n.Driver; }
  get Scope(): string { return this.#n.Scope; }
  get IPv6(): string { return String(this.#n.EnableIPv6); }
  get Internal(): string { return String(this.#n.Internal); }
  get Labels(): string { return Object.entries(this.#n.Labels ?? {}).map(([k, val]) => `${k}=${val}`).join(','); }
  Label(name: string): string { return this.#n.Labels?.[name] ?? ''; }
  get CreatedAt(): string { return goTimeString(Date.parse(this.#n.Created) / 1000); }
}

export const networkLsCommand: CommandImpl<{ quiet: boolean; noTrunc: boolean; format: string; filter: Array<[string, string] | undefined> }> = {
  flags: [
    { name: 'quiet', short: 'q', kind: 'bool', usage: 'Only display network IDs' },
    { name: 'no-trunc', kind: 'bool', usage: 'Do not truncate the output' },
    { name: 'format', kind: 'string', usage: FORMAT_HELP },
    { ...FILTER_FLAG, usage: 'Provide filter values (e.g. "driver=bridge")' },
  ],
  args: { kind: 'none' },
  async run(ctx, v) {
    const filters = filtersFrom(v.filter);
    const list = await ctx.client().request<NetworkResource[]>('GET', '/networks', { query: { filters: Object.keys(filters).length ? JSON.stringify(filters) : undefined } });
    list.sort((a, b) => a.Name.localeCompare(b.Name));
    try {
      ctx.out(renderFormat(v.format || 'table', list.map((n) => new NetworkRow(n, !v.noTrunc)), { defaultTable: DEFAULT_NETWORK_TABLE, headers: NETWORK_HEADERS, quiet: v.quiet }));
    } catch (err) {
      if (err instanceof TemplateError) throw new StatusError(err.message, 1);
      throw err;
    }
    return 0;
  },
};

export const networkInspectCommand: CommandImpl<{ format: string; verbose: boolean }> = {
  flags: [
    { name: 'format', short: 'f', kind: 'string', usage: INSPECT_FORMAT_HELP },
    { name: 'verbose', short: 'v', kind: 'bool', usage: 'Verbose output for diagnostics' },
  ],
  args: { kind: 'min', n: 1 },
  async run(ctx, v, refs) {
    const client = ctx.client();
    return inspectAll(ctx, refs, v.format, async (ref) => {
      const r = await client.requestText('GET', `/networks/${enc(ref)}${v.verbose ? '?verbose=1' : ''}`);
      if (r.status === 404) throw new Error(`Error: No such network: ${ref}`);
      if (r.status >= 400) throw new Error(`Error response from daemon: ${safeMessage(r.text)}`);
      return r.text;
    });
  },
};

function safeMessage(text: string): string {
  try {
    return (JSON.parse(text) as { message: string }).message;
  } catch {
    return text.trim();
  }
}

export const networkRmCommand: CommandImpl<{ force: boolean }> = {
  flags: [{ name: 'force', short: 'f', kind: 'bool', usage: 'Do not error if the network does not exist' }],
  args: { kind: 'min', n: 1 },
  async run(ctx, v, refs) {
    const errors: string[] = [];
    for (const ref of refs) {
      try {
        await ctx.client().request('DELETE', `/networks/${enc(ref)}`);
        ctx.out(`${ref}\n`);
      } catch (err) {
        if (v.force && err instanceof ApiError && err.statusCode === 404) continue;
        errors.push(describe(err));
      }
    }
    if (errors.length) throw new StatusError(errors.join('\n'), 1);
    return 0;
  },
};

async function confirm(ctx: CliContext, question: string): Promise<boolean> {
  ctx.out(question);
  const rl = createInterface({ input: ctx.stdin });
  const answer = await new Promise<string>((resolve) => {
    rl.once('line', resolve);
    rl.once('close', () => resolve(''));
  });
  rl.close();
  return /^y(es)?$/i.test(answer.trim());
}

export const networkPruneCommand: CommandImpl<{ force: boolean; filter: Array<[string, string] | undefined> }> = {
  flags: [
    { name: 'force', short: 'f', kind: 'bool', usage: 'Do not prompt for confirmation' },
    { ...FILTER_FLAG, short: undefined, usage: 'Provide filter values (e.g. "until=<timestamp>")' },
  ],
  args: { kind: 'none' },
  async run(ctx, v) {
    if (!v.force && !(await confirm(ctx, 'WARNING! This will remove all custom networks not used by at least one container.\nAre you sure you want to continue? [y/N] '))) {
      return 0;
    }
    const filters = filtersFrom(v.filter);
    const r = await ctx.client().request<{ NetworksDeleted: string[] | null }>('POST', '/networks/prune', { query: { filters: Object.keys(filters).length ? JSON.stringify(filters) : undefined } });
    const deleted = r.NetworksDeleted ?? [];
    if (deleted.length) ctx.out(`Deleted Networks:\n${deleted.map((n) => `${n}\n`).join('')}`);
    return 0;
  },
};

export const networkConnectCommand: CommandImpl<{ alias: string[]; ip: string; ip6: string; link: string[]; linkLocalIp: string[]; driverOpt: string[] }> = {
  flags: [
    { name: 'alias', kind: 'list', type: 'strings', usage: 'Add network-scoped alias for the container' },
    { name: 'ip', kind: 'string', usage: 'IPv4 address (e.g., "172.30.100.104")' },
    { name: 'ip6', kind: 'string', usage: 'IPv6 address (e.g., "2001:db8::33")' },
    { name: 'link', kind: 'list', type: 'list', usage: 'Add link to another container' },
    { name: 'link-local-ip', kind: 'list', type: 'strings', usage: 'Add a link-local address for the container' },
    { name: 'driver-opt', kind: 'list', type: 'strings', usage: 'driver options for the network' },
  ],
  args: { kind: 'exact', n: 2 },
  async run(ctx, v, [network, container]) {
    await ctx.client().request('POST', `/networks/${enc(network!)}/connect`, {
      body: {
        Container: container,
        EndpointConfig: {
          IPAMConfig: { IPv4Address: v.ip, IPv6Address: v.ip6, LinkLocalIPs: v.linkLocalIp },
          Links: v.link,
          Aliases: v.alias,
          DriverOpts: Object.fromEntries(v.driverOpt.map((o) => o.split('=', 2) as [string, string])),
        },
      },
    });
    return 0;
  },
};

export const networkDisconnectCommand: CommandImpl<{ force: boolean }> = {
  flags: [{ name: 'force', short: 'f', kind: 'bool', usage: 'Force the container to disconnect from a network' }],
  args: { kind: 'exact', n: 2 },
  async run(ctx, v, [network, container]) {
    await ctx.client().request('POST', `/networks/${enc(network!)}/disconnect`, { body: { Container: container, Force: v.force } });
    return 0;
  },
};
