import { InvalidParameterError, NotFoundError } from '../errors/index.js';
import type { Platform } from '../image/index.js';
import { MT, isIndex, isManifest } from './media-types.js';

// Manifests and indexes as registries serve them, and platform selection
// from an index the way containerd's platforms.Only matcher picks.

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  urls?: string[];
  annotations?: Record<string, string>;
  platform?: { os: string; architecture: string; variant?: string; 'os.version'?: string; 'os.features'?: string[] };
}

export interface ImageManifest {
  schemaVersion: 2;
  mediaType?: string;
  config: Descriptor;
  layers: Descriptor[];
  annotations?: Record<string, string>;
}

export interface ImageIndex {
  schemaVersion: 2;
  mediaType?: string;
  manifests: Descriptor[];
  annotations?: Record<string, string>;
}

export type Parsed = { kind: 'manifest'; mediaType: string; manifest: ImageManifest } | { kind: 'index'; mediaType: string; index: ImageIndex };

/** Parses a manifest or index; the media type comes from the body, else the Content-Type. */
export function parseManifest(bytes: Buffer, contentType: string | undefined): Parsed {
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(bytes.toString('utf8')) as Record<string, unknown>;
  } catch {
    throw new InvalidParameterError('manifest is not valid JSON');
  }
  const ct = contentType?.split(';')[0]?.trim();
  let mediaType = typeof doc.mediaType === 'string' ? doc.mediaType : ct;
  if (mediaType === MT.schema1 || mediaType === MT.schema1Signed || doc.schemaVersion === 1) {
    throw new InvalidParameterError('schema 1 manifests are not supported (Docker dropped them too): push the image again with a current client');
  }
  // An OCI document may leave mediaType out: tell by its fields.
  if (!mediaType || mediaType === 'application/json') mediaType = Array.isArray(doc.manifests) ? MT.ociIndex : MT.ociManifest;
  if (isIndex(mediaType)) {
    if (!Array.isArray(doc.manifests)) throw new InvalidParameterError('index has no manifests');
    return { kind: 'index', mediaType, index: doc as unknown as ImageIndex };
  }
  if (isManifest(mediaType)) {
    const m = doc as unknown as ImageManifest;
    if (!m.config || !Array.isArray(m.layers)) throw new InvalidParameterError('manifest has no config or layers');
    return { kind: 'manifest', mediaType, manifest: m };
  }
  throw new InvalidParameterError(`unsupported manifest media type ${mediaType}`);
}

function variantMatches(want: string | undefined, have: string | undefined, arch: string): boolean {
  if (!want) return true;
  if (want === have) return true;
  // arm64's v8 is the default; arm v7 runs v6 and v5 images.
  if (arch === 'arm64' && want === 'v8' && !have) return true;
  if (arch === 'arm' && have && /^v[5-8]$/.test(want) && /^v[5-8]$/.test(have)) return have <= want;
  return false;
}

/** The index entry for `platform`: an exact variant first, then a compatible one. */
export function selectPlatform(index: ImageIndex, platform: Platform): Descriptor {
  const candidates = index.manifests.filter(
    (d) => d.platform && d.platform.os === platform.os && d.platform.architecture === platform.architecture && variantMatches(platform.variant, d.platform.variant, platform.architecture),
  );
  candidates.sort((a, b) => (b.platform?.variant ?? '').localeCompare(a.platform?.variant ?? ''));
  const exact = candidates.find((d) => (d.platform?.variant ?? '') === (platform.variant ?? ''));
  const pick = exact ?? candidates[0];
  if (!pick) {
    const spec = [platform.os, platform.architecture, platform.variant].filter(Boolean).join('/');
    throw new NotFoundError(`no matching manifest for ${spec} in the manifest list entries`);
  }
  return pick;
}
