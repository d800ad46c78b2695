import { existsSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { InvalidParameterError } from '../errors/index.js';
import { LocalSnapshotter, type SnapshotRecord } from './local.js';
import type { SnapshotKind, Mount } from './snapshotter.js';

// overlayfs snapshots, as containerd's overlayfs snapshotter lays them out: a
// committed layer is a plain directory holding that layer's changes (overlay
// whiteouts included); an active snapshot is an upper + work dir stacked on
// its parents' directories. Nothing is copied, so prepare is O(1).

/** The kernel takes at most one page of mount options. */
const MAX_OPTIONS = 4096;

// index=on (a kernel/module default on some distributions) ties an upper dir
// to the lower dirs it was first mounted over, which breaks re-stacking layers;
// Docker and containerd turn it off whenever the kernel knows the option.
const INDEX_OFF = existsSync('/sys/module/overlay/parameters/index') ? ['index=off'] : [];

export class OverlaySnapshotter extends LocalSnapshotter {
  readonly name = 'overlay2';
  readonly upperIsDiff = true;

  protected async populate(dir: string, kind: SnapshotKind, chain: SnapshotRecord[]): Promise<void> {
    await mkdir(join(dir, 'fs'), { mode: 0o755 });
    if (kind === 'active' && chain.length > 0) await mkdir(join(dir, 'work'), { mode: 0o700 });
  }

  protected mountsOf(rec: SnapshotRecord, chain: SnapshotRecord[]): Mount[] {
    const lowers = chain.map((p) => this.fsOf(p));
    if (rec.kind === 'active') {
      if (lowers.length === 0) return [{ type: 'bind', source: this.fsOf(rec), options: ['rbind', 'rw'] }];
      return [overlay([...INDEX_OFF, `lowerdir=${lowers.join(':')}`, `upperdir=${this.fsOf(rec)}`, `workdir=${join(this.dirOf(rec), 'work')}`])];
    }
    // A view: overlay needs two lower dirs when it has no upper, so one layer
    // (or none) is a read-only bind instead.
    if (lowers.length <= 1) return [{ type: 'bind', source: lowers[0] ?? this.fsOf(rec), options: ['rbind', 'ro'] }];
    return [overlay([...INDEX_OFF, `lowerdir=${lowers.join(':')}`])];
  }

  protected override async afterCommit(dir: string): Promise<void> {
    await rm(join(dir, 'work'), { recursive: true, force: true });
  }
}

function overlay(options: string[]): Mount {
  const length = options.join(',').length;
  if (length >= MAX_OPTIONS) {
    throw new InvalidParameterError(`too many layers to mount: overlay options are ${length} bytes, the kernel takes fewer than ${MAX_OPTIONS}`);
  }
  return { type: 'overlay', source: 'overlay', options };
}
