import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { isAbsolute, resolve } from 'node:path';
import type { ContainerCreateRequest, EndpointSettings, HealthConfig, MountSpec, RestartPolicy, Ulimit } from '../../types/engine.js';
import type { ContainerCreateHostConfig, DeviceRequest } from '../../types/engine.js';
import type { FlagSpec } from '../flags.js';
import { goPathError } from '../support/path-error.js';
import { parsePortRange, parsePortSpecs, splitProtoPort, toStandardNotation } from '../support/ports.js';
import { parseGoDuration } from '../support/time.js';
import { memSwapBytes, parseCpus, parseUint, ramInBytes } from '../support/units.js';

// The flags `run` and `create` share, and how docker turns them into the
// body of POST /containers/create (docker/cli's cli/command/container/opts.go).
// Everything docker would send is sent; the daemon decides what it supports.

export const FORMAT_HELP =
  "Format output using a custom template:\n'table':            Print output in table format with column headers (default)\n'table TEMPLATE':   Print output in table format using the given Go template\n'json':             Print in JSON format\n'TEMPLATE':         Print output using the given Go template.\nRefer to https://docs.docker.com/go/formatting/ for more information about formatting output with templates";
export const INSPECT_FORMAT_HELP =
  "Format output using a custom template:\n'json':             Print in JSON format\n'TEMPLATE':         Print output using the given Go template.\nRefer to https://docs.docker.com/go/formatting/ for more information about formatting output with templates";

const ATTACH_STREAMS = ['stdin', 'stdout', 'stderr'];
const DEVICE_CGROUP_RULE = /^[acb] ([0-9]+|\*):([0-9]+|\*) [rwm]{1,3}$/;

function validateAttach(value: string): string {
  const s = value.toLowerCase();
  if (!ATTACH_STREAMS.includes(s)) throw new Error('valid streams are STDIN, STDOUT and STDERR');
  return s;
}

/** opts.ValidateEnv: `KEY` alone takes the value from the local environment, if set. */
export function validateEnv(value: string, env: NodeJS.ProcessEnv = process.env): string {
  const eq = value.indexOf('=');
  const key = eq === -1 ? value : value.slice(0, eq);
  if (key === '') throw new Error(`invalid environment variable: ${value}`);
  if (eq !== -1) return value;
  const local = env[key];
  return local === undefined ? value : `${key}=${local}`;
}

function validateLabel(value: string): string {
  const key = value.split('=')[0]!.replace(/^[ \t]+/, '');
  if (key === '') throw new Error(`invalid label '${value}': empty name`);
  if (/[ \t]/.test(key)) throw new Error(`label '${key}' contains whitespaces`);
  return value;
}

function validateIpAddress(value: string): string {
  const ip = value.trim();
  if (isIP(ip) === 0) throw new Error(`IP address is not correctly formatted: ${value}`);
  return ip;
}

function validateExtraHost(value: string): string {
  const sep = value.includes('=') ? '=' : ':';
  const at = value.indexOf(sep);
  const name = at === -1 ? '' : value.slice(0, at);
  let ip = at === -1 ? '' : value.slice(at + 1);
  if (ip.startsWith('[') && ip.endsWith(']')) ip = ip.slice(1, -1);
  if (name === '' || (ip !== 'host-gateway' && isIP(ip) === 0)) throw new Error(`bad format for add-host: ${JSON.stringify(value)}`);
  return value;
}

function validateDeviceCgroupRule(value: string): string {
  if (!DEVICE_CGROUP_RULE.test(value)) throw new Error(`invalid device cgroup format '${value}'`);
  return value;
}

const ULIMIT_NAMES = ['as', 'core', 'cpu', 'data', 'fsize', 'locks', 'memlock', 'msgqueue', 'nice', 'nofile', 'nproc', 'rss', 'rtprio', 'rttime', 'sigpending', 'stack'];

/** go-units ParseUlimit: `nofile=1024[:2048]`. */
export function parseUlimit(value: string): Ulimit {
  const eq = value.indexOf('=');
  if (eq === -1) throw new Error(`invalid ulimit argument: ${value}`);
  const name = value.slice(0, eq);
  if (!ULIMIT_NAMES.includes(name)) throw new Error(`invalid ulimit type: ${name}`);
  const limits = value.slice(eq + 1).split(':');
  if (limits.length > 2) throw new Error(`too many limit value arguments - ${value.slice(eq + 1)}, can only have up to two, \`soft[:hard]\``);
  const num = (s: string) => {
    if (!/^-?\d+$/.test(s)) throw new Error(`invalid ulimit value: ${s}`);
    return Number(s);
  };
  const soft = num(limits[0]!);
  const hard = limits.length === 2 ? num(limits[1]!) : soft;
  if (soft > hard) throw new Error(`ulimit soft limit must be less than or equal to hard limit: ${soft} > ${hard}`);
  return { Name: name, Soft: soft, Hard: hard };
}

/** Splits one CSV record the way Go's encoding/csv reads a --mount value. */
export function splitCsv(value: string): string[] {
  const fields: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < value.length; i++) {
    const c = value[i]!;
    if (quoted) {
      if (c === '"' && value[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"' && field === '') quoted = true;
    else if (c === ',') {
      fields.push(field);
      field = '';
    } else field += c;
  }
  fields.push(field);
  return fields;
}

function parseBoolOption(key: string, value: string): boolean {
  if (['1', 't', 'T', 'true', 'TRUE', 'True'].includes(value)) return true;
  if (['0', 'f', 'F', 'false', 'FALSE', 'False'].includes(value)) return false;
  throw new Error(`invalid value for ${key}: ${value}`);
}

/** docker's MountOpt.Set: `type=bind,source=/a,target=/b,readonly`. */
export function parseMount(value: string): MountSpec {
  const mount: MountSpec = { Type: 'volume' };
  const volumeOptions = () => (mount.VolumeOptions ??= {});
  const bindOptions = () => (mount.BindOptions ??= {});
  const tmpfsOptions = () => (mount.TmpfsOptions ??= {});
  for (const field of splitCsv(value)) {
    const eq = field.indexOf('=');
    const key = (eq === -1 ? field : field.slice(0, eq)).toLowerCase();
    const val = eq === -1 ? '' : field.slice(eq + 1);
    if (eq === -1) {
      if (key === 'readonly' || key === 'ro') mount.ReadOnly = true;
      else if (key === 'volume-nocopy') volumeOptions().NoCopy = true;
      else if (key === 'bind-nonrecursive') bindOptions().NonRecursive = true;
      else throw new Error(`invalid field '${field}' must be a key=value pair`);
      continue;
    }
    switch (key) {
      case 'type':
        mount.Type = val.toLowerCase() as MountSpec['Type'];
        break;
      case 'source':
      case 'src':
        mount.Source = !isAbsolute(val) && val.startsWith('.') ? resolve(val) : val;
        break;
      case 'target':
      case 'dst':
      case 'destination':
        mount.Target = val;
        break;
      case 'readonly':
      case 'ro':
        mount.ReadOnly = parseBoolOption(key, val);
        break;
      case 'consistency':
        mount.Consistency = val.toLowerCase();
        break;
      case 'bind-propagation':
        bindOptions().Propagation = val.toLowerCase();
        break;
      case 'bind-nonrecursive':
        bindOptions().NonRecursive = parseBoolOption(key, val);
        break;
      case 'bind-recursive':
        if (val === 'disabled') bindOptions().NonRecursive = true;
        else if (val === 'enabled' || val === 'writable' || val === 'readonly') bindOptions();
        else throw new Error(`invalid value for ${key}: ${val} (must be "enabled", "disabled", "writable", or "readonly")`);
        break;
      case 'volume-nocopy':
        volumeOptions().NoCopy = parseBoolOption('volume-nocopy', val);
        break;
      case 'volume-label': {
        const [k, v = ''] = val.split(/=(.*)/s);
        if (k) (volumeOptions().Labels ??= {})[k] = v;
        break;
      }
      case 'volume-driver':
        (volumeOptions().DriverConfig ??= {}).Name = val;
        break;
      case 'volume-opt': {
        const [k, v = ''] = val.split(/=(.*)/s);
        const driver = (volumeOptions().DriverConfig ??= {});
        if (k) (driver.Options ??= {})[k] = v;
        break;
      }
      case 'tmpfs-size':
        try {
          tmpfsOptions().SizeBytes = ramInBytes(val);
        } catch {
          throw new Error(`invalid value for ${key}: ${val}`);
        }
        break;
      case 'tmpfs-mode': {
        if (!/^[0-7]+$/.test(val)) throw new Error(`invalid value for ${key}: ${val}`);
        tmpfsOptions().Mode = parseInt(val, 8);
        break;
      }
      default:
        throw new Error(`unexpected key '${key}' in '${field}'`);
    }
  }
  if (!mount.Type) throw new Error('type is required');
  if (!mount.Target) throw new Error('target is required');
  if (mount.VolumeOptions && mount.Type !== 'volume') throw new Error(`cannot mix 'volume-*' options with mount type '${mount.Type}'`);
  if (mount.BindOptions && mount.Type !== 'bind') throw new Error(`cannot mix 'bind-*' options with mount type '${mount.Type}'`);
  if (mount.TmpfsOptions && mount.Type !== 'tmpfs') throw new Error(`cannot mix 'tmpfs-*' options with mount type '${mount.Type}'`);
  return mount;
}

export interface NetworkAttachment {
  target: string;
  aliases: string[];
  ipv4?: string;
  ipv6?: string;
  mac?: string;
  linkLocalIps: string[];
  driverOpts?: Record<string, string>;
  gwPriority?: number;
}

/** docker's NetworkOpt.Set: a name, or `name=net,alias=a,ip=…`. */
export function parseNetwork(value: string): NetworkAttachment {
  if (!/\w+=\w+(,\w+=\w+)*/.test(value)) return { target: value, aliases: [], linkLocalIps: [] };
  const n: NetworkAttachment = { target: '', aliases: [], linkLocalIps: [] };
  for (const field of splitCsv(value)) {
    const lower = field.toLowerCase();
    const eq = lower.indexOf('=');
    if (eq <= 0) throw new Error(`invalid field ${field}`);
    const key = lower.slice(0, eq).trim();
    const val = lower.slice(eq + 1).trim();
    switch (key) {
      case 'name':
        n.target = val;
        break;
      case 'alias':
        n.aliases.push(val);
        break;
      case 'ip':
        n.ipv4 = val;
        break;
      case 'ip6':
        n.ipv6 = val;
        break;
      case 'mac-address':
        n.mac = val;
        break;
      case 'link-local-ip':
        n.linkLocalIps.push(val);
        break;
      case 'driver-opt': {
        const at = val.indexOf('=');
        if (at <= 0) throw new Error('invalid key value pair format in driver options');
        (n.driverOpts ??= {})[val.slice(0, at).trim()] = val.slice(at + 1).trim();
        break;
      }
      case 'gw-priority':
        if (!/^-?\d+$/.test(val)) throw new Error(`invalid gw-priority (${val}): invalid syntax`);
        n.gwPriority = Number(val);
        break;
      default:
        throw new Error(`invalid field key ${key}`);
    }
  }
  if (!n.target) throw new Error('network name/id is not specified');
  return n;
}

/** docker's GpuOpts.Set: `all`, a count, or `count=2,capabilities=…,device=…,driver=…`. */
export function parseGpus(value: string): DeviceRequest {
  const req: DeviceRequest = { Driver: '', Count: 0, DeviceIDs: null, Capabilities: [['gpu']], Options: {} };
  if (value === 'all') return { ...req, Count: -1 };
  if (/^\d+$/.test(value)) return { ...req, Count: Number(value) };
  for (const field of splitCsv(value)) {
    const eq = field.indexOf('=');
    if (eq === -1) throw new Error(`invalid field ${field}`);
    const key = field.slice(0, eq);
    const val = field.slice(eq + 1);
    switch (key) {
      case 'driver':
        req.Driver = val;
        break;
      case 'count':
        req.Count = val === 'all' ? -1 : Number(val);
        if (!Number.isInteger(req.Count)) throw new Error(`invalid count (${val}): value must be either "all" or an integer`);
        break;
      case 'device':
        req.DeviceIDs = val.split(',');
        break;
      case 'capabilities':
        req.Capabilities = [val.split(',')];
        break;
      case 'options':
        for (const kv of val.split(',')) {
          const at = kv.indexOf('=');
          req.Options![at === -1 ? kv : kv.slice(0, at)] = at === -1 ? '' : kv.slice(at + 1);
        }
        break;
      default:
        throw new Error(`unexpected key '${key}' in '${field}'`);
    }
  }
  return req;
}

function throttleDevice(kind: 'bps' | 'iops') {
  return (value: string) => {
    const at = value.lastIndexOf(':');
    if (at === -1 || !value.startsWith('/dev/')) throw new Error(`bad format: ${value}`);
    const rate = value.slice(at + 1);
    let n: number;
    if (kind === 'bps') {
      try {
        n = ramInBytes(rate);
      } catch {
        throw new Error(`invalid rate for device: ${value}. The correct format is <device-path>:<number>[<unit>]. Number must be a positive integer. Unit is optional and can be kb, mb, or gb`);
      }
    } else {
      if (!/^\d+$/.test(rate)) throw new Error(`invalid rate for device: ${value}. The correct format is <device-path>:<number>. Number must be a positive integer`);
      n = Number(rate);
    }
    return { Path: value.slice(0, at), Rate: n };
  };
}

function weightDevice(value: string) {
  const at = value.lastIndexOf(':');
  if (at === -1 || !value.startsWith('/dev/')) throw new Error(`bad format: ${value}`);
  const w = Number(value.slice(at + 1));
  if (!Number.isInteger(w) || (w !== 0 && (w < 10 || w > 1000))) throw new Error(`invalid weight for device: ${value}`);
  return { Path: value.slice(0, at), Weight: w };
}

const duration = (name: string, short: string | undefined, usage: string): FlagSpec => ({ name, short, kind: 'string', type: 'duration', usage, default: 0, parse: parseGoDuration });
const bytes = (name: string, short: string | undefined, usage: string): FlagSpec => ({ name, short, kind: 'string', type: 'bytes', usage, default: 0, parse: ramInBytes });
const list = (name: string, usage: string, extra: Partial<FlagSpec> = {}): FlagSpec => ({ name, kind: 'list', usage, ...extra });
const str = (name: string, usage: string, extra: Partial<FlagSpec> = {}): FlagSpec => ({ name, kind: 'string', usage, ...extra });
const int = (name: string, usage: string, extra: Partial<FlagSpec> = {}): FlagSpec => ({ name, kind: 'int', usage, ...extra });
const bool = (name: string, usage: string, extra: Partial<FlagSpec> = {}): FlagSpec => ({ name, kind: 'bool', usage, ...extra });

/** docker's addFlags: every container option of run and create. */
export const CONTAINER_FLAGS: readonly FlagSpec[] = [
  // General purpose
  list('attach', 'Attach to STDIN, STDOUT or STDERR', { short: 'a', parse: validateAttach }),
  list('device-cgroup-rule', 'Add a rule to the cgroup allowed devices list', { parse: validateDeviceCgroupRule }),
  list('device', 'Add a host device to the container'),
  list('gpus', "GPU devices to add to the container ('all' to pass all GPUs)", { type: 'gpu-request', parse: parseGpus }),
  list('env', 'Set environment variables', { short: 'e', parse: (v) => validateEnv(v) }),
  list('env-file', 'Read in a file of environment variables'),
  str('entrypoint', 'Overwrite the default ENTRYPOINT of the image'),
  list('group-add', 'Add additional groups to join'),
  str('hostname', 'Container host name', { short: 'h' }),
  str('domainname', 'Container NIS domain name'),
  bool('interactive', 'Keep STDIN open even if not attached', { short: 'i' }),
  list('label', 'Set meta data on a container', { short: 'l', parse: validateLabel }),
  list('label-file', 'Read in a line delimited file of labels'),
  bool('read-only', "Mount the container's root filesystem as read only"),
  str('restart', 'Restart policy to apply when a container exits', { default: 'no', defaultText: '"no"' }),
  str('stop-signal', 'Signal to stop the container'),
  int('stop-timeout', 'Timeout (in seconds) to stop a container'),
  { name: 'sysctl', kind: 'map', usage: 'Sysctl options', defaultText: 'map[]' },
  bool('tty', 'Allocate a pseudo-TTY', { short: 't' }),
  list('ulimit', 'Ulimit options', { type: 'ulimit', defaultText: '[]', parse: parseUlimit }),
  str('user', 'Username or UID (format: <name|uid>[:<group|gid>])', { short: 'u' }),
  str('workdir', 'Working directory inside the container', { short: 'w' }),
  bool('rm', 'Automatically remove the container and its associated anonymous volumes when it exits'),
  // Security
  list('cap-add', 'Add Linux capabilities'),
  list('cap-drop', 'Drop Linux capabilities'),
  bool('privileged', 'Give extended privileges to this container'),
  list('security-opt', 'Security Options'),
  str('userns', 'User namespace to use'),
  str(
    'cgroupns',
    "Cgroup namespace to use (host|private)\n'host':    Run the container in the berth host's cgroup namespace\n'private': Run the container in its own private cgroup namespace\n'':        Use the cgroup namespace as configured by the\n           default-cgroupns-mode option on the daemon (default)",
  ),
  // Network and port publishing
  list('add-host', 'Add a custom host-to-IP mapping (host:ip)', { parse: validateExtraHost }),
  list('dns', 'Set custom DNS servers', { parse: validateIpAddress }),
  list('dns-opt', 'Set DNS options', { hidden: true, key: 'dnsOption' }),
  list('dns-option', 'Set DNS options'),
  list('dns-search', 'Set custom DNS search domains'),
  list('expose', 'Expose a port or a range of ports'),
  str('ip', 'IPv4 address (e.g., 172.30.100.104)'),
  str('ip6', 'IPv6 address (e.g., 2001:db8::33)'),
  list('link', 'Add link to another container'),
  list('link-local-ip', 'Container IPv4/IPv6 link-local addresses'),
  str('mac-address', 'Container MAC address (e.g., 92:d0:c6:0a:29:33)'),
  list('publish', "Publish a container's port(s) to the host", { short: 'p' }),
  bool('publish-all', 'Publish all exposed ports to random ports', { short: 'P' }),
  list('net', 'Connect a container to a network', { type: 'network', hidden: true, key: 'network', parse: parseNetwork }),
  list('network', 'Connect a container to a network', { type: 'network', parse: parseNetwork }),
  list('net-alias', 'Add network-scoped alias for the container', { hidden: true, key: 'networkAlias' }),
  list('network-alias', 'Add network-scoped alias for the container'),
  // Logging and storage
  str('log-driver', 'Logging driver for the container'),
  str('volume-driver', 'Optional volume driver for the container'),
  list('log-opt', 'Log driver options'),
  list('storage-opt', 'Storage driver options for the container'),
  list('tmpfs', 'Mount a tmpfs directory'),
  list('volumes-from', 'Mount volumes from the specified container(s)'),
  list('volume', 'Bind mount a volume', { short: 'v' }),
  list('mount', 'Attach a filesystem mount to the container', { type: 'mount', parse: parseMount }),
  // Health-checking
  str('health-cmd', 'Command to run to check health'),
  duration('health-interval', undefined, 'Time between running the check (ms|s|m|h) (default 0s)'),
  int('health-retries', 'Consecutive failures needed to report unhealthy'),
  duration('health-timeout', undefined, 'Maximum time to allow one check to run (ms|s|m|h) (default 0s)'),
  duration('health-start-period', undefined, 'Start period for the container to initialize before starting health-retries countdown (ms|s|m|h) (default 0s)'),
  duration('health-start-interval', undefined, 'Time between running the check during the start period (ms|s|m|h) (default 0s)'),
  bool('no-healthcheck', 'Disable any container-specified HEALTHCHECK'),
  // Resource management
  { name: 'blkio-weight', kind: 'int', type: 'uint16', usage: 'Block IO (relative weight), between 10 and 1000, or 0 to disable (default 0)', parse: (v) => parseUint(v, 16) },
  list('blkio-weight-device', 'Block IO weight (relative device weight)', { defaultText: '[]', parse: weightDevice }),
  str('cidfile', 'Write the container ID to the file'),
  str('cpuset-cpus', 'CPUs in which to allow execution (0-3, 0,1)'),
  str('cpuset-mems', 'MEMs in which to allow execution (0-3, 0,1)'),
  int('cpu-count', 'CPU count (Windows only)', { hidden: true }),
  int('cpu-percent', 'CPU percent (Windows only)', { hidden: true }),
  int('cpu-period', 'Limit CPU CFS (Completely Fair Scheduler) period'),
  int('cpu-quota', 'Limit CPU CFS (Completely Fair Scheduler) quota'),
  int('cpu-rt-period', 'Limit CPU real-time period in microseconds'),
  int('cpu-rt-runtime', 'Limit CPU real-time runtime in microseconds'),
  int('cpu-shares', 'CPU shares (relative weight)', { short: 'c' }),
  { name: 'cpus', kind: 'string', type: 'decimal', usage: 'Number of CPUs', default: 0, parse: parseCpus },
  list('device-read-bps', 'Limit read rate (bytes per second) from a device', { defaultText: '[]', parse: throttleDevice('bps') }),
  list('device-read-iops', 'Limit read rate (IO per second) from a device', { defaultText: '[]', parse: throttleDevice('iops') }),
  list('device-write-bps', 'Limit write rate (bytes per second) to a device', { defaultText: '[]', parse: throttleDevice('bps') }),
  list('device-write-iops', 'Limit write rate (IO per second) to a device', { defaultText: '[]', parse: throttleDevice('iops') }),
  { ...bytes('io-maxbandwidth', undefined, 'Maximum IO bandwidth limit for the system drive (Windows only)'), hidden: true },
  { name: 'io-maxiops', kind: 'int', type: 'uint', usage: 'Maximum IOps limit for the system drive (Windows only)', hidden: true, parse: (v) => parseUint(v, 64) },
  bytes('kernel-memory', undefined, 'Kernel memory limit'),
  bytes('memory', 'm', 'Memory limit'),
  bytes('memory-reservation', undefined, 'Memory soft limit'),
  { name: 'memory-swap', kind: 'string', type: 'bytes', usage: "Swap limit equal to memory plus swap: '-1' to enable unlimited swap", default: 0, parse: memSwapBytes },
  int('memory-swappiness', 'Tune container memory swappiness (0 to 100)', { default: -1, defaultText: '-1' }),
  bool('oom-kill-disable', 'Disable OOM Killer'),
  int('oom-score-adj', "Tune host's OOM preferences (-1000 to 1000)"),
  int('pids-limit', 'Tune container pids limit (set -1 for unlimited)'),
  // Low-level execution
  str('cgroup-parent', 'Optional parent cgroup for the container'),
  str('ipc', 'IPC mode to use'),
  str('isolation', 'Container isolation technology'),
  str('pid', 'PID namespace to use'),
  bytes('shm-size', undefined, 'Size of /dev/shm'),
  str('uts', 'UTS namespace to use'),
  str('runtime', 'Runtime to use for this container'),
  bool('init', 'Run an init inside the container that forwards signals and reaps processes'),
  { name: 'annotation', kind: 'map', usage: 'Add an annotation to the container (passed through to the OCI runtime)', defaultText: 'map[]' },
];

/** Flags of run and create that are not container options (docker's createOptions). */
export function createCommandFlags(verb: 'running' | 'creating'): FlagSpec[] {
  return [
    str('name', 'Assign a name to the container'),
    str('pull', verb === 'running' ? 'Pull image before running ("always", "missing", "never")' : 'Pull image before creating ("always", "|missing", "never")', {
      default: 'missing',
      defaultText: '"missing"',
    }),
    bool('quiet', 'Suppress the pull output', { short: 'q' }),
    bool('use-api-socket', 'Bind mount berth API socket and required auth'),
    bool('help', 'Print usage'),
    str('platform', 'Set platform if server is multi-platform capable', { default: process.env.DOCKER_DEFAULT_PLATFORM ?? '' }),
    bool('disable-content-trust', 'Skip image verification', { default: true, defaultText: 'true' }),
  ];
}

/** Values of CONTAINER_FLAGS after parsing (keys are the camelCased flag names). */
export interface ContainerFlagValues {
  attach: string[];
  deviceCgroupRule: string[];
  device: string[];
  gpus: DeviceRequest[];
  env: string[];
  envFile: string[];
  entrypoint: string;
  groupAdd: string[];
  hostname: string;
  domainname: string;
  interactive: boolean;
  label: string[];
  labelFile: string[];
  readOnly: boolean;
  restart: string;
  stopSignal: string;
  stopTimeout: number;
  sysctl: Record<string, string>;
  tty: boolean;
  ulimit: Ulimit[];
  user: string;
  workdir: string;
  rm: boolean;
  capAdd: string[];
  capDrop: string[];
  privileged: boolean;
  securityOpt: string[];
  userns: string;
  cgroupns: string;
  addHost: string[];
  dns: string[];
  dnsOption: string[];
  dnsSearch: string[];
  expose: string[];
  ip: string;
  ip6: string;
  link: string[];
  linkLocalIp: string[];
  macAddress: string;
  publish: string[];
  publishAll: boolean;
  network: NetworkAttachment[];
  networkAlias: string[];
  logDriver: string;
  volumeDriver: string;
  logOpt: string[];
  storageOpt: string[];
  tmpfs: string[];
  volumesFrom: string[];
  volume: string[];
  mount: MountSpec[];
  healthCmd: string;
  healthInterval: number;
  healthRetries: number;
  healthTimeout: number;
  healthStartPeriod: number;
  healthStartInterval: number;
  noHealthcheck: boolean;
  blkioWeight: number;
  blkioWeightDevice: Array<{ Path: string; Weight: number }>;
  cidfile: string;
  cpusetCpus: string;
  cpusetMems: string;
  cpuCount: number;
  cpuPercent: number;
  cpuPeriod: number;
  cpuQuota: number;
  cpuRtPeriod: number;
  cpuRtRuntime: number;
  cpuShares: number;
  cpus: number;
  deviceReadBps: Array<{ Path: string; Rate: number }>;
  deviceReadIops: Array<{ Path: string; Rate: number }>;
  deviceWriteBps: Array<{ Path: string; Rate: number }>;
  deviceWriteIops: Array<{ Path: string; Rate: number }>;
  ioMaxbandwidth: number;
  ioMaxiops: number;
  kernelMemory: number;
  memory: number;
  memoryReservation: number;
  memorySwap: number;
  memorySwappiness: number;
  oomKillDisable: boolean;
  oomScoreAdj: number;
  pidsLimit: number;
  cgroupParent: string;
  ipc: string;
  isolation: string;
  pid: string;
  shmSize: number;
  uts: string;
  runtime: string;
  init: boolean;
  annotation: Record<string, string>;
}

/** Reads `KEY=value` files as docker's kvfile.Parse does (env files look unset keys up locally). */
export function parseKeyValueFile(path: string, lookup?: (key: string) => string | undefined, readFile: (p: string) => string = (p) => readFileSync(p, 'utf8')): string[] {
  let text: string;
  try {
    text = readFile(path);
  } catch (err) {
    throw new Error(goPathError('open', path, err));
  }
  if (text.startsWith('\uFEFF')) text = text.slice(1);
  const lines: string[] = [];
  for (const rawLine of text.split(/\r?\n/)) {
    const line = rawLine.replace(/^\s+/, '');
    if (line === '' || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    const key = eq === -1 ? line : line.slice(0, eq);
    if (key === '') throw new Error(`invalid env file (${path}): no variable name on line '${line}'`);
    if (/[ \t]/.test(key)) throw new Error(`invalid env file (${path}): variable '${key}' contains whitespaces`);
    if (eq !== -1) {
      lines.push(line);
      continue;
    }
    const value = lookup?.(line);
    if (value !== undefined) lines.push(`${key}=${value}`);
  }
  return lines;
}

/** loader.ParseVolume's split of `-v`: does the spec name a source (bind or named volume)? */
export function volumeHasSource(spec: string): boolean {
  if (spec.length <= 2) return false;
  const parts: string[] = [];
  let buf = '';
  for (const ch of spec) {
    if (ch === ':' && !(buf.length === 1 && /[a-zA-Z]/.test(buf))) {
      if (buf === '') throw new Error(`invalid spec: ${spec}: empty section between colons`);
      parts.push(buf);
      buf = '';
    } else buf += ch;
  }
  if (buf === '') throw new Error(`invalid spec: ${spec}: empty section between colons`);
  parts.push(buf);
  if (parts.length > 3) throw new Error(`invalid spec: ${spec}: too many colons`);
  return parts.length >= 2;
}

/** opts.ParseRestartPolicy. */
export function parseRestartPolicy(policy: string): RestartPolicy {
  if (policy === '') return {};
  const colon = policy.indexOf(':');
  const name = colon === -1 ? policy : policy.slice(0, colon);
  const count = colon === -1 ? '' : policy.slice(colon + 1);
  if (colon !== -1 && name === '') throw new Error('invalid restart policy format: no policy provided before colon');
  const p: RestartPolicy = { Name: name as RestartPolicy['Name'] };
  if (count !== '') {
    if (!/^[+-]?\d+$/.test(count)) throw new Error('invalid restart policy format: maximum retry count must be an integer');
    p.MaximumRetryCount = Number(count);
  }
  return p;
}

const USER_DEFINED = (mode: string) => !['default', 'bridge', 'host', 'none', ''].includes(mode) && !mode.startsWith('container:');

function endpointFor(n: NetworkAttachment): EndpointSettings {
  if (!n.target.trim()) throw new Error('no name set for network');
  if (!USER_DEFINED(n.target)) {
    if (n.aliases.length) throw new Error('network-scoped aliases are only supported for user-defined networks');
  }
  const ep: EndpointSettings & { GwPriority?: number } = {};
  if (n.aliases.length) ep.Aliases = [...n.aliases];
  if (n.driverOpts) ep.DriverOpts = n.driverOpts;
  if (n.ipv4 || n.ipv6 || n.linkLocalIps.length) ep.IPAMConfig = { IPv4Address: n.ipv4 ?? '', IPv6Address: n.ipv6 ?? '', LinkLocalIPs: n.linkLocalIps };
  if (n.mac) ep.MacAddress = n.mac;
  if (n.gwPriority) ep.GwPriority = n.gwPriority;
  return ep;
}

/** parseNetworkOpts: endpoint settings per network, with the old --ip/--network-alias flags on the first. */
function networkEndpoints(v: ContainerFlagValues): Record<string, EndpointSettings> {
  const withLegacy = (n: NetworkAttachment): NetworkAttachment => {
    if (n.aliases.length && v.networkAlias.length) throw new Error('conflicting options: cannot specify both --network-alias and per-network alias');
    if (n.ipv4 && v.ip) throw new Error('conflicting options: cannot specify both --ip and per-network IPv4 address');
    if (n.ipv6 && v.ip6) throw new Error('conflicting options: cannot specify both --ip6 and per-network IPv6 address');
    if (n.mac && v.macAddress) throw new Error('conflicting options: cannot specify both --mac-address and per-network MAC address');
    return {
      ...n,
      aliases: v.networkAlias.length ? [...v.networkAlias] : n.aliases,
      ipv4: v.ip || n.ipv4,
      ipv6: v.ip6 || n.ipv6,
      mac: v.macAddress || n.mac,
      linkLocalIps: v.linkLocalIp.length ? [...v.linkLocalIp] : n.linkLocalIps,
    };
  };
  const endpoints: Record<string, EndpointSettings> = {};
  if (v.network.length === 0) {
    endpoints.default = endpointFor(withLegacy({ target: 'default', aliases: [], linkLocalIps: [] }));
    return endpoints;
  }
  let userDefined = false;
  let builtin = false;
  v.network.forEach((n, i) => {
    if (USER_DEFINED(n.target)) userDefined = true;
    else builtin = true;
    const attachment = i === 0 ? withLegacy(n) : n;
    const ep = endpointFor(attachment);
    if (endpoints[n.target]) throw new Error(`network "${n.target}" is specified multiple times`);
    // A lone network without options needs no endpoint config (the daemon makes one).
    if (i === 0 && v.network.length === 1 && Object.keys(ep).length === 0) return;
    endpoints[n.target] = ep;
  });
  if (userDefined && builtin) throw new Error('conflicting options: cannot attach both user-defined and non-user-defined network-modes');
  return endpoints;
}

export interface BuildOptions {
  image: string;
  args: string[];
  /** Flags given on the command line (pflag's Changed), for "only if set" fields. */
  changed: ReadonlySet<string>;
  /** [height, width] of the local terminal, 0 when not a TTY. */
  consoleSize?: [number, number];
  readFile?: (path: string) => string;
  env?: NodeJS.ProcessEnv;
}

/** docker's parse(): the create body for these flags, image and command. Throws docker's messages. */
export function buildCreateRequest(v: ContainerFlagValues, o: BuildOptions): ContainerCreateRequest & { HostConfig: ContainerCreateHostConfig } {
  const env = o.env ?? process.env;
  const attached = new Set(v.attach);
  let attachStdin = attached.has('stdin');
  let attachStdout = attached.has('stdout');
  let attachStderr = attached.has('stderr');
  if (v.macAddress && !/^([0-9a-fA-F]{2}[:-]){5}[0-9a-fA-F]{2}$/.test(v.macAddress)) throw new Error(`${v.macAddress} is not a valid mac address`);
  if (v.interactive) attachStdin = true;
  if (v.attach.length === 0) {
    attachStdout = true;
    attachStderr = true;
  }
  if (v.memorySwappiness !== -1 && (v.memorySwappiness < 0 || v.memorySwappiness > 100)) {
    throw new Error(`invalid value: ${v.memorySwappiness}. Valid memory swappiness range is 0-100`);
  }

  const binds: string[] = [];
  const volumes: Record<string, object> = {};
  for (const spec of v.volume) {
    if (spec === '') throw new Error('invalid empty volume spec');
    if (!volumeHasSource(spec)) {
      volumes[spec] = {};
      continue;
    }
    // Relative bind sources ("./data:/data") are made absolute, like docker.
    const colon = spec.indexOf(':');
    const host = spec.slice(0, colon);
    binds.push(!isAbsolute(host) && host.startsWith('.') ? `${resolve(host)}${spec.slice(colon)}` : spec);
  }

  const tmpfs: Record<string, string> = {};
  for (const t of v.tmpfs) {
    const colon = t.indexOf(':');
    tmpfs[colon === -1 ? t : t.slice(0, colon)] = colon === -1 ? '' : t.slice(colon + 1);
  }

  let entrypoint: string[] | undefined;
  if (v.entrypoint !== '') entrypoint = [v.entrypoint];
  else if (o.changed.has('entrypoint')) entrypoint = [''];

  const { exposed, bindings } = parsePortSpecs(v.publish.map(toStandardNotation));
  for (const e of v.expose) {
    if (e.includes(':')) throw new Error(`invalid port format for --expose: ${e}`);
    const [proto, port] = splitProtoPort(e);
    let start: number, end: number;
    try {
      [start, end] = parsePortRange(port);
    } catch (err) {
      throw new Error(`invalid range format for --expose: ${e}, error: ${(err as Error).message}`);
    }
    for (let p = start; p <= end; p++) exposed[`${p}/${proto}`] ??= {};
  }

  const devices = v.device.map((d) => {
    const parts = d.split(':');
    if (parts.length > 3 || parts[0] === '') throw new Error(`bad format for path: ${d}`);
    const src = parts[0]!;
    let dst = '';
    let perms = 'rwm';
    if (parts.length === 3) perms = parts[2]!;
    if (parts.length >= 2) {
      if (/^[rwm]{1,3}$/.test(parts[1]!) && parts.length === 2) perms = parts[1]!;
      else dst = parts[1]!;
    }
    return { PathOnHost: src, PathInContainer: dst || src, CgroupPermissions: perms };
  });

  const lookup = (key: string) => env[key];
  const envVars = [...v.envFile.flatMap((f) => parseKeyValueFile(f, lookup, o.readFile)), ...v.env];
  const labelLines = [...v.labelFile.flatMap((f) => parseKeyValueFile(f, undefined, o.readFile)), ...v.label];
  const labels: Record<string, string> = {};
  for (const l of labelLines) {
    const eq = l.indexOf('=');
    labels[eq === -1 ? l : l.slice(0, eq)] = eq === -1 ? '' : l.slice(eq + 1);
  }

  const validMode = (mode: string, extra: (m: string) => boolean) => mode === '' || extra(mode);
  if (!validMode(v.pid, (m) => m === 'host' || (m.startsWith('container:') && m.length > 10))) throw new Error('--pid: invalid PID mode');
  if (!validMode(v.uts, (m) => m === 'host')) throw new Error('--uts: invalid UTS mode');
  if (!validMode(v.userns, (m) => m === 'host')) throw new Error('--userns: invalid USER mode');
  if (!validMode(v.cgroupns, (m) => m === 'host' || m === 'private')) throw new Error('--cgroupns: invalid CGROUP mode');

  const restartPolicy = parseRestartPolicy(v.restart);
  const logConfig: Record<string, string> = {};
  for (const opt of v.logOpt) {
    const eq = opt.indexOf('=');
    logConfig[eq === -1 ? opt : opt.slice(0, eq)] = eq === -1 ? '' : opt.slice(eq + 1);
  }
  if (v.logDriver === 'none' && v.logOpt.length > 0) throw new Error(`invalid logging opts for driver ${v.logDriver}`);

  let maskedPaths: string[] | undefined;
  let readonlyPaths: string[] | undefined;
  const securityOpts: string[] = [];
  for (const opt of v.securityOpt) {
    let sep = opt.indexOf('=');
    if (sep === -1 && opt !== 'no-new-privileges') sep = opt.indexOf(':');
    const key = sep === -1 ? opt : opt.slice(0, sep);
    const val = sep === -1 ? '' : opt.slice(sep + 1);
    if ((sep === -1 || val === '') && key !== 'no-new-privileges') throw new Error(`Invalid --security-opt: ${JSON.stringify(opt)}`);
    if (opt === 'systempaths=unconfined') {
      maskedPaths = [];
      readonlyPaths = [];
      continue;
    }
    if (key === 'seccomp' && val !== 'builtin' && val !== 'unconfined') {
      let profile: string;
      try {
        profile = (o.readFile ?? ((p: string) => readFileSync(p, 'utf8')))(val);
      } catch (err) {
        throw new Error(`opening seccomp profile (${val}) failed: ${goPathError('open', val, err)}`);
      }
      try {
        securityOpts.push(`seccomp=${JSON.stringify(JSON.parse(profile))}`);
      } catch (err) {
        throw new Error(`compacting json for seccomp profile (${val}) failed: ${(err as Error).message}`);
      }
      continue;
    }
    securityOpts.push(opt);
  }

  const storageOpt: Record<string, string> = {};
  for (const opt of v.storageOpt) {
    const eq = opt.indexOf('=');
    if (eq === -1) throw new Error('invalid storage option');
    storageOpt[opt.slice(0, eq)] = opt.slice(eq + 1);
  }

  let healthcheck: HealthConfig | undefined;
  const haveHealth = v.healthCmd !== '' || v.healthInterval !== 0 || v.healthTimeout !== 0 || v.healthStartPeriod !== 0 || v.healthRetries !== 0 || v.healthStartInterval !== 0;
  if (v.noHealthcheck) {
    if (haveHealth) throw new Error('--no-healthcheck conflicts with --health-* options');
    healthcheck = { Test: ['NONE'] };
  } else if (haveHealth) {
    if (v.healthInterval < 0) throw new Error('--health-interval cannot be negative');
    if (v.healthTimeout < 0) throw new Error('--health-timeout cannot be negative');
    if (v.healthRetries < 0) throw new Error('--health-retries cannot be negative');
    if (v.healthStartPeriod < 0) throw new Error('--health-start-period cannot be negative');
    if (v.healthStartInterval < 0) throw new Error('--health-start-interval cannot be negative');
    healthcheck = {
      ...(v.healthCmd ? { Test: ['CMD-SHELL', v.healthCmd] } : {}),
      Interval: v.healthInterval,
      Timeout: v.healthTimeout,
      StartPeriod: v.healthStartPeriod,
      StartInterval: v.healthStartInterval,
      Retries: v.healthRetries,
    };
  }

  const networkMode = v.network.length ? v.network[0]!.target : 'default';
  const endpoints = networkEndpoints(v);
  if (v.rm && restartPolicy.Name && restartPolicy.Name !== 'no') {
    throw new Error('conflicting options: cannot specify both --restart and --rm');
  }

  const hostConfig: ContainerCreateHostConfig = {
    Binds: binds.length ? binds : null,
    ContainerIDFile: v.cidfile,
    LogConfig: { Type: v.logDriver, Config: logConfig },
    NetworkMode: networkMode,
    PortBindings: bindings,
    RestartPolicy: { Name: restartPolicy.Name ?? '', MaximumRetryCount: restartPolicy.MaximumRetryCount ?? 0 },
    AutoRemove: v.rm,
    VolumeDriver: v.volumeDriver,
    VolumesFrom: v.volumesFrom.length ? v.volumesFrom : null,
    ConsoleSize: o.consoleSize ?? [0, 0],
    Annotations: Object.keys(v.annotation).length ? v.annotation : undefined,
    CapAdd: v.capAdd.length ? v.capAdd : null,
    CapDrop: v.capDrop.length ? v.capDrop : null,
    CgroupnsMode: v.cgroupns,
    Dns: v.dns,
    DnsOptions: v.dnsOption,
    DnsSearch: v.dnsSearch,
    ExtraHosts: v.addHost.length ? v.addHost : null,
    GroupAdd: v.groupAdd.length ? v.groupAdd : null,
    IpcMode: v.ipc,
    Links: v.link.length ? v.link : null,
    OomScoreAdj: v.oomScoreAdj,
    PidMode: v.pid,
    Privileged: v.privileged,
    PublishAllPorts: v.publishAll,
    ReadonlyRootfs: v.readOnly,
    SecurityOpt: securityOpts.length ? securityOpts : null,
    StorageOpt: Object.keys(storageOpt).length ? storageOpt : undefined,
    Tmpfs: Object.keys(tmpfs).length ? tmpfs : undefined,
    UTSMode: v.uts,
    UsernsMode: v.userns,
    ShmSize: v.shmSize,
    Sysctls: Object.keys(v.sysctl).length ? v.sysctl : undefined,
    Runtime: v.runtime,
    Isolation: v.isolation,
    MaskedPaths: maskedPaths,
    ReadonlyPaths: readonlyPaths,
    Mounts: v.mount.length ? v.mount : undefined,
    // Resources
    CpuShares: v.cpuShares,
    Memory: v.memory,
    NanoCpus: v.cpus,
    CgroupParent: v.cgroupParent,
    BlkioWeight: v.blkioWeight,
    BlkioWeightDevice: v.blkioWeightDevice,
    BlkioDeviceReadBps: v.deviceReadBps,
    BlkioDeviceWriteBps: v.deviceWriteBps,
    BlkioDeviceReadIOps: v.deviceReadIops,
    BlkioDeviceWriteIOps: v.deviceWriteIops,
    CpuPeriod: v.cpuPeriod,
    CpuQuota: v.cpuQuota,
    CpuRealtimePeriod: v.cpuRtPeriod,
    CpuRealtimeRuntime: v.cpuRtRuntime,
    CpuCount: v.cpuCount,
    CpuPercent: v.cpuPercent,
    CpusetCpus: v.cpusetCpus,
    CpusetMems: v.cpusetMems,
    Devices: devices,
    DeviceCgroupRules: v.deviceCgroupRule.length ? v.deviceCgroupRule : null,
    DeviceRequests: v.gpus.length ? v.gpus : null,
    KernelMemory: v.kernelMemory,
    MemoryReservation: v.memoryReservation,
    MemorySwap: v.memorySwap,
    MemorySwappiness: v.memorySwappiness,
    OomKillDisable: v.oomKillDisable,
    PidsLimit: v.pidsLimit,
    Ulimits: v.ulimit.length ? v.ulimit : null,
    IOMaximumIOps: v.ioMaxiops,
    IOMaximumBandwidth: v.ioMaxbandwidth,
  };
  if (o.changed.has('init')) hostConfig.Init = v.init;

  const request: ContainerCreateRequest & { HostConfig: ContainerCreateHostConfig } = {
    Hostname: v.hostname,
    Domainname: v.domainname,
    User: v.user,
    AttachStdin: attachStdin,
    AttachStdout: attachStdout,
    AttachStderr: attachStderr,
    ExposedPorts: Object.keys(exposed).length ? exposed : undefined,
    Tty: v.tty,
    OpenStdin: v.interactive,
    // When stdin is attached, the daemon closes it once the client disconnects.
    StdinOnce: v.interactive && attachStdin,
    Env: envVars,
    Cmd: o.args.length ? o.args : null,
    Image: o.image,
    Volumes: Object.keys(volumes).length ? volumes : undefined,
    WorkingDir: v.workdir,
    Entrypoint: entrypoint ?? null,
    Labels: labels,
    StopSignal: v.stopSignal || undefined,
    Healthcheck: healthcheck,
    HostConfig: hostConfig,
    NetworkingConfig: { EndpointsConfig: endpoints },
  };
  if (o.changed.has('stop-timeout')) request.StopTimeout = v.stopTimeout;
  // The endpoint MAC address of the main network goes in Config too, for older daemons.
  const main = endpoints[networkMode];
  if (main?.MacAddress) request.MacAddress = main.MacAddress;
  return request;
}

