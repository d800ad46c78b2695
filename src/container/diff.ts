import { lstat, readdir } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { join } from 'node:path';
import { NotImplementedError } from '../errors/index.js';
import type { Snapshotter } from '../snapshot/snapshotter.js';
import type { ContainerRecord } from './record.js';

// docker diff: what the container changed against its image, read from the
// overlay upper dir. A whiteout (0/0 character device) is a deletion; an
// entry the image has is a change; anything else was added. The files and
// /etc files runc creates as mount points live in dockerd's hidden init
// layer; here they are in the upper dir and are left out.

export const CHANGE_MODIFY = 0;
export const CHANGE_ADD = 1;
export const CHANGE_DELETE = 2;

export interface Change {
  Path: string;
  Kind: number;
}

function isWhiteout(st: Stats): boolean {
  return st.isCharacterDevice() && st.rdev === 0;
}

async function lstatOrUndefined(path: string): Promise<Stats | undefined> {
  try {
    return await lstat(path);
  } catch {
    return undefined;
  }
}

/** Whether the image (the lower dirs, topmost first) has `rel`. */
async function inLowers(lowers: string[], rel: string): Promise<boolean> {
  for (const dir of lowers) {
    const st = await lstatOrUndefined(join(dir, rel));
    if (st) return !isWhiteout(st);
    // A deleted parent hides everything below it in lower layers.
    const parts = rel.split('/');
    for (let i = parts.length - 1; i > 0; i--) {
      const p = await lstatOrUndefined(join(dir, parts.slice(0, i).join('/')));
      if (p) {
        if (isWhiteout(p) || !p.isDirectory()) return false;
        break;
      }
    }
  }
  return false;
}

export async function containerChanges(r: ContainerRecord, snapshotter: Snapshotter): Promise<Change[]> {
  if (!snapshotter.upperIsDiff) throw new NotImplementedError(`docker diff is not supported with the ${snapshotter.name} storage driver yet`);
  const upper = await snapshotter.upperDir(r.id);
  const lowerOption = (await snapshotter.mounts(r.id)).flatMap((m) => m.options).find((o) => o.startsWith('lowerdir='));
  const lowers = lowerOption ? lowerOption.slice('lowerdir='.length).split(':') : [];
  // dockerd's init layer holds these; volume and bind mount points it creates in the rw layer, as here.
  const mountPoints = new Set(['/etc/hosts', '/etc/hostname', '/etc/resolv.conf']);
  const changes: Change[] = [];

  /** Returns whether anything at or below `rel` was reported. */
  async function visit(rel: string): Promise<boolean> {
    let reportedBelow = false;
    for (const name of (await readdir(join(upper, rel))).sort()) {
      const childRel = rel ? `${rel}/${name}` : name;
      const path = `/${childRel}`;
      const st = await lstat(join(upper, childRel));
      if (isWhiteout(st)) {
        changes.push({ Path: path, Kind: CHANGE_DELETE });
        reportedBelow = true;
        continue;
      }
      const existed = await inLowers(lowers, childRel);
      if (mountPoints.has(path) && (st.isDirectory() ? (await readdir(join(upper, childRel))).length === 0 : st.size === 0)) continue;
      if (st.isDirectory()) {
        const index = changes.length;
        const below = await visit(childRel);
        if (!existed || below) {
          changes.splice(index, 0, { Path: path, Kind: existed ? CHANGE_MODIFY : CHANGE_ADD });
          reportedBelow = true;
        }
        continue;
      }
      changes.push({ Path: path, Kind: existed ? CHANGE_MODIFY : CHANGE_ADD });
      reportedBelow = true;
    }
    return reportedBelow;
  }
  await visit('');
  return changes;
}
