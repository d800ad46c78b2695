import { readFile } from 'node:fs/promises';
import { InvalidParameterError } from '../errors/index.js';
import { DEFAULT_LOG_DRIVER, validateLogConfig, type LogConfig } from '../container/index.js';

// berthd's settings: dockerd's flags and the daemon.json keys that apply.

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
  /** The default logging driver and its options for new containers. */
  logConfig: LogConfig;
}

export const DEFAULTS = {
  host: 'unix:///run/berth/berth.sock',
  dataRoot: '/var/lib/berth',
  execRoot: '/run/berth',
  configFile: '/etc/berth/daemon.json',
  cgroupParent: '/berth',
};

/** daemon.json key → our field; the same names dockerd uses. */
const FILE_KEYS: Record<string, keyof DaemonConfig | 'debug' | 'logDriver' | 'logOpts'> = {
  hosts: 'hosts',
  'data-root': 'dataRoot',
  'exec-root': 'execRoot',
  pidfile: 'pidfile',
  'log-level': 'logLevel',
  'default-runtime': 'defaultRuntime',
  'storage-driver': 'storageDriver',
  'cgroup-parent': 'cgroupParent',
  'log-driver': 'logDriver',
  'log-opts': 'logOpts',
  debug: 'debug',
};

/** Keys dockerd accepts that berth ignores (they have no meaning here yet). */
const IGNORED_KEYS = new Set(['registry-mirrors', 'insecure-registries', 'features', 'experimental', 'live-restore', 'runtimes', 'exec-opts', 'dns', 'bip', 'default-address-pools', 'iptables', 'ip-forward', 'userland-proxy', 'group', 'tls', 'tlsverify', 'tlscacert', 'tlscert', 'tlskey', 'max-concurrent-downloads', 'max-concurrent-uploads']);

export interface FlagValues {
  host?: string[];
  dataRoot?: string;
  execRoot?: string;
  pidfile?: string;
  configFile?: string;
  logLevel?: string;
  defaultRuntime?: string;
  storageDriver?: string;
  cgroupParent?: string;
  debug?: boolean;
  logDriver?: string;
  /** key=value, as dockerd's --log-opt. */
  logOpt?: string[];
}

function fileKeyOf(field: string): string {
  return Object.keys(FILE_KEYS).find((k) => FILE_KEYS[k] === field) ?? field;
}

/** Flags win where only one source sets a value; both setting it is an error, as with dockerd. */
export async function loadConfig(flags: FlagValues, configFileExplicit: boolean): Promise<DaemonConfig> {
  const configFile = flags.configFile ?? DEFAULTS.configFile;
  let file: Record<string, unknown> = {};
  try {
    const text = await readFile(configFile, 'utf8');
    try {
      // An empty file (or /dev/null) configures nothing, as with dockerd.
      file = text.trim() === '' ? {} : (JSON.parse(text) as Record<string, unknown>);
    } catch (err) {
      throw new InvalidParameterError(`unable to configure the berth daemon with file ${configFile}: ${(err as Error).message}`);
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    if (configFileExplicit) throw new InvalidParameterError(`unable to configure the berth daemon with file ${configFile}: no such file`);
  }
  const fromFile: Partial<Record<string, unknown>> = {};
  for (const [key, value] of Object.entries(file)) {
    const field = FILE_KEYS[key];
    if (!field) {
      if (IGNORED_KEYS.has(key)) continue;
      throw new InvalidParameterError(`unable to configure the berth daemon with file ${configFile}: the following directives don't match any configuration option: ${key}`);
    }
    fromFile[field] = value;
  }
  const flagFields: Record<string, unknown> = {
    hosts: flags.host?.length ? flags.host : undefined,
    dataRoot: flags.dataRoot,
    execRoot: flags.execRoot,
    pidfile: flags.pidfile,
    logLevel: flags.logLevel,
    defaultRuntime: flags.defaultRuntime,
    storageDriver: flags.storageDriver,
    cgroupParent: flags.cgroupParent,
    logDriver: flags.logDriver,
    logOpts: flags.logOpt?.length ? Object.fromEntries(flags.logOpt.map((o) => (o.includes('=') ? [o.slice(0, o.indexOf('=')), o.slice(o.indexOf('=') + 1)] : [o, '']))) : undefined,
  };
  const conflicts = Object.keys(flagFields).filter((k) => flagFields[k] !== undefined && fromFile[k] !== undefined);
  if (conflicts.length) {
    throw new InvalidParameterError(`unable to configure the berth daemon with file ${configFile}: the following directives are specified both as a flag and in the configuration file: ${conflicts.map(fileKeyOf).join(', ')}`);
  }
  const pick = <T>(k: string, fallback: T): T => (flagFields[k] ?? fromFile[k] ?? fallback) as T;
  const execRoot = pick('execRoot', DEFAULTS.execRoot);
  const debug = flags.debug || fromFile.debug === true;
  const logLevel = pick<string>('logLevel', debug ? 'debug' : 'info');
  if (!['debug', 'info', 'warn', 'error', 'fatal'].includes(logLevel)) throw new InvalidParameterError(`unable to parse logging level: ${logLevel}`);
  const logConfig = daemonLogConfig(pick<unknown>('logDriver', undefined), pick<unknown>('logOpts', undefined), configFile);
  return {
    logConfig,
    hosts: pick<string[]>('hosts', [DEFAULTS.host]),
    dataRoot: pick('dataRoot', DEFAULTS.dataRoot),
    execRoot,
    pidfile: pick('pidfile', `${execRoot}/berthd.pid`),
    logLevel: logLevel as DaemonConfig['logLevel'],
    defaultRuntime: pick<string | undefined>('defaultRuntime', undefined),
    storageDriver: pick<string | undefined>('storageDriver', undefined),
    cgroupParent: pick('cgroupParent', DEFAULTS.cgroupParent),
    configFile,
  };
}

/** daemon.json's log-driver and log-opts (or the flags), checked as dockerd checks them at start. */
function daemonLogConfig(driver: unknown, opts: unknown, configFile: string): LogConfig {
  if (driver !== undefined && typeof driver !== 'string') {
    throw new InvalidParameterError(`unable to configure the berth daemon with file ${configFile}: log-driver must be a string`);
  }
  if (opts !== undefined && (typeof opts !== 'object' || opts === null || Array.isArray(opts) || Object.values(opts).some((v) => typeof v !== 'string'))) {
    throw new InvalidParameterError(`unable to configure the berth daemon with file ${configFile}: log-opts must be an object of strings`);
  }
  const config: LogConfig = { Type: driver || DEFAULT_LOG_DRIVER, Config: { ...((opts as Record<string, string> | undefined) ?? {}) } };
  try {
    validateLogConfig(config.Type, config.Config);
  } catch (err) {
    throw new InvalidParameterError(`failed to set log opts: ${(err as Error).message}`);
  }
  return config;
}
