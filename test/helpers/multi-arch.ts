import { readFile } from 'node:fs/promises';
import { gzipSync } from 'node:zlib';
import { makeTar } from '../../src/archive/testing/make-tar.js';
import { busyboxTar } from './daemon.js';
import { putBlob, putManifest, sha256 } from './registry.js';

// A multi-arch image pushed by hand to a test registry: for each platform the
// busybox layer and one more layer with /etc/arch naming the platform, under
// one OCI index. The foreign platforms' images do not run here, but they can
// be pulled, inspected, and copied from.

let busyboxLayer: Promise<{ tar: Buffer; gz: Buffer }> | undefined;
function busyboxBase(): Promise<{ tar: Buffer; gz: Buffer }> {
  busyboxLayer ??= (async () => {
    const tar = await readFile(await busyboxTar());
    return { tar, gz: gzipSync(tar, { level: 1 }) };
  })();
  return busyboxLayer;
}

export interface PlatformImage {
  os: string;
  architecture: string;
  variant?: string;
  manifestDigest: string;
  configDigest: string;
}

/**
 * Pushes one two-layer image for `platform` ("linux/arm64", "linux/arm/v7", …):
 * the busybox layer, then /etc/arch holding `marker`. Returns what was pushed.
 */
export async function pushPlatformImage(reg: string, repo: string, platform: string, marker = platform): Promise<PlatformImage & { manifest: Buffer; layerDigest: string }> {
  const base = await busyboxBase();
  const baseDigest = await putBlob(reg, repo, base.gz);
  const [os = 'linux', architecture = 'amd64', variant] = platform.split('/');
  const tar = await makeTar([{ name: 'etc/', type: 'directory' }, { name: 'etc/arch', content: `${marker}\n` }]);
  const gz = gzipSync(tar);
  const layerDigest = await putBlob(reg, repo, gz);
  const config = Buffer.from(JSON.stringify({
    architecture, os, ...(variant ? { variant } : {}),
    config: { Cmd: ['cat', '/etc/arch'], Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'] },
    rootfs: { type: 'layers', diff_ids: [sha256(base.tar), sha256(tar)] },
    history: [{ created_by: 'busybox' }, { created_by: `/etc/arch for ${marker}` }],
  }));
  const configDigest = await putBlob(reg, repo, config);
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: config.length },
    layers: [
      { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: baseDigest, size: base.gz.length },
      { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: layerDigest, size: gz.length },
    ],
  }));
  const manifestDigest = await putManifest(reg, repo, sha256(manifest), 'application/vnd.oci.image.manifest.v1+json', manifest);
  return { os, architecture, ...(variant ? { variant } : {}), manifestDigest, configDigest, manifest, layerDigest };
}

/** Pushes `repo:tag` as an index over one image per platform ("linux/arm64", "linux/arm/v7", …). */
export async function pushMultiArch(reg: string, repo: string, tag: string, platforms: string[]): Promise<{ indexDigest: string; images: PlatformImage[] }> {
  const images: PlatformImage[] = [];
  const entries: object[] = [];
  for (const p of platforms) {
    const { manifest, layerDigest: _layer, ...image } = await pushPlatformImage(reg, repo, p);
    images.push(image);
    entries.push({
      mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: image.manifestDigest, size: manifest.length,
      platform: { os: image.os, architecture: image.architecture, ...(image.variant ? { variant: image.variant } : {}) },
    });
  }
  const index = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: entries }));
  const indexDigest = await putManifest(reg, repo, tag, 'application/vnd.oci.image.index.v1+json', index);
  return { indexDigest, images };
}
