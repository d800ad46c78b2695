import { mkdir, stat } from 'node:fs/promises';
import { posix } from 'node:path';
import { InvalidParameterError } from '../errors/index.js';
import type { HostConfig, MountPoint } from '../types/engine.js';
import type { OciMount } from './spec.js';

// The user's mounts from -v/--volume (HostConfig.Binds), --mount
// (HostConfig.Mounts) and --tmpfs (HostConfig.Tmpfs), checked at create and
// turned into OCI mounts at start. Named volumes come with the volumes work;
// until then they are refused with a clear message rather than ignored.

export interface UserMount {
  type: 'bind' | 'tmpfs';
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
  mode: string;
}

const PROPAGATIONS = ['shared', 'slave', 'private', 'rshared', 'rslave', 'rprivate'];

function checkDestination(dest: string, spec: string): string {
  if (!dest.startsWith('/')) throw new InvalidParameterError(`invalid mount config: mount destination ${dest} not absolute (in "${spec}")`);
  const clean = posix.normalize(dest);
  if (clean === '/') throw new InvalidParameterError(`invalid mount config: destination can't be '/' (in "${spec}")`);
  return clean;
}

function namedVolumesUnsupported(name: string): never {
  throw new InvalidParameterError(`named volumes are not supported by this berth yet: "${name}"; use a host path (-v /host/dir:/path) or --tmpfs`);
}

/** Parses and checks every user mount; throws InvalidParameterError with Docker-like wording. */
export function parseUserMounts(h: HostConfig): UserMount[] {
  const out: UserMount[] = [];
  for (const bind of h.Binds ?? []) {
    const parts = bind.split(':');
    if (parts.length < 2 || parts.length > 3) throw new InvalidParameterError(`invalid volume specification: '${bind}'`);
    const [source, destination, modeText = ''] = parts as [string, string, string?];
    if (!source.startsWith('/')) namedVolumesUnsupported(source);
    const modes = modeText ? modeText.split(',') : [];
    for (const m of modes) {
      if (!['ro', 'rw', 'z', 'Z', 'nocopy', ...PROPAGATIONS].includes(m)) throw new InvalidParameterError(`invalid mode: ${m}`);
    }
    out.push({
      type: 'bind',
      source: posix.normalize(source),
      destination: checkDestination(destination, bind),
      readOnly: modes.includes('ro'),
      propagation: modes.find((m) => PROPAGATIONS.includes(m)) ?? 'rprivate',
      options: [],
      createSource: true,
      listed: true,
      mode: modeText,
    });
  }
  for (const m of h.Mounts ?? []) {
    const spec = `${m.Type ?? ''} ${m.Source ?? ''}:${m.Target ?? ''}`;
    if (!m.Target) throw new InvalidParameterError('invalid mount config: Target must not be empty');
    const destination = checkDestination(m.Target, spec);
    if (m.Type === 'bind') {
      if (!m.Source || !m.Source.startsWith('/')) throw new InvalidParameterError(`invalid mount config for type "bind": invalid mount path: '${m.Source ?? ''}' mount path must be absolute`);
      out.push({
        type: 'bind', source: posix.normalize(m.Source), destination, readOnly: m.ReadOnly === true,
        propagation: m.BindOptions?.Propagation || 'rprivate', options: [], createSource: false, listed: true, mode: '',
      });
    } else if (m.Type === 'tmpfs') {
      if (m.Source) throw new InvalidParameterError('invalid mount config for type "tmpfs": source must not be specified');
      const options = [];
      if (m.TmpfsOptions?.SizeBytes) options.push(`size=${m.TmpfsOptions.SizeBytes}`);
      if (m.TmpfsOptions?.Mode) options.push(`mode=${m.TmpfsOptions.Mode.toString(8)}`);
      out.push({ type: 'tmpfs', source: 'tmpfs', destination, readOnly: m.ReadOnly === true, propagation: '', options, createSource: false, listed: true, mode: '' });
    } else if (m.Type === 'volume') {
      namedVolumesUnsupported(m.Source ?? '');
    } else {
      throw new InvalidParameterError(`invalid mount config: mount type unknown: "${m.Type ?? ''}"`);
    }
  }
  for (const [dest, opts] of Object.entries(h.Tmpfs ?? {})) {
    const options = opts ? opts.split(',').filter(Boolean) : [];
    out.push({
      type: 'tmpfs', source: 'tmpfs', destination: checkDestination(dest, `${dest}:${opts}`), readOnly: options.includes('ro'),
      propagation: '', options: options.filter((o) => o !== 'ro' && o !== 'rw'), createSource: false, listed: false, mode: '',
    });
  }
  const seen = new Set<string>();
  for (const m of out) {
    if (seen.has(m.destination)) throw new InvalidParameterError(`Duplicate mount point: ${m.destination}`);
    seen.add(m.destination);
  }
  return out;
}

/** Makes sure bind sources exist: -v creates a missing directory like Docker, --mount refuses. */
export async function prepareSources(mounts: UserMount[]): Promise<void> {
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

export function ociMounts(mounts: UserMount[]): OciMount[] {
  return mounts.map((m) =>
    m.type === 'bind'
      ? { destination: m.destination, type: 'bind', source: m.source, options: ['rbind', m.propagation, m.readOnly ? 'ro' : 'rw'] }
      : { destination: m.destination, type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'noexec', ...(m.readOnly ? ['ro'] : []), ...m.options] },
  );
}

/** inspect's Mounts. */
export function mountPoints(mounts: UserMount[]): MountPoint[] {
  return mounts.filter((m) => m.listed).map((m) => ({
    Type: m.type,
    Source: m.type === 'bind' ? m.source : '',
    Destination: m.destination,
    Mode: m.mode,
    RW: !m.readOnly,
    Propagation: m.type === 'bind' ? m.propagation : '',
  }));
}
