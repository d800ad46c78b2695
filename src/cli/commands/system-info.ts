import { DaemonUnreachableError, ApiError } from '../../client/index.js';
import type { SystemInfo } from '../../types/engine.js';
import { StatusError, type CliContext, type CommandImpl } from '../command.js';
import { bytesSize, parseTemplate, TemplateError } from '../format/index.js';
import { INSPECT_FORMAT_HELP } from '../options/container-options.js';
import { clientVersion, type ClientVersion } from './system-version.js';

// `berth info`: docker's layout of the daemon's /info (and this client),
// or a --format template over the same data as docker's dockerInfo.

/** Go's fmt.Println: operands joined by spaces. */
function println(...parts: unknown[]): string {
  return parts.map((p) => (p === undefined || p === null ? '' : String(p))).join(' ') + '\n';
}

function printlnNonEmpty(label: string, value: string | undefined): string {
  return value ? println(label, value) : '';
}

export function clientInfoText(client: ClientVersion, debug: boolean): string {
  return printlnNonEmpty(' Version:   ', client.Version) + println(' Context:   ', client.Context) + println(' Debug Mode:', debug);
}

/** docker's prettyPrintServerInfo; warnings go to `warnings` for stderr. */
export function serverInfoText(info: SystemInfo, debug: boolean, warnings: string[]): string {
  let out = '';
  const add = (...parts: unknown[]) => (out += println(...parts));
  const addNonEmpty = (label: string, value: string | undefined) => (out += printlnNonEmpty(label, value));
  add(' Containers:', info.Containers ?? 0);
  add('  Running:', info.ContainersRunning ?? 0);
  add('  Paused:', info.ContainersPaused ?? 0);
  add('  Stopped:', info.ContainersStopped ?? 0);
  add(' Images:', info.Images ?? 0);
  addNonEmpty(' Server Version:', info.ServerVersion);
  addNonEmpty(' Storage Driver:', info.Driver);
  for (const [k, v] of info.DriverStatus ?? []) out += `  ${k}: ${v}\n`;
  for (const [k, v] of info.SystemStatus ?? []) out += ` ${k}: ${v}\n`;
  addNonEmpty(' Logging Driver:', info.LoggingDriver);
  addNonEmpty(' Cgroup Driver:', info.CgroupDriver);
  addNonEmpty(' Cgroup Version:', info.CgroupVersion);
  add(' Plugins:');
  add('  Volume:', (info.Plugins?.Volume ?? []).join(' '));
  add('  Network:', (info.Plugins?.Network ?? []).join(' '));
  if (info.Plugins?.Authorization?.length) add('  Authorization:', info.Plugins.Authorization.join(' '));
  add('  Log:', (info.Plugins?.Log ?? []).join(' '));
  if (info.CDISpecDirs?.length) {
    add(' CDI spec directories:');
    for (const dir of info.CDISpecDirs) out += `  ${dir}\n`;
  }
  const swarm = info.Swarm ?? {};
  add(' Swarm:', swarm.LocalNodeState ?? '');
  if (swarm.LocalNodeState && swarm.LocalNodeState !== 'inactive' && swarm.LocalNodeState !== 'locked') {
    add('  NodeID:', swarm.NodeID ?? '');
    if (swarm.Error) add('  Error:', swarm.Error);
    add('  Is Manager:', swarm.ControlAvailable ?? false);
    add('  Node Address:', swarm.NodeAddr ?? '');
  }
  const runtimes = Object.keys(info.Runtimes ?? {});
  if (runtimes.length) {
    add(' Runtimes:', runtimes.join(' '));
    add(' Default Runtime:', info.DefaultRuntime ?? '');
  }
  if (info.OSType === 'linux') {
    add(' Init Binary:', info.InitBinary ?? '');
    add(' containerd version:', info.ContainerdCommit?.ID ?? '');
    add(' runc version:', info.RuncCommit?.ID ?? '');
    add(' init version:', info.InitCommit?.ID ?? '');
    if (info.SecurityOptions?.length) {
      add(' Security Options:');
      for (const option of info.SecurityOptions) {
        // "name=seccomp,profile=builtin" (the old form is the bare name).
        const fields = option.includes('=') ? option.split(',') : [`name=${option}`];
        const kv = new Map(fields.map((f) => [f.slice(0, f.indexOf('=')), f.slice(f.indexOf('=') + 1)] as const));
        add(`  ${kv.get('name') ?? option}`);
        if (kv.has('profile')) add('   Profile:', kv.get('profile'));
      }
    }
  }
  if (info.OSType === 'windows') add(' Default Isolation:', info.Isolation ?? '');
  addNonEmpty(' Kernel Version:', info.KernelVersion);
  addNonEmpty(' Operating System:', info.OperatingSystem);
  addNonEmpty(' OSType:', info.OSType);
  addNonEmpty(' Architecture:', info.Architecture);
  add(' CPUs:', info.NCPU ?? 0);
  add(' Total Memory:', bytesSize(info.MemTotal ?? 0));
  addNonEmpty(' Name:', info.Name);
  addNonEmpty(' ID:', info.ID);
  add(' Docker Root Dir:', info.DockerRootDir ?? '');
  add(' Debug Mode:', info.Debug ?? false);
  if (info.Debug || debug) {
    add('  File Descriptors:', info.NFd ?? 0);
    add('  Goroutines:', info.NGoroutines ?? 0);
    add('  System Time:', info.SystemTime ?? '');
    add('  EventsListeners:', info.NEventsListener ?? 0);
  }
  addNonEmpty(' HTTP Proxy:', info.HttpProxy);
  addNonEmpty(' HTTPS Proxy:', info.HttpsProxy);
  addNonEmpty(' No Proxy:', info.NoProxy);
  if (info.Labels?.length) {
    add(' Labels:');
    for (const label of info.Labels) add(`  ${label}`);
  }
  add(' Experimental:', info.ExperimentalBuild ?? false);
  const registry = info.RegistryConfig;
  const indexConfigs = Object.values(registry?.IndexConfigs ?? {});
  if (registry && ((registry.InsecureRegistryCIDRs?.length ?? 0) > 0 || indexConfigs.length > 0)) {
    add(' Insecure Registries:');
    for (const c of indexConfigs) if (!c.Secure) add(`  ${c.Name}`);
    for (const cidr of registry.InsecureRegistryCIDRs ?? []) out += `  ${cidr}\n`;
  }
  if (registry?.Mirrors?.length) {
    add(' Registry Mirrors:');
    for (const m of registry.Mirrors) add(`  ${m}`);
  }
  add(' Live Restore Enabled:', info.LiveRestoreEnabled ?? false);
  if (info.ProductLicense) add(' Product License:', info.ProductLicense);
  if (info.DefaultAddressPools?.length) {
    add(' Default Address Pools:');
    for (const pool of info.DefaultAddressPools) out += `   Base: ${pool.Base}, Size: ${pool.Size}\n`;
  }
  out += '\n';
  warnings.push(...(info.Warnings ?? []));
  return out;
}

export const infoCommand: CommandImpl<{ format: string }> = {
  flags: [{ name: 'format', short: 'f', kind: 'string', usage: INSPECT_FORMAT_HELP }],
  args: { kind: 'none' },
  async run(ctx, values) {
    const debug = ctx.globals.debug;
    const client = await clientVersion(ctx.globals.context ?? 'default');
    if (values.format) return formatted(ctx, values.format, client, debug);

    ctx.out('Client:\n' + clientInfoText(client, debug) + '\nServer:\n');
    let info: SystemInfo;
    try {
      info = await ctx.client().info();
    } catch (err) {
      if (err instanceof DaemonUnreachableError) throw err;
      ctx.err(`ERROR: ${err instanceof ApiError ? err.toString() : (err as Error).message}\n`);
      throw new StatusError('errors pretty printing info', 1);
    }
    const warnings: string[] = [];
    ctx.out(serverInfoText(info, debug, warnings));
    for (const w of warnings) ctx.err(`${w}\n`);
    return 0;
  },
};

async function formatted(ctx: CliContext, format: string, client: ClientVersion, debug: boolean): Promise<number> {
  let template;
  try {
    template = parseTemplate(format === 'json' ? '{{json .}}' : format);
  } catch (err) {
    if (err instanceof TemplateError) throw new StatusError(`template parsing error: ${err.message}`, 64);
    throw err;
  }
  const clientInfo = {
    Debug: debug,
    Version: client.Version,
    DefaultAPIVersion: client.DefaultAPIVersion,
    GitCommit: client.GitCommit,
    GoVersion: client.GoVersion,
    Os: client.Os,
    Arch: client.Arch,
    BuildTime: client.BuildTime,
    Context: client.Context,
    Plugins: [],
    Warnings: null,
  };
  const data: Record<string, unknown> = {};
  let failure: unknown;
  // Like docker: templates that only read ClientInfo work without a daemon.
  if (needsServerInfo(format, clientInfo)) {
    try {
      Object.assign(data, await ctx.client().info());
    } catch (err) {
      if (err instanceof DaemonUnreachableError) failure = err;
      else {
        const message = err instanceof ApiError ? err.toString() : (err as Error).message;
        ctx.err(`${message}\n`);
        data.ServerErrors = [message];
      }
    }
  }
  data.ClientInfo = clientInfo;
  let out: string;
  try {
    out = template.execute(data);
  } catch (err) {
    if (failure !== undefined) throw failure;
    throw new StatusError((err as Error).message, 1);
  }
  ctx.out(out + '\n');
  if (failure !== undefined) throw failure;
  return 0;
}

/** A struct (not a map): a template reading any other field fails on it, which tells us it needs the daemon. */
class ClientOnlyInfo {
  constructor(readonly ClientInfo: object) {}
}

/** docker's needsServerInfo. */
export function needsServerInfo(format: string, clientInfo: object): boolean {
  if (format === '' || format === 'json' || format === '{{json .}}' || !/\.[a-zA-Z]/.test(format)) return true;
  try {
    parseTemplate(format).execute(new ClientOnlyInfo(clientInfo));
    return false;
  } catch {
    return true;
  }
}
