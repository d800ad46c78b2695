import { open, rename, mkdir, readFile, unlink } from 'node:fs/promises';
import { openSync, writeSync, fsyncSync, closeSync, renameSync, mkdirSync } from 'node:fs';
import { dirname, join, basename } from 'node:path';
import { randomBytes } from 'node:crypto';

// Every piece of state berth keeps is written here: to a temp file beside the
// target, fsynced, then renamed over it. A kill -9 at any moment leaves either
// the old or the new file, never a torn one. Temp files carry a recognisable
// prefix so startup can sweep the ones a crash left behind. Files are 0600
// unless the caller says otherwise: state often carries secrets (a
// container's environment) and only berthd, as root, reads it.

export const TEMP_PREFIX = '.tmp-';

function tempPathFor(path: string): string {
  return join(dirname(path), `${TEMP_PREFIX}${basename(path)}-${randomBytes(4).toString('hex')}`);
}

export async function writeFileAtomic(path: string, data: string | Uint8Array, mode = 0o600): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = tempPathFor(path);
  const fh = await open(tmp, 'wx', mode);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } catch (err) {
    await fh.close().catch(() => {});
    await unlink(tmp).catch(() => {});
    throw err;
  }
  await fh.close();
  await rename(tmp, path);
}

export function writeFileAtomicSync(path: string, data: string | Uint8Array, mode = 0o600): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = tempPathFor(path);
  const fd = openSync(tmp, 'wx', mode);
  try {
    if (typeof data === 'string') writeSync(fd, data);
    else writeSync(fd, data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}

export async function writeJsonAtomic(path: string, value: unknown, mode = 0o600): Promise<void> {
  await writeFileAtomic(path, JSON.stringify(value, null, 2) + '\n', mode);
}

/** Reads a JSON file; returns undefined when it does not exist. */
export async function readJsonIfExists<T>(path: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as T;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}
