import type { MountDescription } from '../util/mount.js';
import type { TaskStats } from './cgroup-stats.js';

// The task interface, drawn where containerd draws it: the container service
// decides *what* runs (records, config, spec); a task service runs it and
// reports exits. Everything about the monitor (conmon), its files, sockets and
// helper binaries stays behind this interface.

export interface TaskCreateOptions {
  id: string;
  /** Shown by the monitor (conmon -n); the container name without "/". */
  name: string;
  /** Runtime name, one of the task service's runtimes. */
  runtime: string;
  /** The OCI spec; its root.path must be the rootfs returned by mountRootfs. */
  spec: unknown;
  /** CRI-format log file the monitor writes. */
  logPath: string;
  /** The monitor's own size limit: past it, it replaces the file with an empty one (see container/log-files.ts). */
  logSizeMax?: number;
  tty: boolean;
  openStdin: boolean;
  /** Keep the container's stdin open when an attached client goes away. */
  leaveStdinOpen: boolean;
}

/** What a task looks like after berthd restarts. */
export type RecoveredTask =
  | { state: 'running' }
  | { state: 'exited'; exitCode: number }
  /** The monitor is gone and left no exit code (host reboot, or it was killed). */
  | { state: 'lost' };

export interface StdinSink {
  write(chunk: Buffer): void;
  /** Half-closes: the monitor then closes the container's stdin (unless told to leave it open). */
  end(): void;
  destroy(): void;
}

export interface ExecOptions {
  /** Unique per exec; names its files. */
  execId: string;
  /** The OCI process spec to run inside the container. */
  process: Record<string, unknown>;
  tty: boolean;
  openStdin: boolean;
}

/** A process started inside a running task (exec). */
export interface ExecProcess {
  readonly pid: number;
  /** CRI-format log file holding its output. */
  readonly logPath: string;
  /** Settles with the exit code once the process ended and its output is in the log. */
  readonly exited: Promise<number>;
  openStdin(): StdinSink;
  resize(height: number, width: number): Promise<void>;
  /** Removes the exec's files once nobody reads them any more. */
  cleanup(): Promise<void>;
}

/** Limits `update` changes on a live task (runc update). */
export interface TaskResources {
  memory?: number;
  memorySwap?: number;
  memoryReservation?: number;
  cpuShares?: number;
  cpuPeriod?: number;
  cpuQuota?: number;
  cpusetCpus?: string;
  cpusetMems?: string;
  pidsLimit?: number;
  blkioWeight?: number;
}

export type ExitListener = (id: string, exitCode: number) => void;
/** The kernel's OOM killer killed a process of a running task. */
export type OomListener = (id: string) => void;

export interface TaskService {
  /** Runtime names this service can run, and the default. */
  readonly runtimes: readonly string[];
  readonly defaultRuntime: string;

  /** Prepares directories and starts watching for exits; `onExit` hears every exit, `onOom` OOM kills while tasks run. */
  init(onExit: ExitListener, onOom?: OomListener): Promise<void>;
  close(): void;

  /** After a daemon restart: what became of a task that was running. Registers its runtime. */
  recover(id: string, runtime: string): Promise<RecoveredTask>;

  /** Mounts the rootfs into a fresh bundle; returns the rootfs path for the spec. */
  mountRootfs(id: string, mounts: MountDescription[]): Promise<string>;
  /** Creates the task (process exists, not yet running); resolves with its pid. */
  create(o: TaskCreateOptions): Promise<{ pid: number }>;
  /** Lets a created task run. */
  start(id: string): Promise<void>;
  kill(id: string, signal: string, all?: boolean): Promise<void>;
  /** Whether the OOM killer killed a process of the task's current run; asked before `delete`. */
  oomKilled(id: string): boolean;
  /** Releases everything a run held (runtime state, rootfs mount, bundle, exit file). Idempotent. */
  delete(id: string): Promise<void>;
  /** Ids of every task that holds something (a bundle), running or not. */
  list(): Promise<string[]>;
  pause(id: string): Promise<void>;
  resume(id: string): Promise<void>;
  /** Asks the monitor to reopen its log file: it starts a new, empty one at the log path. */
  reopenLog(id: string): Promise<void>;
  /** A directory that lives as long as one run (from mountRootfs to delete), on the exec root. */
  runDir(id: string): string;
  /** Resizes the task's pty. */
  resize(id: string, height: number, width: number): Promise<void>;
  /** A channel to the task's stdin. */
  openStdin(id: string): StdinSink;
  /** The task's rootfs as mounted by mountRootfs (for lookups inside it). */
  rootfs(id: string): string;
  /** The process spec the task was created with (exec starts from it). */
  processSpec(id: string): Promise<Record<string, unknown>>;
  /** Runs another process in the running task; rejects with the runtime's error if it cannot start. */
  exec(id: string, o: ExecOptions): Promise<ExecProcess>;
  /** Changes the running task's cgroup limits. */
  update(id: string, r: TaskResources): Promise<void>;
  /** Host pids of every process in the task. */
  pids(id: string): Promise<number[]>;
  /** One sample of the task's resource usage (cgroups v1 or v2, its network namespace). */
  stats(id: string): Promise<TaskStats>;
}
