import { hostname } from 'node:os';
import { InvalidParameterError } from '../errors/index.js';
import type { ContainerConfig, ContainerCreateRequest, HostConfig } from '../types/engine.js';
import type { ImageRecord } from '../image/image-store.js';
import { VALID_NAME } from './names.js';

// A create request becomes a container's config here: merged with the
// image's, validated, normalised, as dockerd does it.

/**
 * Merges the request with the image's config the way dockerd does: Cmd comes
 * from the image only when the request gives neither Entrypoint nor Cmd;
 * Entrypoint from the image only when the request leaves it unset (null);
 * `--entrypoint ""` ([""]) clears it.
 */
export function mergeConfig(req: ContainerCreateRequest, image: ImageRecord, id: string): ContainerConfig {
  const img = image.config.config ?? {};
  const { HostConfig: _h, NetworkingConfig: _n, Platform: _p, ...user } = req;
  const config: ContainerConfig = { ...user };
  const userEntrypoint = user.Entrypoint ?? null;
  if (!userEntrypoint || userEntrypoint.length === 0) {
    if (!user.Cmd || user.Cmd.length === 0) config.Cmd = img.Cmd ?? null;
    if (user.Entrypoint === undefined || user.Entrypoint === null) config.Entrypoint = img.Entrypoint ?? null;
  }
  if (config.Entrypoint && config.Entrypoint.length === 1 && config.Entrypoint[0] === '') config.Entrypoint = null;
  config.Env = mergeImageEnv(user.Env ?? [], img.Env ?? []);
  config.WorkingDir = user.WorkingDir || img.WorkingDir || '';
  config.User = user.User || img.User || '';
  config.Labels = { ...(img.Labels ?? {}), ...(user.Labels ?? {}) };
  config.ExposedPorts = { ...(img.ExposedPorts ?? {}), ...(user.ExposedPorts ?? {}) };
  if (Object.keys(config.ExposedPorts).length === 0) delete config.ExposedPorts;
  config.Volumes = { ...(img.Volumes ?? {}), ...(user.Volumes ?? {}) };
  if (Object.keys(config.Volumes).length === 0) config.Volumes = null;
  if (!config.StopSignal && img.StopSignal) config.StopSignal = img.StopSignal;
  if (!config.Healthcheck && img.Healthcheck) config.Healthcheck = img.Healthcheck;
  if (!config.OnBuild) config.OnBuild = null;
  config.Hostname = user.Hostname || (req.HostConfig?.NetworkMode === 'host' ? hostname() : id.slice(0, 12));
  config.Domainname = user.Domainname ?? '';
  config.AttachStdin = user.AttachStdin ?? false;
  config.AttachStdout = user.AttachStdout ?? false;
  config.AttachStderr = user.AttachStderr ?? false;
  config.Tty = user.Tty ?? false;
  config.OpenStdin = user.OpenStdin ?? false;
  config.StdinOnce = user.StdinOnce ?? false;
  config.Image = req.Image;
  return config;
}

/**
 * dockerd's order: the request's variables as given, then each image variable
 * whose name the request does not set.
 */
export function mergeImageEnv(user: string[], image: string[]): string[] {
  if (user.length === 0) return [...image];
  const keyOf = (e: string) => e.split('=', 1)[0]!;
  const userKeys = new Set(user.map(keyOf));
  return [...user, ...image.filter((e) => !userKeys.has(keyOf(e)))];
}

/**
 * The network modes this berth has: its own namespace with loopback (the
 * default, "bridge" and "none" until bridges exist) or the host's. Anything
 * else is refused the way dockerd refuses an unknown network.
 */
export function checkNetworkMode(mode: string | undefined): void {
  if (!mode || ['default', 'bridge', 'none', 'host'].includes(mode)) return;
  if (mode.startsWith('container:')) throw new InvalidParameterError(`network mode ${mode} is not supported by this berth yet`);
  // 400, not dockerd's 404: the docker CLI reads a 404 from create as a missing image and tries a pull.
  throw new InvalidParameterError(`network ${mode} not found`);
}

export function validateHostConfig(h: HostConfig): void {
  const policy = h.RestartPolicy?.Name ?? '';
  if (!['', 'no', 'always', 'unless-stopped', 'on-failure'].includes(policy)) {
    throw new InvalidParameterError(`invalid restart policy: unknown policy '${policy}'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'`);
  }
  if (h.AutoRemove && policy && policy !== 'no') {
    throw new InvalidParameterError(`can't create 'AutoRemove' container with restart policy`);
  }
  if ((h.RestartPolicy?.MaximumRetryCount ?? 0) !== 0 && policy !== 'on-failure') {
    throw new InvalidParameterError(`invalid restart policy: maximum retry count can only be used with 'on-failure'`);
  }
}

export function normalizeHostConfig(h: HostConfig): HostConfig {
  return {
    ...h,
    NetworkMode: h.NetworkMode || 'default',
    RestartPolicy: { Name: h.RestartPolicy?.Name ?? '', MaximumRetryCount: h.RestartPolicy?.MaximumRetryCount ?? 0 },
    AutoRemove: h.AutoRemove ?? false,
    Privileged: h.Privileged ?? false,
    ReadonlyRootfs: h.ReadonlyRootfs ?? false,
  };
}

/** A requested name with Docker's leading slash, or Docker's error for a bad one. */
export function validName(requested: string): string {
  if (!VALID_NAME.test(requested)) {
    throw new InvalidParameterError(`Invalid container name (${requested}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
  }
  return requested.startsWith('/') ? requested : `/${requested}`;
}
