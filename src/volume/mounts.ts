import { mkdir, stat } from 'node:fs/promises';
import { posix } from 'node:path';
import { InvalidParameterError } from '../errors/index.js';
import type { HostConfig, MountSpec } from '../types/engine.js';

// A container's mounts as the user asked for them: -v/--volume
// (HostConfig.Binds), --mount (HostConfig.Mounts), --tmpfs (HostConfig.Tmpfs),
// --volumes-from (HostConfig.VolumesFrom, resolved by the container side into
// the other container's mounts) and the image's VOLUMEs (Config.Volumes).
// parseMounts checks them and orders them the way dockerd does; the volume
// service then gives every volume mount its volume (named or anonymous).

/** One mount of a container, as its record keeps it. */
export interface MountRecord {
  type: 'bind' | 'volume' | 'tmpfs';
  /** Host path of a bind; "tmpfs" for tmpfs; "" for a volume (its driver knows the path). */
  source: string;
  destination: string;
  readOnly: boolean;
  /** Bind propagation ("rprivate" unless asked). */
  propagation: string;
  /** Extra mount options (tmpfs size/mode, …). */
  options: string[];
  /** -v creates a missing host directory; --mount refuses it. */
  createSource: boolean;
  /** Shown in inspect's Mounts (--tmpfs mounts are not, as with Docker). */
  listed: boolean;
  /** inspect's Mode. */
  mode: string;
  /** Volume name (empty until an anonymous volume got its name). */
  name?: string;
  driver?: string;
  /** Volume options for a volume created by this mount (--mount volume-opt, volume-label). */
  driverOptions?: Record<string, string>;
  labels?: Record<string, string>;
  /** Fill a new empty volume with the image's files (not with nocopy). */
  copyData?: boolean;
  /** Made for this container (VOLUME, -v /path, --mount without source): rm -v removes it. */
  anonymous?: boolean;
}

/** The other container's mounts for one --volumes-from entry. */
export interface VolumesFromSource {
  spec: string;
  mounts: MountRecord[];
}

const PROPAGATIONS = ['shared', 'slave', 'private', 'rshared', 'rslave', 'rprivate'];

function checkDestination(dest: string, spec: string): string {
  if (!dest.startsWith('/')) throw new InvalidParameterError(`invalid mount config: mount destination ${dest} not absolute (in "${spec}")`);
  const clean = posix.normalize(dest);
  if (clean === '/') throw new InvalidParameterError(`invalid mount config: destination can't be '/' (in "${spec}")`);
  return clean.endsWith('/') ? clean.slice(0, -1) : clean;
}

/** The container name and mode of a --volumes-from entry ("web", "web:ro"). */
export function parseVolumesFrom(spec: string): { container: string; mode: '' | 'ro' | 'rw' } {
  if (!spec) throw new InvalidParameterError('volumes-from specification cannot be an empty string');
  const colon = spec.indexOf(':');
  const container = colon < 0 ? spec : spec.slice(0, colon);
  const mode = colon < 0 ? '' : spec.slice(colon + 1);
  if (mode !== '' && mode !== 'ro' && mode !== 'rw') throw new InvalidParameterError(`invalid mode: ${mode}`);
  return { container, mode };
}

function bindOrVolume(bind: string, volumeDriver: string): MountRecord {
  const parts = bind.split(':');
  if (parts.length < 2 || parts.length > 3) throw new InvalidParameterError(`invalid volume specification: '${bind}'`);
  const [source, destination, modeText = ''] = parts as [string, string, string?];
  const modes = modeText ? modeText.split(',') : [];
  for (const m of modes) {
    if (!['ro', 'rw', 'z', 'Z', 'nocopy', ...PROPAGATIONS].includes(m)) throw new InvalidParameterError(`invalid mode: ${m}`);
  }
  if (!source) throw new InvalidParameterError(`invalid volume specification: '${bind}'`);
  const dest = checkDestination(destination, bind);
  const readOnly = modes.includes('ro');
  if (source.startsWith('/')) {
    return {
      type: 'bind', source: posix.normalize(source), destination: dest, readOnly,
      propagation: modes.find((m) => PROPAGATIONS.includes(m)) ?? 'rprivate', options: [], createSource: true, listed: true, mode: modeText,
    };
  }
  if (modes.some((m) => PROPAGATIONS.includes(m))) throw new InvalidParameterError(`invalid volume specification: '${bind}': propagation is only for bind mounts`);
  return {
    type: 'volume', source: '', destination: dest, readOnly, propagation: '', options: [], createSource: false, listed: true,
    // dockerd shows "z" for a local named volume given without a mode.
    mode: modeText || 'z', name: source, driver: volumeDriver || undefined, copyData: !modes.includes('nocopy'),
  };
}

function fromMountSpec(m: MountSpec): MountRecord {
  const spec = `${m.Type ?? ''} ${m.Source ?? ''}:${m.Target ?? ''}`;
  if (!m.Target) throw new InvalidParameterError('invalid mount config: Target must not be empty');
  const destination = checkDestination(m.Target, spec);
  const readOnly = m.ReadOnly === true;
  switch (m.Type) {
    case 'bind':
      if (!m.Source || !m.Source.startsWith('/')) throw new InvalidParameterError(`invalid mount config for type "bind": invalid mount path: '${m.Source ?? ''}' mount path must be absolute`);
      if (m.VolumeOptions) throw new InvalidParameterError('invalid mount config for type "bind": field VolumeOptions must not be specified');
      return {
        type: 'bind', source: posix.normalize(m.Source), destination, readOnly,
        propagation: m.BindOptions?.Propagation || 'rprivate', options: [], createSource: false, listed: true, mode: '',
      };
    case 'tmpfs': {
      if (m.Source) throw new InvalidParameterError('invalid mount config for type "tmpfs": source must not be specified');
      const options = [];
      if (m.TmpfsOptions?.SizeBytes) options.push(`size=${m.TmpfsOptions.SizeBytes}`);
      if (m.TmpfsOptions?.Mode) options.push(`mode=${m.TmpfsOptions.Mode.toString(8)}`);
      return { type: 'tmpfs', source: 'tmpfs', destination, readOnly, propagation: '', options, createSource: false, listed: true, mode: '' };
    }
    case 'volume': {
      if (m.BindOptions) throw new InvalidParameterError('invalid mount config for type "volume": field BindOptions must not be specified');
      if (m.TmpfsOptions) throw new InvalidParameterError('invalid mount config for type "volume": field TmpfsOptions must not be specified');
      const v = m.VolumeOptions ?? {};
      const anonymous = !m.Source;
      return {
        type: 'volume', source: '', destination, readOnly, propagation: '', options: [], createSource: false, listed: true,
        mode: anonymous ? '' : 'z', name: m.Source || undefined, driver: v.DriverConfig?.Name || undefined,
        driverOptions: v.DriverConfig?.Options ?? undefined, labels: v.Labels ?? undefined, copyData: v.NoCopy !== true,
        anonymous: anonymous || undefined,
      };
    }
    default:
      throw new InvalidParameterError(`invalid mount config: mount type unknown: "${m.Type ?? ''}"`);
  }
}

/**
 * Every mount of a new container, in dockerd's precedence: --volumes-from
 * first, replaced by -v and --mount at the same destination (which may not
 * repeat each other), then --tmpfs, then an anonymous volume for each image or
 * -v VOLUME not already covered. Throws InvalidParameterError in Docker's words.
 */
export function parseMounts(h: HostConfig, configVolumes: Record<string, object> | null | undefined, volumesFrom: VolumesFromSource[] = []): MountRecord[] {
  const byDest = new Map<string, MountRecord>();
  for (const from of volumesFrom) {
    const { mode } = parseVolumesFrom(from.spec);
    for (const m of from.mounts) {
      if (!m.listed) continue;
      byDest.set(m.destination, {
        ...m,
        readOnly: m.readOnly || mode === 'ro',
        mode: '',
        copyData: false,
      });
    }
  }
  const explicit = new Set<string>();
  const add = (m: MountRecord) => {
    if (explicit.has(m.destination)) throw new InvalidParameterError(`Duplicate mount point: ${m.destination}`);
    explicit.add(m.destination);
    byDest.set(m.destination, m);
  };
  for (const bind of h.Binds ?? []) add(bindOrVolume(bind, h.VolumeDriver ?? ''));
  for (const m of h.Mounts ?? []) add(fromMountSpec(m));
  for (const [dest, opts] of Object.entries(h.Tmpfs ?? {})) {
    const options = opts ? opts.split(',').filter(Boolean) : [];
    add({
      type: 'tmpfs', source: 'tmpfs', destination: checkDestination(dest, `${dest}:${opts}`), readOnly: options.includes('ro'),
      propagation: '', options: options.filter((o) => o !== 'ro' && o !== 'rw'), createSource: false, listed: false, mode: '',
    });
  }
  for (const dest of Object.keys(configVolumes ?? {})) {
    const destination = checkDestination(dest, dest);
    if (byDest.has(destination)) continue;
    byDest.set(destination, {
      type: 'volume', source: '', destination, readOnly: false, propagation: '', options: [], createSource: false, listed: true,
      mode: '', driver: h.VolumeDriver || undefined, copyData: true, anonymous: true,
    });
  }
  // Parents before children, so /data/sub lands inside the /data mount.
  return [...byDest.values()].sort((a, b) => depth(a.destination) - depth(b.destination));
}

function depth(p: string): number {
  return p.split('/').length;
}

/** Makes sure bind sources exist: -v creates a missing directory like Docker, --mount refuses. */
export async function prepareBindSources(mounts: MountRecord[]): Promise<void> {
  for (const m of mounts) {
    if (m.type !== 'bind') continue;
    try {
      await stat(m.source);
    } catch {
      if (!m.createSource) throw new InvalidParameterError(`invalid mount config for type "bind": bind source path does not exist: ${m.source}`);
      await mkdir(m.source, { recursive: true, mode: 0o755 });
    }
  }
}

/** An OCI runtime-spec mount (the shape src/container/spec.ts takes). */
export interface RuntimeMount {
  destination: string;
  type: string;
  source: string;
  options: string[];
}

/** The OCI mount of a bind or tmpfs; a volume is a bind of `hostPath`. */
export function runtimeMount(m: MountRecord, hostPath?: string): RuntimeMount {
  if (m.type === 'tmpfs') {
    return { destination: m.destination, type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'noexec', ...(m.readOnly ? ['ro'] : []), ...m.options] };
  }
  const source = m.type === 'volume' ? hostPath! : m.source;
  return { destination: m.destination, type: 'bind', source, options: ['rbind', m.type === 'bind' ? m.propagation : 'rprivate', m.readOnly ? 'ro' : 'rw'] };
}
