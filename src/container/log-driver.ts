import { InvalidParameterError } from '../errors/index.js';

// Which logging drivers berth has and what their options mean.
//
// Every file driver writes the same thing on disk: conmon's CRI ("k8s-file")
// lines, rotated by berthd (see log-files.ts and docs/logs.md). The names
// clients and compose files use are accepted so that their options apply:
// `json-file` (the default, as with dockerd), `local` and `k8s-file`. `none`
// keeps nothing: `logs` is refused as dockerd refuses it. Anything else is
// refused at create with dockerd's words.

export interface LogConfig {
  Type: string;
  Config: Record<string, string>;
}

/** What the files of one container are allowed to grow to. */
export interface LogPolicy {
  /** `none`: nothing is kept (attach still streams). */
  keep: boolean;
  /** Bytes per file; undefined: no limit (the user asked for max-size=-1). */
  maxSize?: number;
  /** Files kept, the live one included. */
  maxFile: number;
}

export const DEFAULT_LOG_DRIVER = 'json-file';
/** Beyond Docker (whose json-file grows without limit): rotation is on unless the user turns it off. */
export const DEFAULT_MAX_SIZE = '10m';
export const DEFAULT_MAX_FILE = '3';

/** The drivers berth has, for /info's Plugins.Log. */
export const LOG_DRIVERS = ['json-file', 'k8s-file', 'local', 'none'];

/** Options each driver accepts besides the generic `mode` and `max-buffer-size`. */
const DRIVER_OPTS: Record<string, string[]> = {
  'json-file': ['max-file', 'max-size', 'compress', 'labels', 'labels-regex', 'env', 'env-regex', 'tag'],
  local: ['max-file', 'max-size', 'compress'],
  'k8s-file': ['max-file', 'max-size', 'tag'],
  none: [],
};

/**
 * dockerd's merge: an empty type takes the daemon's default driver, and a
 * container of the default driver inherits each daemon option it does not set.
 * Then berth's default rotation fills in for a file driver with no max-size,
 * so that inspect shows what is applied.
 */
export function resolveLogConfig(requested: Partial<LogConfig> | undefined, daemonDefault: LogConfig): LogConfig {
  const type = requested?.Type || daemonDefault.Type;
  const config: Record<string, string> = { ...(requested?.Config ?? {}) };
  if (type === daemonDefault.Type) {
    for (const [k, v] of Object.entries(daemonDefault.Config)) if (!(k in config)) config[k] = v;
  }
  validateLogConfig(type, config);
  if (type !== 'none' && config['max-size'] === undefined) {
    config['max-size'] = DEFAULT_MAX_SIZE;
    if (config['max-file'] === undefined) config['max-file'] = DEFAULT_MAX_FILE;
  }
  return { Type: type, Config: config };
}

/** Throws dockerd's message for an unknown driver, an unknown option or a bad value. */
export function validateLogConfig(type: string, config: Record<string, string>): void {
  if (type === 'none') {
    // dockerd accepts none with no options; the docker CLI refuses options before sending them.
    if (Object.keys(config).length) throw new InvalidParameterError(`invalid logging opts for driver ${type}`);
    return;
  }
  const mode = config.mode ?? '';
  if (!['', 'blocking', 'non-blocking'].includes(mode)) throw new InvalidParameterError(`logger: logging mode not supported: ${mode}`);
  if (config['max-buffer-size'] !== undefined) {
    if (mode !== 'non-blocking') throw new InvalidParameterError(`logger: max-buffer-size option is only supported with 'mode=non-blocking'`);
    if (parseSize(config['max-buffer-size'], true) === undefined) {
      throw new InvalidParameterError(`error parsing option max-buffer-size: invalid size: '${config['max-buffer-size']}'`);
    }
  }
  const known = DRIVER_OPTS[type];
  if (!known) throw new InvalidParameterError(`logger: no log driver named '${type}' is registered`);
  for (const key of Object.keys(config)) {
    if (key === 'mode' || key === 'max-buffer-size') continue;
    if (!known.includes(key)) throw new InvalidParameterError(`unknown log opt '${key}' for ${type} log driver`);
  }
  policyOf({ Type: type, Config: config });
}

/** The sizes the files may reach; throws dockerd's message for a bad value. */
export function policyOf(c: LogConfig): LogPolicy {
  if (c.Type === 'none') return { keep: false, maxFile: 1 };
  let maxSize: number | undefined;
  const rawSize = c.Config['max-size'];
  if (rawSize !== undefined && rawSize !== '-1') {
    maxSize = parseSize(rawSize, false);
    if (maxSize === undefined) throw new InvalidParameterError(`invalid size: '${rawSize}'`);
    if (maxSize <= 0) throw new InvalidParameterError('max-size must be a positive number');
  }
  let maxFile = 1;
  const rawFile = c.Config['max-file'];
  if (rawFile !== undefined) {
    if (!/^[+-]?\d+$/.test(rawFile)) throw new InvalidParameterError(`strconv.Atoi: parsing "${rawFile}": invalid syntax`);
    maxFile = Number(rawFile);
    if (maxFile < 1) throw new InvalidParameterError('max-file cannot be less than 1');
  }
  const rawCompress = c.Config.compress;
  if (rawCompress !== undefined) {
    const compress = parseBool(rawCompress);
    if (compress === undefined) throw new InvalidParameterError(`strconv.ParseBool: parsing "${rawCompress}": invalid syntax`);
    if (compress) {
      if (maxFile === 1 || maxSize === undefined) throw new InvalidParameterError('compress cannot be true when max-file is less than 2 or max-size is not set');
      throw new InvalidParameterError('compress=true is not supported by berth: rotated log files are kept uncompressed');
    }
  }
  return { keep: true, maxSize, maxFile };
}

/** go-units: FromHumanSize (decimal, "10m" = 10,000,000) or RAMInBytes (binary). */
export function parseSize(raw: string, binary: boolean): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgtp]?)(i?b?)\s*$/i.exec(raw);
  if (!m) return undefined;
  const unit = binary || m[3]!.toLowerCase().startsWith('i') ? 1024 : 1000;
  const power = ' kmgtp'.indexOf(m[2]!.toLowerCase() || ' ');
  return Math.floor(Number(m[1]) * unit ** power);
}

function parseBool(raw: string): boolean | undefined {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(raw)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(raw)) return false;
  return undefined;
}
