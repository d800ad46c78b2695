import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { hexOf } from '../content/index.js';
import { errorMessage } from '../errors/index.js';

// The image store on disk (under its root):
//
//   blobs/sha256/<hex>        content by digest (src/content): image configs,
//   ingest/                   layer tars as received (gzip kept gzip)
//   layers/<chain hex>.json   one record per layer: diffID, parent chain, size, blob  (layer-store.ts)
//   images/<id hex>.json      one record per image: parent, last tag time             (image-records.ts)
//   repositories.json         the tags, in Docker's format                            (tag-store.ts)
//   tmp/                      blobs being received, unpack mount points
//
// Every record is written atomically (temp + fsync + rename), and in an order
// where a kill -9 leaves only garbage, never a dangling reference: blob, then
// layer snapshot + record, then config blob, then image record, then tags.
// Removal runs the other way round (rmi.ts). At startup gc.ts sweeps tmp/ and
// does a mark-and-sweep from the image records over layers, snapshots and
// blobs. Layers are unpacked into a temporary snapshot and committed under
// their chain ID only once complete.

export const STORE_DIRS = ['blobs/sha256', 'layers', 'images', 'tmp'] as const;

/** The time Docker shows for "never" (no created date, never tagged). */
export const ZERO_TIME = '0001-01-01T00:00:00Z';

export function imagePath(root: string, id: string): string {
  return join(root, 'images', `${hexOf(id)}.json`);
}

export function layerPath(root: string, chainId: string): string {
  return join(root, 'layers', `${hexOf(chainId)}.json`);
}

export function repositoriesPath(root: string): string {
  return join(root, 'repositories.json');
}

export function tmpDir(root: string): string {
  return join(root, 'tmp');
}

/** A record file's name: "<64 hex>.json". */
export const RECORD_NAME = /^[a-f0-9]{64}\.json$/;

export function shortId(id: string): string {
  return hexOf(id).slice(0, 12);
}

export function isMissing(err: unknown): boolean {
  return (err as NodeJS.ErrnoException).code === 'ENOENT';
}

/** A record, or undefined when it is absent or unreadable (startup treats it as garbage). */
export async function readJson<T>(path: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as T;
  } catch (err) {
    if (isMissing(err) || err instanceof SyntaxError) return undefined;
    throw new Error(`reading ${path}: ${errorMessage(err)}`);
  }
}
