import { randomBytes } from 'node:crypto';
import { privateDir, CONTAINER_DIR_MODE } from './private-state.js';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import {
  ConflictError, InvalidParameterError, NotFoundError, NotModifiedError, SystemError, errorMessage,
} from '../errors/index.js';
import type {
  ContainerCreateRequest, ContainerInspect, ContainerSummary, ContainerWaitResponse,
} from '../types/engine.js';
import type { EventBus } from '../events/index.js';
import type { ImageStore } from '../image/image-store.js';
import type { Snapshotter } from '../snapshot/snapshotter.js';
import type { TaskService } from '../runtime/index.js';
import { systemClock, sleep, type Clock } from '../util/clock.js';
import { normalizeSignal, signalNumber } from '../util/signals.js';
import { type ContainerRecord, ZERO_TIME } from './record.js';
import { mountsOf, volumesFromSources } from './volumes.js';
import type { VolumeService } from '../volume/index.js';
import { commitContainer, type CommitOptions } from './commit.js';
import { checkNetworkMode, mergeConfig, normalizeHostConfig, validateHostConfig, validName } from './config.js';
import { buildBundle, writeEtcFiles } from './bundle.js';
import { ContainerStore } from './store.js';
import { Live, isRunning, markExited, markRunning, resolveWaiters, waitForExit, type Waiter, type WaitCondition } from './lifecycle.js';
import { RestartScheduler, restartAtBoot, restartWanted } from './restart.js';
import { ContainerIO, type AttachOptions, type AttachSession, type LogsOptions } from './io.js';
import { ContainerViews, containerView, type ContainerView, type ListOptions } from './view.js';
import { ExecManager, type ExecStart } from './exec.js';
import { ContainerStatsReader, type StatsOptions } from './stats.js';
import { ContainerArchive, type PathStat, type PutArchiveOptions } from './archive.js';
import { containerChanges, type Change } from './diff.js';
import { applyUpdate, type UpdateRequest } from './update.js';
import { pruneFilter } from './prune.js';
import { HealthMonitor } from './health.js';
import { createTarFromDir } from '../archive/index.js';
import type { Readable } from 'node:stream';
import type { ContainerStats, ContainerTopResponse } from '../types/stats.js';
import type { ExecCreateRequest, ExecInspect, ExecStartRequest } from '../types/exec.js';
import type { LogEntry } from './logs.js';
import { DEFAULT_LOG_DRIVER, type LogConfig } from './log-driver.js';
import { validateConfinement } from './security/index.js';
import type { NetworkService } from '../network/index.js';
import { networkRequest, networkRequestOf, writeNetworkFiles } from './network.js';
import { cgroupSupport, verifyResources } from './resources/index.js';

// The container service coordinates the parts: store (records, names),
// config (merge, validation), bundle (spec, /etc files), lifecycle (state,
// lock, waiters), restart (policy), io (logs, attach, stdin), view (inspect,
// list) and the task service (src/runtime) that runs and watches processes.

export type { WaitCondition } from './lifecycle.js';
export type { LogsOptions, AttachOptions, AttachSession } from './io.js';
export type { ListOptions, ContainerView } from './view.js';
export type { ExecStart } from './exec.js';
export { mergeConfig } from './config.js';
export { statusText } from './view.js';
export { normalizeSignal } from '../util/signals.js';

export interface ContainerServiceOptions {
  /** containers/<id>/ with the record, log and etc files. */
  root: string;
  images: ImageStore;
  snapshotter: Snapshotter;
  /** Runs the containers' processes (conmon + runc/crun) and reports their exits. */
  tasks: TaskService;
  /** A static init (tini-static) for --init, when installed. */
  initPath?: string;
  events: EventBus;
  /** Gives containers their volumes and mounts them; never reads container records. */
  volumes: VolumeService;
  /** Sandboxes (namespace, addresses, ports, names); without it containers get loopback only. */
  network?: NetworkService;
  cgroupParent: string;
  /** daemon.json's log-driver and log-opts (validated); json-file with berth's rotation when unset. */
  defaultLogConfig?: LogConfig;
  log: (level: 'debug' | 'info' | 'warn' | 'error', msg: string) => void;
  /** Runtime-only scratch space (tmpfs) for temporary mounts of stopped containers' roots. */
  scratchRoot: string;
  /** Time for restart backoff and stop timeouts; tests inject their own. */
  clock?: Clock;
}

const STOP_DEFAULT_SECONDS = 10;
/** How long a SIGKILL kill waits for the exit before answering, as dockerd does. */
const KILL_WAIT_MS = 10_000;

export class ContainerService {
  private readonly store: ContainerStore;
  private readonly tasks: TaskService;
  private readonly io: ContainerIO;
  private readonly views: ContainerViews;
  private readonly restarts: RestartScheduler;
  private readonly execs: ExecManager;
  private readonly statsReader: ContainerStatsReader;
  private readonly archive: ContainerArchive;
  private readonly health: HealthMonitor;
  private readonly clock: Clock;

  constructor(private readonly o: ContainerServiceOptions) {
    this.clock = o.clock ?? systemClock;
    this.store = new ContainerStore(o.root, o.log);
    this.tasks = o.tasks;
    this.io = new ContainerIO(o.tasks, o.log, o.defaultLogConfig ?? { Type: DEFAULT_LOG_DRIVER, Config: {} });
    this.views = new ContainerViews(this.store, o.images, o.snapshotter, o.volumes, o.network, (id) => o.tasks.rootfs(id));
    this.restarts = new RestartScheduler(this.clock);
    this.statsReader = new ContainerStatsReader(o.tasks, this.clock, (id) => o.network?.counterBaseline(id) ?? {});
    this.archive = new ContainerArchive(o.tasks, o.snapshotter, o.scratchRoot, (name) => {
      try {
        return o.volumes.inspect(name).Mountpoint || undefined;
      } catch {
        return undefined;
      }
    });
    this.execs = new ExecManager(o.tasks, o.events, (live) => this.eventAttributes(live.record), o.log);
    this.health = new HealthMonitor(this.execs, this.clock, o.events, (live) => this.eventAttributes(live.record), (live) => this.persist(live));
  }

  // ---- startup and shutdown -------------------------------------------------

  /** Loads records, re-adopts running containers, repairs what a crash left. */
  async init(): Promise<void> {
    await this.store.load();
    await this.archive.init();
    for (const { record: r } of this.store.all()) await this.o.volumes.restore(r.id, mountsOf(r), isRunning(r.state.status));
    await this.tasks.init((id, code) => void this.onExitFile(id, code), (id) => this.onOom(id));
    // Snapshots of containers whose record is gone (crash during create/remove).
    for (const snap of await this.o.snapshotter.list()) {
      if (snap.kind === 'active' && snap.labels['berth.container'] && !this.store.has(snap.key)) {
        await this.o.snapshotter.remove(snap.key).catch((err) => this.o.log('warn', `removing orphan snapshot ${snap.key}: ${errorMessage(err)}`));
      }
    }
    // Runs whose record is gone (berthd stopped between removing the record and tearing down): release their mounts.
    for (const id of await this.tasks.list()) {
      if (!this.store.has(id)) await this.tasks.delete(id).catch((err) => this.o.log('warn', `removing orphan bundle ${id}: ${errorMessage(err)}`));
    }
    for (const live of this.store.all()) await this.readopt(live);
    await this.restartPerPolicy();
  }

  private async readopt(live: Live): Promise<void> {
    const r = live.record;
    if (!isRunning(r.state.status)) {
      // Stopped containers hold no mounts; a crash mid-teardown may have left one.
      live.teardown = this.teardownRun(r.id);
      return;
    }
    const task = await this.tasks.recover(r.id, r.runtime);
    if (task.state === 'exited') {
      await this.onExitFile(r.id, task.exitCode);
      return;
    }
    if (task.state === 'running') {
      this.health.start(live, false);
      await this.io.running(r);
      this.o.log('info', `re-adopted running container ${r.id.slice(0, 12)}`);
      return;
    }
    await this.finishRun(live, 255, 'container monitor exited while berthd was down');
  }

  /**
   * A clean stop: no new exits are watched, and the exits already being
   * handled finish first (a `run --rm` whose client saw "removed" may still be
   * releasing its sandbox), so the network and volume services close after.
   */
  async close(): Promise<void> {
    this.tasks.close();
    this.restarts.close();
    this.health.close();
    for (const live of this.store.all()) {
      for (const a of live.attachments) a.done();
    }
    this.io.close();
    await Promise.allSettled([...this.exiting]);
    await Promise.allSettled(this.store.all().map((live) => live.teardown));
  }

  // ---- lookup ----------------------------------------------------------------

  /** A read-only view by full ID, name, or unambiguous ID prefix, like Docker. */
  get(ref: string): ContainerView {
    return containerView(this.store.get(ref).record);
  }

  /** Names of containers created from an image (for rmi's in-use check). */
  imageUsers(imageId: string): string[] {
    return this.store.all().filter((l) => l.record.image === imageId).map((l) => l.record.name.slice(1));
  }

  /** The image ID of every container, one entry per container. */
  imageIdsInUse(): string[] {
    return this.store.all().map((l) => l.record.image);
  }

  counts(): { total: number; running: number; paused: number; stopped: number } {
    let running = 0;
    let paused = 0;
    for (const l of this.store.all()) {
      if (l.record.state.status === 'running') running++;
      else if (l.record.state.status === 'paused') paused++;
    }
    const total = this.store.size;
    return { total, running, paused, stopped: total - running - paused };
  }

  // ---- create ----------------------------------------------------------------

  async create(req: ContainerCreateRequest, requestedName?: string): Promise<{ id: string; warnings: string[] }> {
    if (!req.Image) throw new InvalidParameterError('config cannot be empty in order to create a container');
    validateHostConfig(req.HostConfig ?? {});
    validateConfinement(req.HostConfig ?? {});
    const logConfig = this.io.logConfigFor(req.HostConfig?.LogConfig);
    // Limits the host cannot apply are dropped with dockerd's warning; the record holds what applies.
    const { hostConfig, warnings } = verifyResources(req.HostConfig ?? {}, cgroupSupport());
    if (!this.o.network) checkNetworkMode(hostConfig.NetworkMode);
    const runtimeName = hostConfig.Runtime || this.tasks.defaultRuntime;
    if (!this.tasks.runtimes.includes(runtimeName)) throw new InvalidParameterError(`unknown or invalid runtime name: ${runtimeName}`);

    const name = requestedName ? validName(requestedName) : this.store.generateName();
    this.store.checkNameFree(name);
    const image = await this.o.images.resolve(req.Image);
    const id = randomBytes(32).toString('hex');
    // Re-checked after the await (another create may have taken the name meanwhile), and held while we work.
    this.store.reserveName(name, id);
    try {
      const config = mergeConfig(req, image, id);
      const [path, ...args] = [...(config.Entrypoint ?? []), ...(config.Cmd ?? [])];
      if (!path) throw new InvalidParameterError('no command specified');

      const volumesFrom = volumesFromSources(hostConfig, (ref) => this.store.get(ref).record);
      const mounts = await this.o.volumes.resolve(id, { hostConfig, configVolumes: config.Volumes, volumesFrom });
      await this.o.network?.register(networkRequest(id, config, hostConfig, req));
      const dir = this.store.dir(id);
      await privateDir(dir, CONTAINER_DIR_MODE);
      const prepared = this.o.snapshotter.prepare(id, image.chainIds[image.chainIds.length - 1], { 'berth.container': id });
      const record: ContainerRecord = {
        id,
        name,
        created: new Date().toISOString(),
        path,
        args,
        config,
        hostConfig: { ...normalizeHostConfig(hostConfig), LogConfig: logConfig },
        image: image.id,
        mounts,
        state: {
          status: 'created', pid: 0, exitCode: 0, error: '', startedAt: ZERO_TIME, finishedAt: ZERO_TIME, oomKilled: false,
        },
        restartCount: 0,
        runtime: runtimeName,
        logPath: this.io.logPathFor(logConfig, dir),
        hostnamePath: join(dir, 'hostname'),
        hostsPath: join(dir, 'hosts'),
        resolvConfPath: join(dir, 'resolv.conf'),
      };
      await Promise.all([prepared, writeEtcFiles(record)]);
      // The record lands last: until then, startup sweeps the half-made directory.
      await this.store.add(record);
      this.o.events.emit('container', 'create', id, this.eventAttributes(record));
      return { id, warnings };
    } catch (err) {
      this.store.releaseName(name, id);
      await this.o.volumes.forget(id, { removeAnonymous: true }).catch(() => {});
      await this.o.network?.forget(id).catch(() => {});
      await this.o.snapshotter.remove(id).catch(() => {});
      await rm(this.store.dir(id), { recursive: true, force: true });
      throw err;
    }
  }

  // ---- start -----------------------------------------------------------------

  start(ref: string): Promise<void> {
    const live = this.store.get(ref);
    return live.serialize(() => this.startLocked(live));
  }

  private async startLocked(live: Live): Promise<void> {
    const r = live.record;
    if (live.removed) throw new NotFoundError(`No such container: ${r.id}`);
    if (isRunning(r.state.status)) throw new NotModifiedError('container already started');
    // A start (the user's or the policy's) replaces a pending restart; the
    // status stays 'restarting' until the new run is up.
    this.restarts.cancel(r.id);
    await live.teardown;
    const previousStatus = r.state.status;
    try {
      const rootfs = await this.tasks.mountRootfs(r.id, await this.o.snapshotter.mounts(r.id));
      const userMounts = await this.o.volumes.setup(r.id, mountsOf(r), rootfs);
      const network = await this.o.network?.acquire(networkRequestOf(r));
      await writeNetworkFiles(r, network);
      const spec = await buildBundle(r, { rootfs, cgroupParent: this.o.cgroupParent, initPath: this.o.initPath, userMounts, network });
      const conmonLog = await this.io.beforeRun(r);
      const { pid } = await this.tasks.create({
        id: r.id,
        name: r.name.slice(1),
        runtime: r.runtime,
        spec,
        logPath: conmonLog.path,
        logSizeMax: conmonLog.sizeMax,
        tty: r.config.Tty === true,
        openStdin: r.config.OpenStdin === true,
        // dockerd closes a StdinOnce stdin after the first client only without a TTY (CloseStdin = StdinOnce && !Tty).
        leaveStdinOpen: r.config.OpenStdin === true && (r.config.StdinOnce !== true || r.config.Tty === true),
      });
      // From here the process exists: an exit may be reported at any moment,
      // even before `start` returns, so the state says running first and
      // finishRun waits for this start to settle before it records the exit.
      markRunning(r, pid, new Date(this.clock.now()));
      let settled!: () => void;
      live.starting = new Promise<void>((resolve) => (settled = resolve));
      try {
        // Attached clients follow the log from here; stdin goes to the task.
        await this.io.running(r);
        await this.io.beginAttachments(live);
        await this.tasks.start(r.id);
        this.o.events.emit('container', 'start', r.id, this.eventAttributes(r));
        this.health.start(live);
      } catch (err) {
        r.state = { ...r.state, status: previousStatus, pid: 0 };
        throw err;
      } finally {
        settled();
      }
      await this.persist(live);
    } catch (err) {
      const message = errorMessage(err);
      await this.io.runEnded(r);
      await this.teardownRun(r.id);
      r.state = { ...r.state, status: previousStatus === 'restarting' ? 'exited' : previousStatus, exitCode: startFailureExitCode(message), error: message };
      await this.persist(live);
      this.io.dropAttachments(live);
      // Like dockerd: an auto-remove container that cannot start is removed
      // (queued behind this start; `docker run --rm` waits for it).
      if (r.hostConfig.AutoRemove) void this.remove(r.id, { force: true, volumes: true }).catch(() => {});
      if (/executable file not found|no such file or directory|permission denied|is a directory/i.test(message)) {
        throw new InvalidParameterError(message, { cause: err });
      }
      throw err instanceof SystemError ? err : new SystemError(message, { cause: err });
    }
  }

  // ---- exit handling ---------------------------------------------------------

  /** The task service reported an exit. */
  private async onExitFile(id: string, exitCode: number): Promise<void> {
    const live = this.store.byId(id);
    if (!live) return;
    await live.starting;
    if (!isRunning(live.record.state.status)) return;
    await this.finishRun(live, exitCode, '');
  }

  /** The container's process is gone: record it, release clients, tear down. */
  /** Exits being handled (state, tear-down, auto-remove): a clean stop waits for them. */
  private readonly exiting = new Set<Promise<void>>();

  private finishRun(live: Live, exitCode: number, error: string): Promise<void> {
    const p = this.handleExit(live, exitCode, error);
    this.exiting.add(p);
    void p.finally(() => this.exiting.delete(p)).catch(() => {});
    return p;
  }

  private async handleExit(live: Live, exitCode: number, error: string): Promise<void> {
    const r = live.record;
    await live.starting;
    if (!isRunning(r.state.status)) return;
    this.health.stop(r.id);
    // Asked before the tear-down removes the cgroup; an OOM seen while running was reported then.
    const oomReported = r.state.oomKilled;
    markExited(r, exitCode, error, new Date(this.clock.now()));
    r.state.oomKilled = oomReported || this.tasks.oomKilled(r.id);
    const autoRemove = r.hostConfig.AutoRemove === true;
    // Decided now, not after the awaits below: a stop that comes in between
    // sees 'restarting' and cancels the restart (as dockerd, which keeps the
    // container "running" while a restart is pending).
    const restart = !autoRemove && restartWanted(r, exitCode);
    if (restart) r.state = { ...r.state, status: 'restarting' };
    // An auto-removed container's record goes away next; persisting it first buys nothing.
    const persisted = autoRemove ? Promise.resolve() : this.persist(live);
    // The tear-down is claimed before the first await: a start arriving while
    // the attachments drain sees the container exited and must wait for this
    // run's tear-down, or that tear-down would delete the new run's bundle.
    let clientsReleased!: () => void;
    const released = new Promise<void>((resolve) => (clientsReleased = resolve));
    // A cp still reading or writing the rootfs finishes first.
    live.teardown = released.then(() => Promise.allSettled([...live.busy])).then(() => this.teardownRun(r.id));
    try {
      await this.io.endAttachments(live);
      await this.io.runEnded(r);
    } finally {
      clientsReleased();
    }
    const attrs = this.eventAttributes(r);
    if (r.state.oomKilled && !oomReported) this.o.events.emit('container', 'oom', r.id, attrs);
    this.o.events.emit('container', 'die', r.id, { ...attrs, exitCode: String(exitCode) });
    resolveWaiters(live, ['not-running', 'next-exit']);
    await persisted;
    if (autoRemove) await this.remove(r.id, { force: true, volumes: true }).catch((err) => this.o.log('warn', `auto-remove ${r.id}: ${errorMessage(err)}`));
    else if (restart && r.state.status === 'restarting' && !live.removed) this.scheduleRestart(live);
  }

  /** An OOM kill while the container runs is reported when it happens, as dockerd does. */
  private onOom(id: string): void {
    const live = this.store.byId(id);
    if (!live || !isRunning(live.record.state.status) || live.record.state.oomKilled) return;
    live.record.state = { ...live.record.state, oomKilled: true };
    this.o.events.emit('container', 'oom', id, this.eventAttributes(live.record));
    void this.persist(live);
  }

  /** Brings the container back after the restart policy's backoff. */
  private scheduleRestart(live: Live): void {
    const r = live.record;
    this.restarts.schedule(r.id, r.state.startedAt, () => {
      void live.serialize(async () => {
        if (r.state.status !== 'restarting' || live.removed) return;
        r.restartCount++;
        await this.startLocked(live);
      }).catch((err) => this.o.log('warn', `restarting ${r.id.slice(0, 12)}: ${errorMessage(err)}`));
    });
  }

  /** Cancels a scheduled restart; the container stays exited. */
  private cancelRestart(live: Live): boolean {
    if (live.record.state.status !== 'restarting') return false;
    this.restarts.cancel(live.record.id);
    live.record.state = { ...live.record.state, status: 'exited' };
    return true;
  }

  /** At daemon start: containers whose policy says they should be up again. */
  private async restartPerPolicy(): Promise<void> {
    for (const live of this.store.all()) {
      const r = live.record;
      if (r.state.status === 'restarting') r.state = { ...r.state, status: 'exited' };
      if (r.state.status !== 'exited') continue;
      if (restartAtBoot(r)) {
        await this.start(r.id).catch((err) => this.o.log('warn', `restart policy of ${r.id.slice(0, 12)}: ${errorMessage(err)}`));
      }
    }
  }

  /** Releases what a run held: the volume mounts (the process is gone), the runtime's state, the rootfs mount, the bundle. */
  private async teardownRun(id: string): Promise<void> {
    await this.o.volumes.release(id);
    await this.tasks.delete(id);
    // After the runtime removed what was left of the run: its namespace may serve the next container.
    await this.o.network?.release(id).catch((err) => this.o.log('warn', `releasing the network of ${id.slice(0, 12)}: ${errorMessage(err)}`));
  }

  // ---- stop / kill / restart -------------------------------------------------

  async kill(ref: string, signal = 'SIGKILL'): Promise<void> {
    const live = this.store.get(ref);
    const r = live.record;
    if (r.state.status === 'restarting') {
      throw new ConflictError(`Cannot kill container: ${ref}: Container ${r.id} is restarting, wait until the container is running`);
    }
    if (!isRunning(r.state.status)) {
      throw new ConflictError(`Cannot kill container: ${ref}: Container ${r.id} is not running`);
    }
    const sig = normalizeSignal(signal);
    // As Docker's ContainerKill: SIGKILL (the default) answers once the container is down, so an
    // inspect right after a kill sees it exited; any other signal is only delivered.
    const exited = sig === 'SIGKILL' ? waitForExit(live) : undefined;
    await this.tasks.kill(r.id, sig).catch((err) => {
      if (r.state.status === 'running') throw err;
    });
    // A frozen process dies only once thawed (dockerd resumes a paused container it kills).
    if (sig === 'SIGKILL' && r.state.status === 'paused') await this.tasks.resume(r.id).catch(() => {});
    this.o.events.emit('container', 'kill', r.id, { ...this.eventAttributes(r), signal: String(signalNumber(sig)) });
    if (exited) {
      let timer: unknown;
      await Promise.race([exited, new Promise<void>((resolve) => (timer = this.clock.setTimeout(resolve, KILL_WAIT_MS)))]);
      this.clock.clearTimeout(timer);
    }
  }

  stop(ref: string, opts: { timeout?: number; signal?: string } = {}): Promise<void> {
    const live = this.store.get(ref);
    return live.serialize(async () => {
      const r = live.record;
      if (this.cancelRestart(live)) {
        r.state.stoppedByUser = true;
        await this.persist(live);
        this.o.events.emit('container', 'stop', r.id, this.eventAttributes(r));
        return;
      }
      if (!isRunning(r.state.status)) throw new NotModifiedError('container already stopped');
      r.state.stoppedByUser = true;
      await this.stopRunning(live, opts);
      this.o.events.emit('container', 'stop', r.id, this.eventAttributes(r));
    });
  }

  private async stopRunning(live: Live, opts: { timeout?: number; signal?: string }): Promise<void> {
    const r = live.record;
    const exited = waitForExit(live);
    const timeout = opts.timeout ?? r.config.StopTimeout ?? STOP_DEFAULT_SECONDS;
    const signal = normalizeSignal(opts.signal || r.config.StopSignal || 'SIGTERM');
    if (r.state.status === 'paused') await this.tasks.resume(r.id).catch(() => {});
    if (timeout !== 0) {
      await this.tasks.kill(r.id, signal).catch(() => {});
      this.o.events.emit('container', 'kill', r.id, { ...this.eventAttributes(r), signal: String(signalNumber(signal)) });
      if (timeout < 0) return exited;
      if (await Promise.race([exited.then(() => true), sleep(this.clock, timeout * 1000).then(() => false)])) return;
    }
    await this.tasks.kill(r.id, 'SIGKILL', true).catch(() => {});
    this.o.events.emit('container', 'kill', r.id, { ...this.eventAttributes(r), signal: '9' });
    await exited;
  }

  restart(ref: string, opts: { timeout?: number; signal?: string } = {}): Promise<void> {
    const live = this.store.get(ref);
    return live.serialize(async () => {
      if (isRunning(live.record.state.status)) await this.stopRunning(live, opts);
      await this.startLocked(live);
      this.o.events.emit('container', 'restart', live.record.id, this.eventAttributes(live.record));
    });
  }

  // ---- prune -----------------------------------------------------------------------

  /** docker container prune: removes every stopped container the filters select. */
  async prune(filters: Record<string, string[]>): Promise<{ ContainersDeleted: string[] | null; SpaceReclaimed: number }> {
    const wanted = pruneFilter(filters, this.clock.now());
    const deleted: string[] = [];
    let reclaimed = 0;
    for (const live of this.store.all()) {
      const r = live.record;
      if (isRunning(r.state.status) || r.state.status === 'restarting' || !wanted(r)) continue;
      const size = (await this.o.snapshotter.usage(r.id).catch(() => ({ size: 0 }))).size;
      try {
        await this.remove(r.id);
      } catch (err) {
        // Started meanwhile, or removed by someone else: not ours to report.
        this.o.log('debug', `prune: ${r.id.slice(0, 12)}: ${errorMessage(err)}`);
        continue;
      }
      deleted.push(r.id);
      reclaimed += size;
    }
    this.o.events.emit('container', 'prune', '', { reclaimed: String(reclaimed) });
    return { ContainersDeleted: deleted.length ? deleted : null, SpaceReclaimed: reclaimed };
  }

  // ---- update --------------------------------------------------------------------

  /** docker update: new limits and restart policy; a running task gets the limits at once. */
  update(ref: string, req: UpdateRequest): Promise<{ Warnings: string[] }> {
    const live = this.store.get(ref);
    return live.serialize(async () => {
      const r = live.record;
      const { hostConfig, resources } = applyUpdate(r.hostConfig, req);
      if (resources && isRunning(r.state.status)) {
        await this.tasks.update(r.id, resources).catch((err) => {
          throw new SystemError(`Cannot update container ${r.id}: ${errorMessage(err)}`, { cause: err });
        });
      }
      r.hostConfig = hostConfig;
      await this.persist(live);
      this.o.events.emit('container', 'update', r.id, this.eventAttributes(r));
      return { Warnings: [] };
    });
  }

  // ---- pause / unpause ---------------------------------------------------------

  /** Freezes every process of the container (runc pause: the freezer cgroup, or cgroup.freeze on v2). */
  pause(ref: string): Promise<void> {
    const live = this.store.get(ref);
    return live.serialize(async () => {
      const r = live.record;
      if (r.state.status === 'paused') throw new ConflictError(`Container ${r.id} is already paused`);
      if (r.state.status === 'restarting') throw new ConflictError(`Container ${r.id} is restarting, wait until the container is running`);
      if (r.state.status !== 'running') throw new ConflictError(`Container ${r.id} is not running`);
      await this.tasks.pause(r.id);
      r.state = { ...r.state, status: 'paused' };
      await this.persist(live);
      this.o.events.emit('container', 'pause', r.id, this.eventAttributes(r));
    });
  }

  unpause(ref: string): Promise<void> {
    const live = this.store.get(ref);
    return live.serialize(async () => {
      const r = live.record;
      if (r.state.status !== 'paused') throw new ConflictError(`Container ${r.id} is not paused`);
      await this.tasks.resume(r.id);
      r.state = { ...r.state, status: 'running' };
      await this.persist(live);
      this.o.events.emit('container', 'unpause', r.id, this.eventAttributes(r));
    });
  }

  // ---- commit ------------------------------------------------------------------

  /** POST /commit: a new image from the container's changes (see commit.ts). */
  commit(ref: string, opts: CommitOptions): Promise<{ Id: string }> {
    const live = this.store.get(ref);
    return live.serialize(async () => {
      const r = live.record;
      // Frozen while its files are read, with the events dockerd's commit emits for that.
      const deps = {
        images: this.o.images,
        snapshotter: this.o.snapshotter,
        pause: async (id: string) => {
          await this.tasks.pause(id);
          this.o.events.emit('container', 'pause', id, this.eventAttributes(r));
        },
        resume: async (id: string) => {
          await this.tasks.resume(id);
          this.o.events.emit('container', 'unpause', id, this.eventAttributes(r));
        },
      };
      const img = await commitContainer(deps, r, r.state.status === 'running', opts);
      this.o.events.emit('container', 'commit', r.id, { ...this.eventAttributes(r), comment: opts.comment ?? '', imageID: img.id, imageRef: opts.reference ?? '' });
      return { Id: img.id };
    });
  }

  // ---- remove / rename -------------------------------------------------------

  remove(ref: string, opts: { force?: boolean; volumes?: boolean } = {}): Promise<void> {
    const live = this.store.get(ref);
    return live.serialize(async () => {
      const r = live.record;
      if (live.removed) return;
      if (r.state.status === 'restarting') {
        if (!opts.force) {
          throw new ConflictError(`cannot remove container "${r.name}": container is restarting: stop the container before removing or force remove`);
        }
        this.cancelRestart(live);
      }
      if (isRunning(r.state.status)) {
        if (!opts.force) {
          throw new ConflictError(`cannot remove container "${r.name}": container is ${r.state.status}: stop the container before removing or force remove`);
        }
        await this.stopRunning(live, { timeout: 0 });
      }
      // The record disappears atomically (rename), then the rest is swept.
      const trash = await this.store.unlink(live);
      this.restarts.forget(r.id);
      this.health.stop(r.id);
      this.execs.forget(r.id);
      this.io.removed(live);
      // Before the waiters hear of it: `run --rm` then `volume rm` must find the volume free.
      await this.o.volumes.release(r.id);
      await this.o.volumes.forget(r.id, { removeAnonymous: opts.volumes === true });
      this.o.events.emit('container', 'destroy', r.id, this.eventAttributes(r));
      resolveWaiters(live, ['removed', 'not-running', 'next-exit']);
      await live.teardown;
      await this.teardownRun(r.id);
      await this.o.network?.forget(r.id).catch((err) => this.o.log('warn', `removing the network of ${r.id}: ${errorMessage(err)}`));
      await this.o.snapshotter.remove(r.id).catch((err) => this.o.log('warn', `removing snapshot of ${r.id}: ${errorMessage(err)}`));
      await rm(trash, { recursive: true, force: true });
    });
  }

  rename(ref: string, newName: string): Promise<void> {
    const live = this.store.get(ref);
    return live.serialize(async () => {
      if (!newName) throw new InvalidParameterError('Neither old nor new names may be empty');
      const name = validName(newName);
      const r = live.record;
      if (name === r.name) throw new InvalidParameterError(`Renaming a container with the same name as its current name`);
      const oldName = r.name;
      this.store.rename(live, name);
      await this.persist(live);
      this.o.events.emit('container', 'rename', r.id, { ...this.eventAttributes(r), oldName });
    });
  }

  // ---- wait ------------------------------------------------------------------

  /**
   * Registers a waiter and returns at once; `done` settles when the condition
   * holds. The API flushes its response headers in between, so the client
   * knows the wait is in place before it starts the container.
   */
  wait(ref: string, condition: WaitCondition = 'not-running', signal?: AbortSignal): { done: Promise<ContainerWaitResponse> } {
    const live = this.store.get(ref);
    const r = live.record;
    if (condition === 'not-running' && !isRunning(r.state.status)) {
      return { done: Promise.resolve({ StatusCode: r.state.exitCode, Error: null }) };
    }
    const done = new Promise<ContainerWaitResponse>((resolve, reject) => {
      const waiter: Waiter = { condition, resolve };
      live.waiters.add(waiter);
      signal?.addEventListener('abort', () => {
        live.waiters.delete(waiter);
        reject(signal.reason);
      }, { once: true });
    });
    return { done };
  }

  // ---- logs and attach -------------------------------------------------------

  /** Throws when the container's driver keeps nothing to read (before the API answers 200). */
  assertLogsReadable(ref: string): void {
    this.io.assertReadable(this.store.get(ref));
  }

  logs(ref: string, opts: LogsOptions, onEntry: (e: LogEntry) => void | Promise<void>, signal: AbortSignal): Promise<void> {
    return this.io.logs(this.store.get(ref), opts, onEntry, signal);
  }

  /** See ContainerIO.attach: registered before this returns, so a following start cannot miss it. */
  attach(ref: string, opts: AttachOptions, onOutput: (e: LogEntry) => void | Promise<void>, signal: AbortSignal): AttachSession {
    return this.io.attach(this.store.get(ref), opts, onOutput, signal);
  }

  async resize(ref: string, height: number, width: number): Promise<void> {
    const live = this.store.get(ref);
    if (live.record.state.status !== 'running') {
      throw new ConflictError(`cannot resize a stopped container: ${live.record.id.slice(0, 12)}`);
    }
    await this.tasks.resize(live.record.id, height, width);
  }

  // ---- exec ------------------------------------------------------------------

  execCreate(ref: string, req: ExecCreateRequest): { id: string } {
    return { id: this.execs.create(this.store.get(ref), req) };
  }

  /** Claims the exec for a start; the caller hijacks (or not) and then runs it. */
  execStart(execId: string, req: ExecStartRequest): ExecStart {
    return this.execs.start(execId, req);
  }

  execInspect(execId: string): ExecInspect {
    return this.execs.inspect(execId);
  }

  execResize(execId: string, height: number, width: number): Promise<void> {
    return this.execs.resize(execId, height, width);
  }

  // ---- archive (docker cp) -------------------------------------------------------

  archiveStat(ref: string, path: string): Promise<PathStat> {
    const live = this.store.get(ref);
    return this.archive.withRoot(live, async (root) => (await this.archive.stat(live, root, path)).stat);
  }

  /** Stats `path`, then hands its tar to `consume` (errors before consume become the HTTP answer). */
  archiveGet(ref: string, path: string, consume: (stat: PathStat, tar: Readable) => Promise<void>): Promise<void> {
    const live = this.store.get(ref);
    return this.archive.withRoot(live, async (root) => {
      const { stat, resolved, abs } = await this.archive.stat(live, root, path);
      this.o.events.emit('container', 'archive-path', live.record.id, this.eventAttributes(live.record));
      await consume(stat, this.archive.tar(resolved, abs));
    });
  }

  archivePut(ref: string, path: string, body: Readable, opts: PutArchiveOptions): Promise<void> {
    const live = this.store.get(ref);
    return this.archive.withRoot(live, async (root) => {
      await this.archive.extract(live, root, path, body, opts);
      this.o.events.emit('container', 'extract-to-dir', live.record.id, this.eventAttributes(live.record));
    });
  }

  /** docker diff: the container's changes against its image. */
  changes(ref: string): Promise<Change[]> {
    const live = this.store.get(ref);
    return containerChanges(live.record, this.o.snapshotter);
  }

  /** docker export: a tar of the container's filesystem, streamed to `consume`. */
  export(ref: string, consume: (tar: Readable) => Promise<void>): Promise<void> {
    const live = this.store.get(ref);
    return this.archive.withRoot(live, async (root) => {
      this.o.events.emit('container', 'export', live.record.id, this.eventAttributes(live.record));
      await consume(createTarFromDir(root));
    });
  }

  // ---- stats and top -----------------------------------------------------------

  stats(ref: string, opts: StatsOptions, send: (s: ContainerStats) => void | Promise<void>, signal: AbortSignal): Promise<void> {
    return this.statsReader.stats(this.store.get(ref), opts, send, signal);
  }

  top(ref: string, psArgs: string): Promise<ContainerTopResponse> {
    return this.statsReader.top(this.store.get(ref), psArgs);
  }

  // ---- inspect and list ------------------------------------------------------

  inspect(ref: string, withSize = false): Promise<ContainerInspect> {
    const live = this.store.get(ref);
    return this.views.inspect(live, withSize, this.execs.runningIds(live.record.id));
  }

  list(opts: ListOptions = {}): Promise<ContainerSummary[]> {
    return this.views.list(opts);
  }

  // ---- helpers ---------------------------------------------------------------

  private persist(live: Live): Promise<void> {
    return this.store.persist(live);
  }

  private eventAttributes(r: ContainerRecord): Record<string, string> {
    return { ...(r.config.Labels ?? {}), image: r.config.Image ?? r.image, name: r.name.slice(1) };
  }
}

function startFailureExitCode(message: string): number {
  if (/executable file not found|no such file or directory/i.test(message)) return 127;
  if (/permission denied|is a directory/i.test(message)) return 126;
  return 128;
}
