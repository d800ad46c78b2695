import { join } from 'node:path';
import { NotImplementedError } from '../errors/index.js';
import type { ContainerRecord } from './record.js';
import { LogFiles } from './log-files.js';
import { LogFollower, readLog, type LogEntry, type LogPosition, type ReadOptions } from './logs.js';
import { policyOf, resolveLogConfig, type LogConfig } from './log-driver.js';
import type { TaskService } from '../runtime/index.js';

// The container service's one door to logging: which file conmon writes and
// how big it may grow, rotation around each run, and readers and followers
// that stop when their client leaves or the container is removed.

/** With `--log-driver none` the output still passes through a small file so that attach works; nothing is kept. */
const NONE_BUFFER_BYTES = 1024 * 1024;
const NONE_BUFFER_NAME = 'attach.log';
/**
 * conmon's own limit (--log-size-max), a backstop for when berthd is down and
 * does not rotate: 1 GiB, or four times the files kept when that is more.
 * conmon counts from its start, not from berthd's rotations, so in a long run
 * it also fires now and then; berthd keeps the file it replaces like any
 * other, but if it fires between berthd's rename and conmon's reopen the few
 * lines conmon wrote in between are lost. Hence a large value (docs/logs.md).
 */
const backstop = (maxSize: number, maxFile: number) => Math.max(1024 ** 3, maxSize * Math.max(maxFile, 1) * 4);

export interface ConmonLog {
  path: string;
  /** conmon's --log-size-max. */
  sizeMax?: number;
}

export class ContainerLogs {
  private readonly sets = new Map<string, LogFiles>();

  constructor(private readonly o: { defaultConfig: LogConfig; tasks: TaskService }) {}

  /** The LogConfig a new container gets (validated; dockerd's merge with the daemon's default). */
  configFor(requested: Partial<LogConfig> | undefined): LogConfig {
    return resolveLogConfig(requested, this.o.defaultConfig);
  }

  /** Where a new container's log lives in its directory; '' for `none`, as dockerd's inspect says. */
  logPathFor(config: LogConfig, containerDir: string): string {
    return policyOf(config).keep ? join(containerDir, 'container.log') : '';
  }

  /** Rotates what the last run left and says where and how conmon writes. */
  async beforeRun(r: ContainerRecord): Promise<ConmonLog> {
    const files = this.files(r);
    await files.beforeRun();
    return { path: files.path, sizeMax: files.maxSize === undefined ? undefined : backstop(files.maxSize, files.maxFile) };
  }

  /** conmon is up and has created the live file. */
  running(r: ContainerRecord): Promise<void> {
    return this.files(r).track(() => this.o.tasks.reopenLog(r.id));
  }

  /** conmon exited (or the start failed). */
  async runEnded(r: ContainerRecord): Promise<void> {
    await this.sets.get(r.id)?.untrack();
  }

  /** The container is removed: every reader and follower stops and closes its files. */
  removed(id: string): void {
    this.sets.get(id)?.close();
    this.sets.delete(id);
  }

  /** Stops watching every container's files (berthd shuts down). */
  closeAll(): void {
    for (const f of this.sets.values()) f.close();
    this.sets.clear();
  }

  /**
   * What the log holds now, as `logs` wants it. Returns the position a
   * follower goes on from (its file left open), or undefined when `keep` is false.
   */
  /** dockerd's answer (501) for a driver it cannot read back. */
  assertReadable(r: ContainerRecord): void {
    if (!this.policy(r).keep) throw new NotImplementedError('configured logging driver does not support reading');
  }

  async read(r: ContainerRecord, opts: ReadOptions, onEntry: (e: LogEntry) => void | Promise<void>, keep: boolean): Promise<LogPosition | undefined> {
    this.assertReadable(r);
    const files = this.files(r);
    const signal = opts.signal ? AbortSignal.any([opts.signal, files.signal]) : files.signal;
    const position = await readLog(await files.openChain(), { ...opts, signal }, onEntry);
    if (!keep && position) {
      await position.file.fh.close().catch(() => {});
      return undefined;
    }
    return position;
  }

  /** Where the live file ends now (attach follows from here); undefined when there is none yet. */
  async end(r: ContainerRecord): Promise<LogPosition | undefined> {
    const chain = await this.files(r).openChain();
    const last = chain.pop();
    await Promise.all(chain.map((f) => f.fh.close()));
    return last ? { file: last, offset: last.size } : undefined;
  }

  /** A follower from `from` (the start of the first file when undefined); call start() on it. */
  follow(r: ContainerRecord, from: LogPosition | undefined, onEntry: (e: LogEntry) => void | Promise<void>, opts: { untilNs?: bigint; signal?: AbortSignal } = {}): LogFollower {
    return new LogFollower(this.files(r), from, onEntry, opts);
  }

  private policy(r: ContainerRecord) {
    // Records made before log drivers were validated say k8s-file with no options: no rotation.
    return policyOf({ Type: r.hostConfig.LogConfig?.Type || 'k8s-file', Config: r.hostConfig.LogConfig?.Config ?? {} });
  }

  private files(r: ContainerRecord): LogFiles {
    let f = this.sets.get(r.id);
    if (!f) {
      const policy = this.policy(r);
      f = policy.keep ? new LogFiles(r.logPath, policy.maxFile, policy.maxSize) : new LogFiles(join(this.o.tasks.runDir(r.id), NONE_BUFFER_NAME), 1, NONE_BUFFER_BYTES);
      this.sets.set(r.id, f);
    }
    return f;
  }
}
