import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { InvalidParameterError } from '../errors/index.js';
import { DEFAULT_LOG_DRIVER, validateLogConfig, type LogConfig } from '../container/index.js';
import { DEFAULT_POOLS, parsePool, type AddressPool } from '../network/index.js';

// berthd's settings: dockerd's flags and daemon.json keys. A key berthd does
// not honour is an error at start, never silently ignored: a user who writes
// `"log-driver": "none"` must not believe it applies when it does not.

export interface TlsSettings {
  /** Serve TLS on TCP hosts (--tls, or implied by --tlsverify as with dockerd). */
  enabled: boolean;
  /** Require a client certificate signed by `ca`. */
  verify: boolean;
  /** The user said --tls=false or --tlsverify=false: TCP without authentication is what they want. */
  explicitlyUnauthenticated: boolean;
  ca?: string;
  cert: string;
  key: string;
}

export interface DaemonConfig {
  hosts: string[];
  dataRoot: string;
  execRoot: string;
  pidfile: string;
  logLevel: 'debug' | 'info' | 'warn' | 'error' | 'fatal';
  defaultRuntime?: string;
  storageDriver?: string;
  cgroupParent: string;
  configFile: string;
  /** Group of the UNIX sockets ("" = the daemon's own group). */
  group: string;
  /** The group was chosen by the user (a missing one is then an error, not a warning). */
  groupExplicit: boolean;
  tls: TlsSettings;
  /** The default logging driver and its options for new containers. */
  logConfig: LogConfig;
  /** daemon.json insecure-registries: plain HTTP (or unverified TLS) allowed. */
  insecureRegistries: string[];
  /** daemon.json registry-mirrors: endpoints for docker.io. */
  registryMirrors: string[];
  /** The default bridge's Linux bridge (dockerd's -b/--bridge). */
  bridge: string;
  /** The default bridge's address, CIDR (dockerd's --bip). */
  bip?: string;
  defaultAddressPools: AddressPool[];
  iptables: boolean;
  ipForward: boolean;
  dns: string[];
  /** berth's registry server run inside berthd, when daemon.json asks for it. */
  registry?: Required<Pick<RegistryServerSettings, 'addr' | 'root'>> & Omit<RegistryServerSettings, 'addr' | 'root'>;
}

export const DEFAULTS = {
  host: 'unix:///run/berth/berth.sock',
  dataRoot: '/var/lib/berth',
  execRoot: '/run/berth',
  configFile: '/etc/berth/daemon.json',
  cgroupParent: '/berth',
  /** dockerd's default socket group, used when it exists. */
  group: 'docker',
  bridge: 'berth0',
};

type ValueKind = 'string' | 'bool' | '[]string' | 'map[string]string' | '[]pool' | 'registry';

/** The fields a daemon.json key or a flag can set. */
export interface Settings {
  hosts?: string[];
  dataRoot?: string;
  execRoot?: string;
  pidfile?: string;
  logLevel?: string;
  defaultRuntime?: string;
  storageDriver?: string;
  cgroupParent?: string;
  debug?: boolean;
  group?: string;
  tls?: boolean;
  tlsVerify?: boolean;
  tlsCaCert?: string;
  tlsCert?: string;
  tlsKey?: string;
  logDriver?: string;
  logOpts?: Record<string, string>;
  insecureRegistries?: string[];
  registryMirrors?: string[];
  bridge?: string;
  bip?: string;
  defaultAddressPools?: Array<{ base: string; size: number }>;
  iptables?: boolean;
  ipForward?: boolean;
  dns?: string[];
  registry?: RegistryServerSettings;
}

/** daemon.json `registry` (berth's own key): serve berth's registry server inside berthd. */
export interface RegistryServerSettings {
  /** HOST:PORT to listen on. */
  addr: string;
  /** Storage directory; default <data-root>/registry. */
  root?: string;
  htpasswd?: string;
  'tls-cert'?: string;
  'tls-key'?: string;
  'max-upload-size'?: number;
}

const REGISTRY_KEYS: Record<string, 'string' | 'number'> = { addr: 'string', root: 'string', htpasswd: 'string', 'tls-cert': 'string', 'tls-key': 'string', 'max-upload-size': 'number' };

/**
 * Every daemon.json key berthd honours: dockerd's name → our field and its
 * JSON type. A key not in this table is refused. Add a key here only once
 * berthd really applies it.
 */
export const FILE_KEYS: Record<string, { field: keyof Settings; kind: ValueKind }> = {
  hosts: { field: 'hosts', kind: '[]string' },
  'data-root': { field: 'dataRoot', kind: 'string' },
  'exec-root': { field: 'execRoot', kind: 'string' },
  pidfile: { field: 'pidfile', kind: 'string' },
  'log-level': { field: 'logLevel', kind: 'string' },
  'default-runtime': { field: 'defaultRuntime', kind: 'string' },
  'storage-driver': { field: 'storageDriver', kind: 'string' },
  'cgroup-parent': { field: 'cgroupParent', kind: 'string' },
  debug: { field: 'debug', kind: 'bool' },
  group: { field: 'group', kind: 'string' },
  tls: { field: 'tls', kind: 'bool' },
  tlsverify: { field: 'tlsVerify', kind: 'bool' },
  tlscacert: { field: 'tlsCaCert', kind: 'string' },
  tlscert: { field: 'tlsCert', kind: 'string' },
  tlskey: { field: 'tlsKey', kind: 'string' },
  'log-driver': { field: 'logDriver', kind: 'string' },
  'log-opts': { field: 'logOpts', kind: 'map[string]string' },
  'insecure-registries': { field: 'insecureRegistries', kind: '[]string' },
  'registry-mirrors': { field: 'registryMirrors', kind: '[]string' },
  bridge: { field: 'bridge', kind: 'string' },
  bip: { field: 'bip', kind: 'string' },
  'default-address-pools': { field: 'defaultAddressPools', kind: '[]pool' },
  iptables: { field: 'iptables', kind: 'bool' },
  'ip-forward': { field: 'ipForward', kind: 'bool' },
  dns: { field: 'dns', kind: '[]string' },
  registry: { field: 'registry', kind: 'registry' },
};

/** Flag values as commander hands them over (`host` is -H, repeatable). */
export interface FlagValues extends Omit<Settings, 'hosts' | 'tls' | 'tlsVerify' | 'logOpts' | 'insecureRegistries' | 'registryMirrors' | 'defaultAddressPools' | 'iptables' | 'ipForward'> {
  /** base=CIDR,size=N, repeatable (dockerd's --default-address-pool). */
  defaultAddressPool?: string[];
  iptables?: boolean | string;
  ipForward?: boolean | string;
  /** key=value, as dockerd's --log-opt. */
  logOpt?: string[];
  host?: string[];
  configFile?: string;
  tls?: boolean | string;
  tlsverify?: boolean | string;
  tlscacert?: string;
  tlscert?: string;
  tlskey?: string;
}

function jsonKind(value: unknown): string {
  if (Array.isArray(value)) return 'array';
  if (value === null) return 'null';
  if (typeof value === 'object') return 'object';
  return typeof value === 'boolean' ? 'bool' : typeof value === 'number' ? 'number' : 'string';
}

function matches(kind: ValueKind, value: unknown): boolean {
  if (kind === 'string') return typeof value === 'string';
  if (kind === 'bool') return typeof value === 'boolean';
  if (kind === '[]pool') return Array.isArray(value) && value.every((p) => typeof p === 'object' && p !== null && typeof p.base === 'string' && typeof p.size === 'number');
  if (kind === 'registry') {
    return typeof value === 'object' && value !== null && !Array.isArray(value) && typeof (value as { addr?: unknown }).addr === 'string' &&
      Object.entries(value).every(([k, v]) => REGISTRY_KEYS[k] !== undefined && typeof v === REGISTRY_KEYS[k]);
  }
  if (kind === 'map[string]string') return typeof value === 'object' && value !== null && !Array.isArray(value) && Object.values(value).every((v) => typeof v === 'string');
  return Array.isArray(value) && value.every((v) => typeof v === 'string');
}

/** `--tls`, `--tls=true`, `--tls=false` (commander gives true or the text). */
function flagBool(name: string, value: boolean | string | undefined): boolean | undefined {
  if (value === undefined || typeof value === 'boolean') return value;
  if (/^(1|t|true)$/i.test(value)) return true;
  if (/^(0|f|false)$/i.test(value)) return false;
  throw new InvalidParameterError(`invalid argument "${value}" for "--${name}" flag: strconv.ParseBool: parsing "${value}": invalid syntax`);
}

/** Parses daemon.json's text into settings, refusing unknown keys and wrongly typed values. */
export function parseDaemonJson(text: string, configFile: string): Settings {
  const fail = (msg: string) => new InvalidParameterError(`unable to configure the berth daemon with file ${configFile}: ${msg}`);
  let file: unknown;
  try {
    // An empty file (or /dev/null) configures nothing, as with dockerd.
    file = text.trim() === '' ? {} : JSON.parse(text);
  } catch (err) {
    throw fail((err as Error).message);
  }
  if (typeof file !== 'object' || file === null || Array.isArray(file)) throw fail(`json: cannot unmarshal ${jsonKind(file)} into Go value of type map[string]interface {}`);
  const unknown = Object.keys(file).filter((k) => !FILE_KEYS[k]);
  if (unknown.length) throw fail(`the following directives don't match any configuration option: ${unknown.join(', ')}`);
  const out: Settings = {};
  for (const [key, value] of Object.entries(file)) {
    const spec = FILE_KEYS[key]!;
    if (!matches(spec.kind, value)) throw fail(`json: cannot unmarshal ${jsonKind(value)} into Go struct field Config.${key} of type ${spec.kind}`);
    (out as Record<string, unknown>)[spec.field] = value;
  }
  return out;
}

function fileKeyOf(field: string): string {
  return Object.keys(FILE_KEYS).find((k) => FILE_KEYS[k]!.field === field) ?? field;
}

/** dockerd's defaults for the TLS files: $DOCKER_CERT_PATH or ~/.docker, each used only when it exists (unless named). */
function resolveTls(s: Settings, env: NodeJS.ProcessEnv): TlsSettings {
  const certDir = env.DOCKER_CERT_PATH || join(homedir(), '.docker');
  // dockerd: naming --tlsverify at all (or DOCKER_TLS_VERIFY) turns TLS on; its value decides client verification.
  const verifyFromEnv = s.tlsVerify === undefined && Boolean(env.DOCKER_TLS_VERIFY);
  const verify = s.tlsVerify ?? verifyFromEnv;
  const enabled = s.tlsVerify !== undefined || verifyFromEnv ? true : s.tls === true;
  const pick = (given: string | undefined, name: string, keepMissing: boolean) => {
    if (given !== undefined) return given;
    const path = join(certDir, name);
    return keepMissing || existsSync(path) ? path : undefined;
  };
  return {
    enabled,
    verify,
    explicitlyUnauthenticated: s.tls === false || s.tlsVerify === false,
    ca: pick(s.tlsCaCert, 'ca.pem', false),
    // Cert and key are needed whenever TLS is on: a missing default is named in the error.
    cert: pick(s.tlsCert, 'cert.pem', true)!,
    key: pick(s.tlsKey, 'key.pem', true)!,
  };
}

/** Flags win where only one source sets a value; both setting it is an error, as with dockerd. */
export async function loadConfig(flags: FlagValues, configFileExplicit: boolean, env: NodeJS.ProcessEnv = process.env): Promise<DaemonConfig> {
  const configFile = flags.configFile ?? DEFAULTS.configFile;
  let fromFile: Settings = {};
  try {
    fromFile = parseDaemonJson(await readFile(configFile, 'utf8'), configFile);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    if (configFileExplicit) throw new InvalidParameterError(`unable to configure the berth daemon with file ${configFile}: no such file`);
  }
  const fromFlags: Settings = {
    hosts: flags.host?.length ? flags.host : undefined,
    dataRoot: flags.dataRoot,
    execRoot: flags.execRoot,
    pidfile: flags.pidfile,
    logLevel: flags.logLevel,
    defaultRuntime: flags.defaultRuntime,
    storageDriver: flags.storageDriver,
    cgroupParent: flags.cgroupParent,
    group: flags.group,
    tls: flagBool('tls', flags.tls),
    tlsVerify: flagBool('tlsverify', flags.tlsverify),
    tlsCaCert: flags.tlscacert,
    tlsCert: flags.tlscert,
    tlsKey: flags.tlskey,
    logDriver: flags.logDriver,
    logOpts: flags.logOpt?.length ? Object.fromEntries(flags.logOpt.map((o) => (o.includes('=') ? [o.slice(0, o.indexOf('=')), o.slice(o.indexOf('=') + 1)] : [o, '']))) : undefined,
    bridge: flags.bridge,
    bip: flags.bip,
    defaultAddressPools: flags.defaultAddressPool?.length ? flags.defaultAddressPool.map(parsePool) : undefined,
    iptables: flagBool('iptables', flags.iptables),
    ipForward: flagBool('ip-forward', flags.ipForward),
    dns: flags.dns?.length ? flags.dns : undefined,
  };
  const conflicts = (Object.keys(fromFlags) as Array<keyof Settings>).filter((k) => fromFlags[k] !== undefined && fromFile[k] !== undefined);
  if (conflicts.length) {
    throw new InvalidParameterError(`unable to configure the berth daemon with file ${configFile}: the following directives are specified both as a flag and in the configuration file: ${conflicts.map((k) => `${fileKeyOf(k)}: (from flag: ${show(fromFlags[k])}, from file: ${show(fromFile[k])})`).join(', ')}`);
  }
  const merged: Settings = { ...fromFile };
  for (const [k, v] of Object.entries(fromFlags)) if (v !== undefined) (merged as Record<string, unknown>)[k] = v;

  const execRoot = merged.execRoot ?? DEFAULTS.execRoot;
  const debug = flags.debug === true || merged.debug === true;
  const logLevel = merged.logLevel ?? (debug ? 'debug' : 'info');
  if (!['debug', 'info', 'warn', 'error', 'fatal'].includes(logLevel)) throw new InvalidParameterError(`unable to parse logging level: ${logLevel}`);
  return {
    hosts: merged.hosts?.length ? merged.hosts : [DEFAULTS.host],
    dataRoot: merged.dataRoot ?? DEFAULTS.dataRoot,
    execRoot,
    pidfile: merged.pidfile ?? `${execRoot}/berthd.pid`,
    logLevel: logLevel as DaemonConfig['logLevel'],
    defaultRuntime: merged.defaultRuntime,
    storageDriver: merged.storageDriver,
    cgroupParent: merged.cgroupParent ?? DEFAULTS.cgroupParent,
    configFile,
    group: merged.group ?? DEFAULTS.group,
    groupExplicit: merged.group !== undefined,
    tls: resolveTls(merged, env),
    logConfig: daemonLogConfig(merged.logDriver, merged.logOpts),
    insecureRegistries: merged.insecureRegistries ?? [],
    registryMirrors: merged.registryMirrors ?? [],
    bridge: merged.bridge ?? DEFAULTS.bridge,
    bip: merged.bip,
    defaultAddressPools: merged.defaultAddressPools?.map((p) => parsePool(`base=${p.base},size=${p.size}`)) ?? DEFAULT_POOLS,
    iptables: merged.iptables ?? true,
    ipForward: merged.ipForward ?? true,
    dns: merged.dns ?? [],
    ...(merged.registry ? { registry: { ...merged.registry, root: merged.registry.root ?? join(merged.dataRoot ?? DEFAULTS.dataRoot, 'registry') } } : {}),
  };
}

const show = (v: unknown) => (typeof v === 'object' && v !== null && !Array.isArray(v) ? JSON.stringify(v) : String(v));

/** daemon.json's log-driver and log-opts (or the flags), checked as dockerd checks them at start. */
function daemonLogConfig(driver: string | undefined, opts: Record<string, string> | undefined): LogConfig {
  const config: LogConfig = { Type: driver || DEFAULT_LOG_DRIVER, Config: { ...(opts ?? {}) } };
  try {
    validateLogConfig(config.Type, config.Config);
  } catch (err) {
    throw new InvalidParameterError(`failed to set log opts: ${(err as Error).message}`);
  }
  return config;
}
