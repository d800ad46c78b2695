import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { lstat, mkdir, readdir, rename, rm, rmdir, unlink, chown, chmod, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SystemError } from '../errors/index.js';
import { resolveInRoot } from '../archive/index.js';
import { writeJsonAtomic } from '../util/atomic-file.js';

// Copy-up: a new, empty volume mounted where the image has files is first
// filled with them (owners, modes, timestamps, symlinks, hard links, xattrs),
// as Docker does. Two rules make it safe:
//  - The source is resolved inside the container's root with the archive's
//    in-root resolver, so a symlink on the way (even the mount path itself)
//    can never lead outside the root; below that real directory, `cp -a`
//    copies links as links and never follows them.
//  - It is done or redone, never half-visible. Usually the copy is made in a
//    staging directory beside the data (same filesystem, not visible in the
//    volume) and renamed onto the empty data directory in one rename(2).
//    When that is impossible (the data is a mount of its own, or another
//    container has it mounted and would keep the old directory), the copy is
//    staged inside the volume and its entries moved in one by one under a
//    marker that lists them; a crash before the marker is gone is undone
//    (`recoverCopyUp`) and the copy redone at the next start.

const MARKER = '.berth-copyup.json';
const INPLACE_STAGING = '.berth-copyup-staging';

interface Marker {
  entries: string[];
}

/** The source directory inside the rootfs, or undefined when there is nothing to copy. */
async function sourceDir(rootfs: string, containerPath: string): Promise<string | undefined> {
  // As in a chroot: links followed inside the root, ".." at the root stays there.
  const src = resolveInRoot(rootfs, containerPath);
  const st = await lstat(src).catch(() => undefined);
  if (!st?.isDirectory()) return undefined;
  if ((await readdir(src)).length === 0) return undefined;
  return src;
}

/** Undoes a copy-up that a crash interrupted, leaving the volume as before it. */
export async function recoverCopyUp(dataDir: string, stagingDir: string | undefined): Promise<void> {
  if (stagingDir && existsSync(stagingDir)) await rm(stagingDir, { recursive: true, force: true });
  const markerPath = join(dataDir, MARKER);
  if (existsSync(markerPath)) {
    let marker: Marker = { entries: [] };
    try {
      marker = JSON.parse(await readFile(markerPath, 'utf8')) as Marker;
    } catch {
      /* torn marker: it was written atomically, so this is only a missing one */
    }
    for (const e of marker.entries) {
      if (e && !e.includes('/') && e !== '.' && e !== '..') await rm(join(dataDir, e), { recursive: true, force: true });
    }
  }
  await rm(join(dataDir, INPLACE_STAGING), { recursive: true, force: true });
  await unlink(markerPath).catch(() => {});
}

export interface CopyUpOptions {
  rootfs: string;
  /** The mount's destination inside the container. */
  containerPath: string;
  /** The volume's data directory on the host. */
  dataDir: string;
  /** Where to stage beside the data for an atomic rename; undefined forces the in-place way. */
  stagingDir?: string;
}

/** Fills an empty volume from the image. Returns whether anything was copied. */
export async function copyUp(o: CopyUpOptions): Promise<boolean> {
  await recoverCopyUp(o.dataDir, o.stagingDir);
  if ((await readdir(o.dataDir)).length > 0) return false;
  const src = await sourceDir(o.rootfs, o.containerPath);
  if (!src) return false;
  if (o.stagingDir) {
    // `cp -a src staging` makes staging a copy of src itself (its mode, owner and xattrs too).
    await cpArchive(src, o.stagingDir);
    await rename(o.stagingDir, o.dataDir);
    return true;
  }
  const staging = join(o.dataDir, INPLACE_STAGING);
  await mkdir(staging);
  await cpArchive(`${src}/.`, staging);
  const entries = await readdir(staging);
  await writeJsonAtomic(join(o.dataDir, MARKER), { entries } satisfies Marker);
  for (const e of entries) await rename(join(staging, e), join(o.dataDir, e));
  const st = await lstat(src);
  await chown(o.dataDir, st.uid, st.gid);
  await chmod(o.dataDir, st.mode & 0o7777);
  await rmdir(staging);
  await unlink(join(o.dataDir, MARKER));
  return true;
}

/**
 * GNU cp in archive mode: no dereferencing, everything preserved that the
 * target filesystem can hold. Under setpriv --pdeathsig it dies with berthd,
 * so a crashed daemon's copy never races the next one's recovery.
 */
function cpArchive(src: string, dst: string): Promise<void> {
  const args = ['--pdeathsig', 'KILL', '--', 'cp', '-a', '--no-target-directory', src, dst];
  return new Promise((resolve, reject) => {
    const child = existsSync('/usr/bin/setpriv') || existsSync('/bin/setpriv')
      ? spawn('setpriv', args, { stdio: ['ignore', 'ignore', 'pipe'] })
      : spawn('cp', args.slice(3), { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', (err) => reject(new SystemError(`copying image content into the volume: ${err.message}`)));
    child.on('close', (code) => {
      if (code === 0) resolve();
      else reject(new SystemError(`copying image content into the volume: ${stderr.trim() || `cp exited with ${code}`}`));
    });
  });
}
