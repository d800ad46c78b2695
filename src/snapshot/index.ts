import { randomBytes } from 'node:crypto';
import { mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InvalidParameterError, UnavailableError, errorMessage } from '../errors/index.js';
import { writeFileAtomic } from '../util/atomic-file.js';
import { mountAll, unmount, unmountIfMounted } from '../util/mount.js';
import { CopySnapshotter } from './copy.js';
import { PROBE_PREFIX } from './local.js';
import { OverlaySnapshotter } from './overlay.js';
import type { Snapshotter } from './snapshotter.js';

export type { CommitOptions, Mount, SnapshotInfo, SnapshotKind, SnapshotUsage, Snapshotter } from './snapshotter.js';
export { OverlaySnapshotter } from './overlay.js';
export { CopySnapshotter } from './copy.js';

export type SnapshotterKind = 'overlay' | 'copy';

/**
 * Tries a real overlay mount (two lowers, an upper, a whiteout) in a scratch
 * directory under `root`, on the filesystem the layers will live on. Returns
 * why it failed, or undefined when overlay works.
 */
export async function probeOverlay(root: string): Promise<string | undefined> {
  const dir = join(root, `${PROBE_PREFIX}${randomBytes(4).toString('hex')}`);
  const merged = join(dir, 'merged');
  try {
    for (const d of ['l1', 'l2', 'upper', 'work', 'merged']) await mkdir(join(dir, d), { recursive: true });
    await writeFile(join(dir, 'l1', 'a'), 'a');
    await writeFile(join(dir, 'l2', 'b'), 'b');
    await mountAll([{ type: 'overlay', source: 'overlay', options: [`lowerdir=${join(dir, 'l2')}:${join(dir, 'l1')}`, `upperdir=${join(dir, 'upper')}`, `workdir=${join(dir, 'work')}`] }], merged);
    try {
      const names = (await readdir(merged)).sort().join(',');
      if (names !== 'a,b') return `overlay mount shows ${names || 'nothing'} instead of a,b`;
      await rm(join(merged, 'a'));
      await writeFile(join(merged, 'c'), 'c');
    } finally {
      await unmount(merged).catch(() => unmountIfMounted(merged));
    }
    return undefined;
  } catch (err) {
    return errorMessage(err);
  } finally {
    await rm(dir, { recursive: true, force: true }).catch(() => {});
  }
}

async function hasSnapshots(root: string): Promise<boolean> {
  return (await readdir(root)).some((n) => /^[0-9]+$/.test(n));
}

/**
 * The snapshotter for `root`. A root remembers its driver (overlay layers hold
 * diffs, copy layers full trees; they cannot be mixed), so without `prefer`
 * the recorded one is used, and a new root gets overlay when a probe mount
 * works here and copy otherwise. Asking for overlay where it does not work is
 * an error, as it is in Docker.
 */
export async function createSnapshotter(root: string, prefer?: SnapshotterKind): Promise<Snapshotter> {
  await mkdir(root, { recursive: true, mode: 0o711 });
  const driverFile = join(root, 'driver');
  const recorded = (await readFile(driverFile, 'utf8').catch(() => '')).trim() as SnapshotterKind | '';
  if (recorded && prefer && prefer !== recorded && (await hasSnapshots(root))) {
    throw new InvalidParameterError(`${root} holds ${recorded} snapshots; remove them before switching to ${prefer}`);
  }
  let kind = prefer ?? (recorded || undefined);
  if (kind === 'overlay') {
    const failure = await probeOverlay(root);
    if (failure) throw new UnavailableError(`overlay snapshots do not work on ${root}: ${failure}`);
  } else if (kind === undefined) {
    kind = (await probeOverlay(root)) === undefined ? 'overlay' : 'copy';
  }
  if (kind !== recorded) await writeFileAtomic(driverFile, kind + '\n');
  return kind === 'overlay' ? new OverlaySnapshotter(root) : new CopySnapshotter(root);
}
