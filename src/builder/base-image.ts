import { createHash, randomBytes } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { InvalidParameterError, NotFoundError, errorMessage } from '../errors/index.js';
import type { ImageRecord } from '../image/image-store.js';
import { hostPlatform, parsePlatform, type Platform } from '../image/platform.js';
import { DEFAULT_INDEX_SERVER_KEY, parseNormalizedNamed } from '../image/reference.js';
import { mountAll, unmountIfMounted } from '../util/mount.js';
import { StepError, type BuildJob, type StageOutput } from './build-job.js';

// The images a build starts from (FROM) or copies from (COPY --from=image),
// as dockerd 20.10's classic builder finds them: an image that is here is
// used whatever its platform (dockerd does the same: FROM --platform only
// chooses what a pull fetches); one that is not, or every one with --pull,
// is pulled for the platform FROM --platform names, else the build's
// --platform, else the host's. The pull's progress messages go into the
// build's output unchanged, so the docker CLI shows them as `docker pull`.

export function formatPlatform(p: Platform): string {
  return [p.os, p.architecture, ...(p.variant ? [p.variant] : [])].join('/');
}

/** FROM --platform's value (after expansion), refused in dockerd's words when it is not a platform. */
export function fromPlatform(value: string): Platform {
  if (value === '') {
    throw new InvalidParameterError('failed to parse platform : "" is an invalid component of "": platform specifier component must match "^[A-Za-z0-9_-]+$": invalid argument');
  }
  try {
    return parsePlatform(value);
  } catch (err) {
    throw new InvalidParameterError(`failed to parse platform ${value}: ${errorMessage(err)}`);
  }
}

/** An image from the store, pulled when it is missing (or always with --pull) for `platform`. */
export async function baseImage(job: BuildJob, out: StageOutput, ref: string, platform: Platform | undefined): Promise<ImageRecord> {
  const { deps, settings } = job;
  if (!settings.pull) {
    const local = await deps.images.resolve(ref).catch(() => undefined);
    if (local) return local;
  }
  if (!deps.pull) throw new NotFoundError(`No such image: ${ref}`);
  const want = platform ?? settings.platform;
  const auth = registryAuthFor(settings.registryAuths, ref);
  for await (const msg of await deps.pull(ref, { signal: job.signal, ...(want ? { platform: formatPlatform(want) } : {}), ...(auth ? { registryAuth: auth } : {}) })) {
    if (msg.error) throw new StepError(msg.error);
    out.message(msg);
  }
  const img = await deps.images.resolve(ref).catch(() => undefined);
  if (!img) throw new NotFoundError(`pull access denied for ${ref}, repository does not exist or may require 'docker login': No such image: ${ref}`);
  return img;
}

/** The chain ID of the top layer of `diffIds` (undefined for no layers). */
export function chainId(diffIds: readonly string[]): string | undefined {
  if (diffIds.length === 0) return undefined;
  let chain = diffIds[0]!;
  for (const d of diffIds.slice(1)) chain = 'sha256:' + createHash('sha256').update(`${chain} ${d}`).digest('hex');
  return chain;
}

/** A read-only view of the filesystem made of `diffIds`, mounted in the build's scratch space. */
export async function mountLayers(job: BuildJob, diffIds: readonly string[]): Promise<{ dir: string; release: () => Promise<void> }> {
  const dir = join(job.scratchDir, `from-${randomBytes(6).toString('hex')}`);
  await mkdir(dir, { recursive: true });
  const top = chainId(diffIds);
  if (top === undefined) return { dir, release: () => rm(dir, { recursive: true, force: true }) };
  const { snapshotter } = job.deps;
  const key = `berth-build-view-${randomBytes(8).toString('hex')}`;
  const mounts = await snapshotter.view(key, top);
  try {
    await mountAll(mounts, dir);
  } catch (err) {
    await snapshotter.remove(key).catch(() => {});
    await rm(dir, { recursive: true, force: true }).catch(() => {});
    throw err;
  }
  return {
    dir,
    release: async () => {
      await unmountIfMounted(dir).catch(() => {});
      await rm(dir, { recursive: true, force: true }).catch(() => {});
      await snapshotter.remove(key).catch(() => {});
    },
  };
}

/** Platforms the host runs natively besides its own (containerd's fallbacks). */
function compatible(host: Platform, p: Platform): boolean {
  if (p.os !== host.os) return false;
  if (p.architecture === host.architecture) return host.architecture !== 'arm' || (p.variant ?? 'v7') <= (host.variant ?? 'v7');
  if (host.architecture === 'amd64') return p.architecture === '386';
  if (host.architecture === 'arm64') return p.architecture === 'arm' && (p.variant ?? 'v7') !== 'v8';
  return false;
}

/**
 * The warning dockerd's container create gives for a step container whose
 * image is of another platform than the host (the builder never asks for a
 * platform there), printed as " ---> [Warning] …" before " ---> Running in".
 */
export function platformWarning(image: { os?: string; architecture?: string; variant?: string }): string | undefined {
  const host = hostPlatform();
  const p: Platform = { os: image.os || host.os, architecture: image.architecture || host.architecture, ...(image.variant ? { variant: image.variant } : {}) };
  if (compatible(host, p)) return undefined;
  return `The requested image's platform (${formatPlatform(p)}) does not match the detected host platform (${formatPlatform(host)}) and no specific platform was requested`;
}

/** X-Registry-Config: base64 (standard or URL alphabet) JSON of AuthConfigs by registry; anything else is no credentials, as dockerd takes it. */
export function decodeRegistryConfig(header: string | undefined): Record<string, Record<string, unknown>> {
  if (!header) return {};
  try {
    const parsed = JSON.parse(Buffer.from(header.replace(/-/g, '+').replace(/_/g, '/'), 'base64').toString('utf8')) as unknown;
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return {};
    const out: Record<string, Record<string, unknown>> = {};
    for (const [k, v] of Object.entries(parsed as Record<string, unknown>)) if (v && typeof v === 'object') out[k] = v as Record<string, unknown>;
    return out;
  } catch {
    return {};
  }
}

/** A registry key as its host: scheme and path dropped (dockerd's ConvertToHostname). */
function hostOf(key: string): string {
  return key.replace(/^https?:\/\//, '').split('/')[0]!;
}

/**
 * The credentials for `ref`'s registry, encoded as an X-Registry-Auth header,
 * found as dockerd's ResolveAuthConfig finds them: Docker Hub's under the
 * index server key only; any other by its host name, or a key whose host is it.
 */
export function registryAuthFor(auths: Record<string, Record<string, unknown>>, ref: string): string | undefined {
  if (Object.keys(auths).length === 0) return undefined;
  let domain: string;
  try {
    domain = parseNormalizedNamed(ref).domain;
  } catch {
    return undefined;
  }
  const official = domain === 'docker.io';
  let auth: Record<string, unknown> | undefined = auths[official ? DEFAULT_INDEX_SERVER_KEY : domain];
  if (!auth && !official) auth = Object.entries(auths).find(([k]) => hostOf(k) === domain)?.[1];
  return auth ? Buffer.from(JSON.stringify(auth)).toString('base64') : undefined;
}
