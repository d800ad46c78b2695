import { InvalidParameterError, NotFoundError } from '../errors/index.js';
import { parsePlatform, type Platform } from '../image/platform.js';

// --platform of push, save and load (API 1.48's `platform` query): a JSON OCI
// platform as docker 28 sends it, or "os/arch[/variant]". berth keeps one
// platform per image, so for push and save it is a check that the image is of
// that platform; load picks it from a multi-platform archive.

export function parsePlatformParam(value: string | null | undefined): Platform | undefined {
  if (value === null || value === undefined || value === '') return undefined;
  if (value.trimStart().startsWith('{')) {
    let p: { os?: unknown; architecture?: unknown; variant?: unknown };
    try {
      p = JSON.parse(value) as typeof p;
    } catch {
      throw new InvalidParameterError(`invalid platform ${JSON.stringify(value)}: not JSON`);
    }
    if (typeof p.os !== 'string' || typeof p.architecture !== 'string') throw new InvalidParameterError(`invalid platform ${JSON.stringify(value)}: os and architecture are required`);
    return parsePlatform([p.os, p.architecture, ...(typeof p.variant === 'string' && p.variant ? [p.variant] : [])].join('/'));
  }
  return parsePlatform(value);
}

export function formatPlatform(p: Platform): string {
  return [p.os, p.architecture, ...(p.variant ? [p.variant] : [])].join('/');
}

/** The platform of an image config, normalised as a platform flag would be. */
export function configPlatform(config: { os?: string; architecture?: string; variant?: string }): Platform {
  return parsePlatform([config.os || 'linux', config.architecture || 'amd64', ...(config.variant ? [config.variant] : [])].join('/'));
}

export function platformMatches(config: { os?: string; architecture?: string; variant?: string }, want: Platform): boolean {
  const have = configPlatform(config);
  return have.os === want.os && have.architecture === want.architecture && (want.variant === undefined || have.variant === want.variant);
}

/** NotFoundError in dockerd's words when the image is not of the wanted platform. */
export function assertPlatform(ref: string, config: { os?: string; architecture?: string; variant?: string }, want: Platform | undefined): void {
  if (!want || platformMatches(config, want)) return;
  throw new NotFoundError(`image with reference ${ref} was found but does not match the specified platform: wanted ${formatPlatform(want)}, actual: ${formatPlatform(configPlatform(config))}`);
}
