// The snapshotter contract, after containerd's core/snapshots: a snapshot is a
// directory tree stacked on a parent. prepare/view return mount *descriptions*
// and never mount anything; the caller (image unpacking, container start)
// performs the mounts. Committed snapshots are read-only layers keyed by their
// OCI chain ID; active snapshots are writable (a container's upper layer, or a
// layer being unpacked).

export interface Mount {
  /** Filesystem type for mount(8): "overlay" or "bind". */
  type: string;
  /** Source for mount(8): "overlay" for overlay, a directory for bind. */
  source: string;
  /** mount(8) -o options, e.g. ["lowerdir=a:b", "upperdir=c", "workdir=d"] or ["rbind", "rw"]. */
  options: string[];
}

export type SnapshotKind = 'committed' | 'active' | 'view';

export interface SnapshotInfo {
  key: string;
  parent?: string;
  kind: SnapshotKind;
  created: string;
  labels: Record<string, string>;
}

export interface SnapshotUsage {
  /** Bytes used by this snapshot alone (not its parents). */
  size: number;
  inodes: number;
}

export interface CommitOptions {
  /**
   * Stacks the new layer on committed `parent`. Only for upperIsDiff
   * snapshotters and an active snapshot prepared without a parent: a layer
   * unpacked on its own (concurrently with the layers below it) joins its
   * chain when it is committed.
   */
  parent?: string;
}

export interface Snapshotter {
  /** Driver name as `docker info` shows it ("overlay2", "vfs"). */
  readonly name: string;
  /**
   * True when upperDir() holds only the snapshot's own changes, deletions as
   * overlay whiteouts (overlay). False or absent: it holds the full tree
   * (copy), so a diff has to compare it with a view of the parent.
   */
  readonly upperIsDiff?: boolean;
  /** Creates a writable snapshot `key` on top of committed `parent` (or empty). */
  prepare(key: string, parent?: string, labels?: Record<string, string>): Promise<Mount[]>;
  /** Creates a read-only view of committed `parent`. */
  view(key: string, parent?: string): Promise<Mount[]>;
  /** The mounts of an existing active or view snapshot. */
  mounts(key: string): Promise<Mount[]>;
  /** Turns active snapshot `key` into committed snapshot `name`. */
  commit(name: string, key: string, labels?: Record<string, string>, opts?: CommitOptions): Promise<void>;
  /** Removes a snapshot; refuses (ConflictError) while another snapshot has it as parent. */
  remove(key: string): Promise<void>;
  stat(key: string): Promise<SnapshotInfo>;
  /** True when a snapshot with this key exists. */
  exists(key: string): Promise<boolean>;
  usage(key: string): Promise<SnapshotUsage>;
  list(): Promise<SnapshotInfo[]>;
  /**
   * The writable directory of an active snapshot, as seen without its parents
   * (the overlay upperdir). Used for `diff`, `commit` and the container's size.
   */
  upperDir(key: string): Promise<string>;
  /** Removes half-made snapshots a crash left behind. Called once at startup. */
  cleanup(): Promise<void>;
}
