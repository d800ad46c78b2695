import { existsSync, readFileSync, watch, type FSWatcher } from 'node:fs';
import { chmod, mkdir, readdir, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { privateDir } from '../util/private-dir.js';
import { join } from 'node:path';
import { ConflictError, InvalidParameterError, SystemError } from '../errors/index.js';
import { mountAll, unmountIfMounted, type MountDescription } from '../util/mount.js';
import { CONTAINER_PID_FILE, connectStdin, launchConmon, liveConmonPid, reopenLog, resizeTty } from './conmon.js';
import { readTaskStats, type TaskStats } from './cgroup-stats.js';
import type { OciRuntime } from './oci-runtime.js';
import type { TaskResources, ExecOptions, ExecProcess, ExitListener, OomListener, RecoveredTask, StdinSink, TaskCreateOptions, TaskService } from './task.js';
import { oomKilled, watchOomNote } from './oom.js';

// The task service over conmon + runc/crun. Layout under execRoot (a tmpfs,
// so a reboot clears it):
//   bundles/<id>/   config.json, rootfs/ (mounted), conmon's pid files, attach socket, ctl fifo
//   exits/<id>      the exit code conmon writes when the container's process ends
//   execs/<execId>/ an exec's process.json, output log, attach socket, ctl fifo, exits/
// Directories are 0700 and the spec 0600: the spec holds the container's
// environment, which is nobody else's business (dockerd keeps these private too).

const RUNTIME_FILE = 'runtime';
const EXEC_DIR_MODE = 0o700;
const SPEC_MODE = 0o600;

export interface ConmonTaskServiceOptions {
  execRoot: string;
  runtimes: Map<string, OciRuntime>;
  defaultRuntime: string;
  conmonPath: string;
  /** socat carries stdin to conmon's SOCK_SEQPACKET attach socket. */
  socatPath: string;
}

export class ConmonTaskService implements TaskService {
  readonly runtimes: readonly string[];
  readonly defaultRuntime: string;
  private readonly exitDir: string;
  private readonly bundleRoot: string;
  private readonly execRoot: string;
  private exitWatcher: FSWatcher | undefined;
  private onExit: ExitListener = () => {};
  private onOom: OomListener = () => {};
  /** Running tasks' OOM watches (conmon's note in the bundle). */
  private readonly oomWatches = new Map<string, () => void>();
  /** Which runtime each known task runs under. */
  private readonly runtimeOf = new Map<string, string>();

  constructor(private readonly o: ConmonTaskServiceOptions) {
    this.runtimes = [...o.runtimes.keys()];
    this.defaultRuntime = o.defaultRuntime;
    this.exitDir = join(o.execRoot, 'exits');
    this.bundleRoot = join(o.execRoot, 'bundles');
    this.execRoot = join(o.execRoot, 'execs');
  }

  async init(onExit: ExitListener, onOom?: OomListener): Promise<void> {
    this.onExit = onExit;
    if (onOom) this.onOom = onOom;
    await privateDir(this.exitDir, EXEC_DIR_MODE);
    await privateDir(this.bundleRoot, EXEC_DIR_MODE);
    // Exec sessions do not outlive berthd (as in dockerd): their files go at start.
    await rm(this.execRoot, { recursive: true, force: true });
    await privateDir(this.execRoot, EXEC_DIR_MODE);
    this.exitWatcher = watch(this.exitDir, (_ev, file) => {
      if (file && !file.startsWith('.')) void this.readExit(file.toString()).then((code) => code !== undefined && this.onExit(file.toString(), code));
    });
  }

  close(): void {
    this.exitWatcher?.close();
    for (const stop of this.oomWatches.values()) stop();
    this.oomWatches.clear();
  }

  async recover(id: string, runtime: string): Promise<RecoveredTask> {
    this.runtimeOf.set(id, runtime);
    if (existsSync(join(this.exitDir, id))) {
      const code = await this.readExit(id);
      if (code !== undefined) return { state: 'exited', exitCode: code };
    }
    if (liveConmonPid(this.bundleDir(id))) {
      this.watchOom(id);
      return { state: 'running' };
    }
    return { state: 'lost' };
  }

  async mountRootfs(id: string, mounts: MountDescription[]): Promise<string> {
    const rootfs = join(this.bundleDir(id), 'rootfs');
    await privateDir(this.bundleDir(id), EXEC_DIR_MODE);
    await mkdir(rootfs, { recursive: true });
    await mountAll(mounts, rootfs);
    return rootfs;
  }

  async create(o: TaskCreateOptions): Promise<{ pid: number }> {
    const runtime = this.runtime(o.runtime);
    const bundle = this.bundleDir(o.id);
    this.runtimeOf.set(o.id, o.runtime);
    // The spec carries the container's environment (secrets): root only.
    await writeFile(join(bundle, 'config.json'), JSON.stringify(o.spec), { mode: SPEC_MODE });
    await chmod(join(bundle, 'config.json'), SPEC_MODE);
    // Remembered with the bundle, so a restarted berthd tears it down with the right runtime.
    await writeFile(join(bundle, RUNTIME_FILE), o.runtime);
    await unlink(join(this.exitDir, o.id)).catch(() => {});
    return launchConmon({
      id: o.id,
      name: o.name,
      bundle,
      runtime,
      conmonPath: this.o.conmonPath,
      logPath: o.logPath,
      logSizeMax: o.logSizeMax,
      exitDir: this.exitDir,
      tty: o.tty,
      openStdin: o.openStdin,
      leaveStdinOpen: o.leaveStdinOpen,
    });
  }

  async start(id: string): Promise<void> {
    await this.runtimeFor(id).start(id);
    this.watchOom(id);
  }

  oomKilled(id: string): boolean {
    let cgroupsPath: string | undefined;
    try {
      cgroupsPath = (JSON.parse(readFileSync(join(this.bundleDir(id), 'config.json'), 'utf8')) as { linux?: { cgroupsPath?: string } }).linux?.cgroupsPath;
    } catch {
      /* no bundle: only conmon's note could tell, and it is gone too */
    }
    return oomKilled(this.bundleDir(id), cgroupsPath);
  }

  private watchOom(id: string): void {
    this.oomWatches.get(id)?.();
    this.oomWatches.set(id, watchOomNote(this.bundleDir(id), () => this.onOom(id)));
  }

  kill(id: string, signal: string, all = false): Promise<void> {
    return this.runtimeFor(id).kill(id, signal, all);
  }

  async delete(id: string): Promise<void> {
    this.oomWatches.get(id)?.();
    this.oomWatches.delete(id);
    const bundle = this.bundleDir(id);
    if (!existsSync(bundle)) return;
    await this.runtimeFor(id).delete(id, true).catch(() => {});
    await unmountIfMounted(join(bundle, 'rootfs'));
    await rm(bundle, { recursive: true, force: true });
    await unlink(join(this.exitDir, id)).catch(() => {});
    this.runtimeOf.delete(id);
  }

  async list(): Promise<string[]> {
    return (await readdir(this.bundleRoot).catch(() => [] as string[])).filter((name) => !name.startsWith('.'));
  }

  pause(id: string): Promise<void> {
    return this.runtimeFor(id).pause(id);
  }

  resume(id: string): Promise<void> {
    return this.runtimeFor(id).resume(id);
  }

  reopenLog(id: string): Promise<void> {
    return reopenLog(this.bundleDir(id));
  }

  runDir(id: string): string {
    return this.bundleDir(id);
  }

  resize(id: string, height: number, width: number): Promise<void> {
    return resizeTty(this.bundleDir(id), height, width);
  }

  openStdin(id: string): StdinSink {
    return connectStdin(this.bundleDir(id), this.o.socatPath);
  }

  rootfs(id: string): string {
    return join(this.bundleDir(id), 'rootfs');
  }

  async processSpec(id: string): Promise<Record<string, unknown>> {
    const spec = JSON.parse(await readFile(join(this.bundleDir(id), 'config.json'), 'utf8')) as { process?: Record<string, unknown> };
    if (!spec.process) throw new SystemError(`container ${id} has no process in its spec`);
    return spec.process;
  }

  async exec(id: string, o: ExecOptions): Promise<ExecProcess> {
    const dir = join(this.execRoot, o.execId);
    const exitDir = join(dir, 'exits');
    await mkdir(exitDir, { recursive: true });
    const specPath = join(dir, 'process.json');
    await writeFile(specPath, JSON.stringify(o.process));
    const logPath = join(dir, 'output.log');
    let reported!: (code: number | undefined) => void;
    const fromSync = new Promise<number | undefined>((resolve) => (reported = resolve));
    let pid: number;
    try {
      ({ pid } = await launchConmon({
        id,
        name: o.execId,
        bundle: dir,
        runtime: this.runtimeFor(id),
        conmonPath: this.o.conmonPath,
        logPath,
        exitDir,
        tty: o.tty,
        openStdin: o.openStdin,
        leaveStdinOpen: false,
        execProcessSpec: specPath,
        onExecExit: (code) => reported(code),
      }));
    } catch (err) {
      await rm(dir, { recursive: true, force: true });
      throw err;
    }
    // conmon writes the code to the sync pipe and the exit dir; the file is the fallback.
    const exited = fromSync.then(async (code) => code ?? (await readFile(join(exitDir, id), 'utf8').then((t) => Number(t.trim()), () => 255)));
    return {
      pid,
      logPath,
      exited: exited.then((c) => (Number.isFinite(c) && c >= 0 ? c : 255)),
      openStdin: () => connectStdin(dir, this.o.socatPath),
      resize: (height, width) => resizeTty(dir, height, width),
      cleanup: () => rm(dir, { recursive: true, force: true }),
    };
  }

  update(id: string, r: TaskResources): Promise<void> {
    const flags: string[] = [];
    const add = (flag: string, v: number | string | undefined) => v !== undefined && flags.push(`--${flag}`, String(v));
    add('memory', r.memory);
    add('memory-swap', r.memorySwap);
    add('memory-reservation', r.memoryReservation);
    add('cpu-share', r.cpuShares);
    add('cpu-period', r.cpuPeriod);
    add('cpu-quota', r.cpuQuota);
    add('cpuset-cpus', r.cpusetCpus);
    add('cpuset-mems', r.cpusetMems);
    add('pids-limit', r.pidsLimit);
    add('blkio-weight', r.blkioWeight);
    return this.runtimeFor(id).update(id, flags);
  }

  async stats(id: string): Promise<TaskStats> {
    const pid = Number((await readFile(join(this.bundleDir(id), CONTAINER_PID_FILE), 'utf8').catch(() => '')).trim());
    if (!pid) throw new ConflictError(`container ${id} is not running`);
    return readTaskStats(pid);
  }

  pids(id: string): Promise<number[]> {
    return this.runtimeFor(id).pids(id);
  }

  private bundleDir(id: string): string {
    return join(this.bundleRoot, id);
  }

  private runtime(name: string): OciRuntime {
    const r = this.o.runtimes.get(name);
    if (!r) throw new InvalidParameterError(`unknown or invalid runtime name: ${name}`);
    return r;
  }

  private runtimeFor(id: string): OciRuntime {
    let name = this.runtimeOf.get(id);
    if (!name) {
      try {
        name = readFileSync(join(this.bundleDir(id), RUNTIME_FILE), 'utf8').trim() || undefined;
      } catch {
        /* no bundle, or made before the file existed */
      }
    }
    return this.runtime(name && this.o.runtimes.has(name) ? name : this.defaultRuntime);
  }

  /** conmon's exit code for the task, or undefined while the file is not (fully) there. */
  private async readExit(id: string): Promise<number | undefined> {
    let code: number;
    try {
      code = Number((await readFile(join(this.exitDir, id), 'utf8')).trim());
    } catch {
      return undefined; // the event raced the write; the rename event comes next
    }
    if (!Number.isFinite(code)) return undefined;
    return code < 0 ? 255 : code;
  }
}
