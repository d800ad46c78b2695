import { execFile } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { SystemError } from '../errors/index.js';
import { LocalSnapshotter, type SnapshotRecord } from './local.js';
import type { SnapshotKind, Mount } from './snapshotter.js';

// The fallback for hosts without overlayfs (Docker's "vfs", containerd's
// "native"): every active snapshot is a full copy of its parent's tree, so
// each snapshot directory is self-contained and needs no stacking. Slow and
// space-hungry, but it works on any filesystem.

function cpTree(from: string, to: string): Promise<void> {
  return new Promise((resolve, reject) => {
    // -a keeps owners, modes, times, links, devices and xattrs; reflink makes
    // the copy cheap where the filesystem can share extents.
    execFile('cp', ['-a', '--reflink=auto', `${from}/.`, to], { maxBuffer: 1 << 20 }, (err, _stdout, stderr) => {
      if (err) reject(new SystemError(`copying snapshot: ${String(stderr).trim() || err.message}`));
      else resolve();
    });
  });
}

export class CopySnapshotter extends LocalSnapshotter {
  readonly name = 'vfs';
  readonly upperIsDiff = false;

  protected async populate(dir: string, kind: SnapshotKind, chain: SnapshotRecord[]): Promise<void> {
    await mkdir(join(dir, 'fs'), { mode: 0o755 });
    // A view is a read-only bind of its (immutable) parent: no copy needed.
    if (kind === 'active' && chain[0]) await cpTree(this.fsOf(chain[0]), join(dir, 'fs'));
  }

  protected mountsOf(rec: SnapshotRecord, chain: SnapshotRecord[]): Mount[] {
    if (rec.kind === 'active') return [{ type: 'bind', source: this.fsOf(rec), options: ['rbind', 'rw'] }];
    return [{ type: 'bind', source: chain[0] ? this.fsOf(chain[0]) : this.fsOf(rec), options: ['rbind', 'ro'] }];
  }
}
