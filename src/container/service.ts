import { randomBytes } from 'node:crypto';
import { mkdir, rm, rename, readdir, readFile, writeFile, unlink } from 'node:fs/promises';
import { existsSync, watch, type FSWatcher } from 'node:fs';
import { join, posix } from 'node:path';
import { hostname } from 'node:os';
import type { Readable } from 'node:stream';
import {
  ConflictError, InvalidParameterError, NotFoundError, NotModifiedError, SystemError, errorMessage,
} from '../errors/index.js';
import type {
  ContainerCreateRequest, ContainerInspect, ContainerSummary, ContainerWaitResponse, HostConfig, ContainerConfig,
} from '../types/engine.js';
import type { EventBus } from '../events/index.js';
import type { ImageRecord, ImageStore } from '../image/image-store.js';
import type { Snapshotter } from '../snapshot/snapshotter.js';
import { launchConmon, liveConmonPid, resizeTty, connectStdin, type OciRuntime, type StdinSink } from '../runtime/index.js';
import { writeJsonAtomic, readJsonIfExists, TEMP_PREFIX } from '../util/atomic-file.js';
import { mountAll, unmountIfMounted } from '../util/mount.js';
import { humanDuration } from '../util/human-duration.js';
import { type ContainerRecord, type StoredState, ZERO_TIME } from './record.js';
import { buildSpec, mergeEnv } from './spec.js';
import { resolveUser } from './user.js';
import { mountPoints, ociMounts, parseUserMounts, prepareSources } from './mounts.js';
import { generateName, VALID_NAME } from './names.js';
import { LogFollower, logSize, readLog, type LogEntry, type StdStream } from './logs.js';

export type WaitCondition = 'not-running' | 'next-exit' | 'removed';

export interface ContainerServiceOptions {
  /** containers/<id>/ with the record, log and etc files. */
  root: string;
  /** Runtime-only state (bundles, exit files); tmpfs, so a reboot clears it. */
  execRoot: string;
  images: ImageStore;
  snapshotter: Snapshotter;
  runtimes: Map<string, OciRuntime>;
  defaultRuntime: string;
  conmonPath: string;
  /** socat carries stdin to conmon's SOCK_SEQPACKET attach socket. */
  socatPath: string;
  /** A static init (tini-static) for --init, when installed. */
  initPath?: string;
  events: EventBus;
  cgroupParent: string;
  log: (level: 'debug' | 'info' | 'warn' | 'error', msg: string) => void;
}

export interface ListOptions {
  all?: boolean;
  limit?: number;
  size?: boolean;
  filters?: Record<string, string[]>;
}

export interface LogsOptions {
  stdout: boolean;
  stderr: boolean;
  follow: boolean;
  tail?: number;
  sinceNs?: bigint;
  untilNs?: bigint;
}

export interface AttachSession {
  /** Streams until the run ends or the client leaves. */
  run(): Promise<void>;
  /** Supplies the client's stdin once the connection is hijacked (before `run`). */
  setStdin(stdin: Readable): void;
}

export interface AttachOptions {
  stdin?: Readable;
  stdout: boolean;
  stderr: boolean;
  /** Replay what the log already holds first. */
  logs: boolean;
  stream: boolean;
}

interface Waiter {
  condition: WaitCondition;
  resolve: (r: ContainerWaitResponse) => void;
}

/** One attached client for the current or next run of a container. */
interface Attachment {
  /** May return a promise to hold the reader back while the client catches up. */
  onOutput: (e: LogEntry) => void | Promise<void>;
  follower?: LogFollower;
  stdin?: Readable;
  /** conmon's attach socket while stdin is being forwarded. */
  stdinSink?: StdinSink;
  done: () => void;
}

/** In-memory companion of a record: what only lives while berthd does. */
class Live {
  waiters = new Set<Waiter>();
  attachments = new Set<Attachment>();
  /** Serialises lifecycle operations on one container. */
  lock: Promise<unknown> = Promise.resolve();
  /** Tear-down of the last run (runtime delete, unmount) still in progress. */
  teardown: Promise<void> = Promise.resolve();
  /** The start in progress; an exit is recorded only after it settled. */
  starting: Promise<void> = Promise.resolve();
  /** Record writes, in order; removal waits for them. */
  saving: Promise<void> = Promise.resolve();
  /** A restart the restart policy scheduled, and the backoff it used. */
  restartTimer: NodeJS.Timeout | undefined;
  restartDelayMs = 0;
  removed = false;
  constructor(public record: ContainerRecord) {}
}

const STOP_DEFAULT_SECONDS = 10;
/** Where Docker puts the init binary inside the container. */
const INIT_PATH_IN_CONTAINER = '/sbin/docker-init';
/** How long a SIGKILL kill waits for the exit before answering, as dockerd does. */
const KILL_WAIT_MS = 10_000;

export class ContainerService {
  private readonly containers = new Map<string, Live>();
  private readonly names = new Map<string, string>();
  private exitWatcher: FSWatcher | undefined;
  private readonly exitDir: string;

  constructor(private readonly o: ContainerServiceOptions) {
    this.exitDir = join(o.execRoot, 'exits');
  }

  // ---- startup and shutdown -------------------------------------------------

  /** Loads records, re-adopts running containers, repairs what a crash left. */
  async init(): Promise<void> {
    await mkdir(this.o.root, { recursive: true });
    await mkdir(this.exitDir, { recursive: true });
    await mkdir(join(this.o.execRoot, 'bundles'), { recursive: true });
    this.exitWatcher = watch(this.exitDir, (_ev, file) => {
      if (file && !file.startsWith('.')) void this.onExitFile(file.toString());
    });
    for (const entry of await readdir(this.o.root)) {
      const dir = join(this.o.root, entry);
      if (entry.startsWith('.removing-') || entry.startsWith(TEMP_PREFIX)) {
        await rm(dir, { recursive: true, force: true });
        continue;
      }
      const record = await readJsonIfExists<ContainerRecord>(join(dir, 'container.json')).catch(() => undefined);
      if (!record) {
        // Created half-way (crash before the record landed): nothing refers to it.
        await rm(dir, { recursive: true, force: true });
        continue;
      }
      const live = new Live(record);
      this.containers.set(record.id, live);
      this.names.set(record.name, record.id);
    }
    // Snapshots of containers whose record is gone (crash during create/remove).
    for (const snap of await this.o.snapshotter.list()) {
      if (snap.kind === 'active' && snap.labels['berth.container'] && !this.containers.has(snap.key)) {
        await this.o.snapshotter.remove(snap.key).catch((err) => this.o.log('warn', `removing orphan snapshot ${snap.key}: ${errorMessage(err)}`));
      }
    }
    for (const live of this.containers.values()) await this.readopt(live);
    await this.restartPerPolicy();
  }

  private async readopt(live: Live): Promise<void> {
    const r = live.record;
    if (r.state.status !== 'running' && r.state.status !== 'paused') {
      // Stopped containers hold no mounts; a crash mid-teardown may have left one.
      live.teardown = this.teardownRun(r.id);
      return;
    }
    const exitFile = join(this.exitDir, r.id);
    if (existsSync(exitFile)) {
      await this.onExitFile(r.id);
      return;
    }
    if (liveConmonPid(this.bundleDir(r.id))) {
      this.o.log('info', `re-adopted running container ${r.id.slice(0, 12)}`);
      return;
    }
    // conmon is gone and left no exit code (host reboot, or it was killed).
    await this.finishRun(live, 255, 'container monitor exited while berthd was down');
  }

  close(): void {
    this.exitWatcher?.close();
    for (const live of this.containers.values()) clearTimeout(live.restartTimer);
    for (const live of this.containers.values()) {
      for (const a of live.attachments) a.done();
    }
  }

  // ---- lookup ----------------------------------------------------------------

  /** By full ID, name (with or without "/"), or unambiguous ID prefix, like Docker. */
  get(ref: string): Live {
    const byId = this.containers.get(ref);
    if (byId) return byId;
    const byName = this.names.get(ref.startsWith('/') ? ref : `/${ref}`);
    if (byName) return this.containers.get(byName)!;
    if (ref.length > 0 && /^[0-9a-f]+$/.test(ref)) {
      const matches = [...this.containers.keys()].filter((id) => id.startsWith(ref));
      if (matches.length === 1) return this.containers.get(matches[0]!)!;
      if (matches.length > 1) throw new InvalidParameterError(`multiple IDs found with provided prefix: ${ref}`);
    }
    throw new NotFoundError(`No such container: ${ref}`);
  }

  /** Names of containers created from an image (for rmi's in-use check). */
  imageUsers(imageId: string): string[] {
    return [...this.containers.values()].filter((l) => l.record.image === imageId).map((l) => l.record.name.slice(1));
  }

  /** The image ID of every container, one entry per container. */
  imageIdsInUse(): string[] {
    return [...this.containers.values()].map((l) => l.record.image);
  }

  counts(): { total: number; running: number; paused: number; stopped: number } {
    let running = 0;
    let paused = 0;
    for (const l of this.containers.values()) {
      if (l.record.state.status === 'running') running++;
      else if (l.record.state.status === 'paused') paused++;
    }
    return { total: this.containers.size, running, paused, stopped: this.containers.size - running - paused };
  }

  // ---- create ----------------------------------------------------------------

  async create(req: ContainerCreateRequest, requestedName?: string): Promise<{ id: string; warnings: string[] }> {
    if (!req.Image) throw new InvalidParameterError('config cannot be empty in order to create a container');
    const hostConfig: HostConfig = req.HostConfig ?? {};
    validateHostConfig(hostConfig);
    // --mount binds must exist already (checked now, as dockerd does); -v creates its source at start.
    await prepareSources(parseUserMounts(hostConfig).filter((m) => !m.createSource));
    checkNetworkMode(hostConfig.NetworkMode);
    const warnings: string[] = [];
    if (Object.keys(hostConfig.PortBindings ?? {}).length || hostConfig.PublishAllPorts) {
      warnings.push('Published ports are not applied yet by this berth: the container has only a loopback interface.');
    }
    const runtimeName = hostConfig.Runtime || this.o.defaultRuntime;
    if (!this.o.runtimes.has(runtimeName)) throw new InvalidParameterError(`unknown or invalid runtime name: ${runtimeName}`);

    let name: string;
    if (requestedName) {
      if (!VALID_NAME.test(requestedName)) {
        throw new InvalidParameterError(`Invalid container name (${requestedName}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
      }
      name = requestedName.startsWith('/') ? requestedName : `/${requestedName}`;
    } else {
      let retry = 0;
      do name = `/${generateName(retry++)}`;
      while (this.names.has(name));
    }
    const taken = this.names.get(name);
    if (taken) {
      throw new ConflictError(`Conflict. The container name "${name}" is already in use by container "${taken}". You have to remove (or rename) that container to be able to reuse that name.`);
    }

    const image = await this.o.images.resolve(req.Image);
    // Re-check after the await: another create may have taken the name meanwhile.
    if (this.names.has(name)) {
      throw new ConflictError(`Conflict. The container name "${name}" is already in use by container "${this.names.get(name)}". You have to remove (or rename) that container to be able to reuse that name.`);
    }
    const id = randomBytes(32).toString('hex');
    this.names.set(name, id); // reserve while we work
    try {
      const config = mergeConfig(req, image, id);
      const [path, ...args] = [...(config.Entrypoint ?? []), ...(config.Cmd ?? [])];
      if (!path) throw new InvalidParameterError('no command specified');

      const dir = join(this.o.root, id);
      await mkdir(dir, { recursive: true });
      const prepared = this.o.snapshotter.prepare(id, image.chainIds[image.chainIds.length - 1], { 'berth.container': id });
      const record: ContainerRecord = {
        id,
        name,
        created: new Date().toISOString(),
        path,
        args,
        config,
        hostConfig: normalizeHostConfig(hostConfig),
        image: image.id,
        state: {
          status: 'created', pid: 0, exitCode: 0, error: '', startedAt: ZERO_TIME, finishedAt: ZERO_TIME, oomKilled: false,
        },
        restartCount: 0,
        runtime: runtimeName,
        logPath: join(dir, 'container.log'),
        hostnamePath: join(dir, 'hostname'),
        hostsPath: join(dir, 'hosts'),
        resolvConfPath: join(dir, 'resolv.conf'),
      };
      await Promise.all([prepared, this.writeEtcFiles(record)]);
      // The record lands last: until then, startup sweeps the half-made directory.
      await writeJsonAtomic(join(dir, 'container.json'), record);
      this.containers.set(id, new Live(record));
      this.o.events.emit('container', 'create', id, this.eventAttributes(record));
      return { id, warnings };
    } catch (err) {
      this.names.delete(name);
      await this.o.snapshotter.remove(id).catch(() => {});
      await rm(join(this.o.root, id), { recursive: true, force: true });
      throw err;
    }
  }

  private async writeEtcFiles(r: ContainerRecord): Promise<void> {
    if (r.hostConfig.NetworkMode === 'host') {
      // Like Docker: the host's hosts and resolv.conf as they are (its loopback resolvers work here).
      await Promise.all([
        writeFile(r.hostnamePath, `${r.config.Hostname}\n`),
        readFile('/etc/hosts', 'utf8').catch(() => '127.0.0.1\tlocalhost\n').then((t) => writeFile(r.hostsPath, t)),
        readFile('/etc/resolv.conf', 'utf8').catch(() => '').then((t) => writeFile(r.resolvConfPath, t)),
      ]);
      return;
    }
    const hostname = r.config.Hostname!;
    const writes = [writeFile(r.hostnamePath, `${hostname}\n`)];
    const hosts = [
      '127.0.0.1\tlocalhost',
      '::1\tlocalhost ip6-localhost ip6-loopback',
      'fe00::0\tip6-localnet',
      'ff00::0\tip6-mcastprefix',
      'ff02::1\tip6-allnodes',
      'ff02::2\tip6-allrouters',
      ...(r.hostConfig.ExtraHosts ?? []).map((h) => {
        const i = h.indexOf(':');
        return `${h.slice(i + 1)}\t${h.slice(0, i)}`;
      }),
    ];
    writes.push(writeFile(r.hostsPath, hosts.join('\n') + '\n'));
    writes.push(containerResolvConf(r.hostConfig).then((text) => writeFile(r.resolvConfPath, text)));
    await Promise.all(writes);
  }

  // ---- start -----------------------------------------------------------------

  start(ref: string): Promise<void> {
    const live = this.get(ref);
    return this.serialize(live, () => this.startLocked(live));
  }

  private async startLocked(live: Live): Promise<void> {
    const r = live.record;
    if (live.removed) throw new NotFoundError(`No such container: ${r.id}`);
    if (r.state.status === 'running' || r.state.status === 'paused') throw new NotModifiedError('container already started');
    // A start (the user's or the policy's) replaces a pending restart; the
    // status stays 'restarting' until the new run is up.
    clearTimeout(live.restartTimer);
    live.restartTimer = undefined;
    await live.teardown;
    const previousStatus = r.state.status;
    const runtime = this.o.runtimes.get(r.runtime)!;
    const bundle = this.bundleDir(r.id);
    const rootfs = join(bundle, 'rootfs');
    await mkdir(rootfs, { recursive: true });
    try {
      await mountAll(await this.o.snapshotter.mounts(r.id), rootfs);
      const userMounts = parseUserMounts(r.hostConfig);
      await prepareSources(userMounts);
      const user = await resolveUser(rootfs, r.config.User, r.hostConfig.GroupAdd ?? []);
      await ensureWorkdir(rootfs, r.config.WorkingDir, user.uid, user.gid);
      const spec = buildSpec({
        id: r.id,
        config: r.config,
        hostConfig: r.hostConfig,
        user,
        // --init: Docker runs tini as PID 1 so signals reach the command and zombies are reaped.
        args: r.hostConfig.Init ? [INIT_PATH_IN_CONTAINER, '--', r.path, ...r.args] : [r.path, ...r.args],
        env: mergeEnv(r.config.Env, r.config.Hostname ?? '', r.config.Tty === true, user.home),
        rootfs,
        etcFiles: { hosts: r.hostsPath, hostname: r.hostnamePath, resolvConf: r.resolvConfPath },
        cgroupParent: r.hostConfig.CgroupParent || this.o.cgroupParent,
        userMounts: [
          ...ociMounts(userMounts),
          ...(r.hostConfig.Init ? [{ destination: INIT_PATH_IN_CONTAINER, type: 'bind', source: this.initBinary(), options: ['rbind', 'ro', 'rprivate'] }] : []),
        ],
      });
      await writeFile(join(bundle, 'config.json'), JSON.stringify(spec));
      await unlink(join(this.exitDir, r.id)).catch(() => {});
      const { pid } = await launchConmon({
        id: r.id,
        name: r.name.slice(1),
        bundle,
        runtime,
        conmonPath: this.o.conmonPath,
        logPath: r.logPath,
        exitDir: this.exitDir,
        tty: r.config.Tty === true,
        openStdin: r.config.OpenStdin === true,
        leaveStdinOpen: r.config.OpenStdin === true && r.config.StdinOnce !== true,
      });
      // From here the process exists: an exit may be reported at any moment,
      // even before `start` returns, so the state says running first and
      // finishRun waits for this start to settle before it records the exit.
      r.state = {
        ...r.state,
        status: 'running', pid, exitCode: 0, error: '', startedAt: new Date().toISOString(), finishedAt: ZERO_TIME, oomKilled: false, stoppedByUser: false,
      };
      let settled!: () => void;
      live.starting = new Promise<void>((resolve) => (settled = resolve));
      try {
        // Attached clients follow the log from here; stdin goes through conmon's socket.
        const offset = await logSize(r.logPath);
        for (const a of live.attachments) this.beginAttachment(live, a, offset);
        await runtime.start(r.id);
        this.o.events.emit('container', 'start', r.id, this.eventAttributes(r));
      } catch (err) {
        r.state = { ...r.state, status: previousStatus, pid: 0 };
        throw err;
      } finally {
        settled();
      }
      await this.persist(live);
    } catch (err) {
      const message = errorMessage(err);
      await runtime.delete(r.id, true).catch(() => {});
      await this.teardownRun(r.id);
      r.state = { ...r.state, status: previousStatus === 'restarting' ? 'exited' : previousStatus, exitCode: startFailureExitCode(message), error: message };
      await this.persist(live);
      for (const a of live.attachments) a.done();
      live.attachments.clear();
      // Like dockerd: an auto-remove container that cannot start is removed
      // (queued behind this start; `docker run --rm` waits for it).
      if (r.hostConfig.AutoRemove) void this.remove(r.id, { force: true }).catch(() => {});
      if (/executable file not found|no such file or directory|permission denied|is a directory/i.test(message)) {
        throw new InvalidParameterError(message, { cause: err });
      }
      throw err instanceof SystemError ? err : new SystemError(message, { cause: err });
    }
  }

  // ---- exit handling ---------------------------------------------------------

  private async onExitFile(id: string): Promise<void> {
    const live = this.containers.get(id);
    if (!live) return;
    await live.starting;
    if (live.record.state.status !== 'running' && live.record.state.status !== 'paused') return;
    let code: number;
    try {
      code = Number((await readFile(join(this.exitDir, id), 'utf8')).trim());
    } catch {
      return; // the event raced the write; the rename event comes next
    }
    if (!Number.isFinite(code)) return;
    await this.finishRun(live, code < 0 ? 255 : code, '');
  }

  /** The container's process is gone: record it, release clients, tear down. */
  private async finishRun(live: Live, exitCode: number, error: string): Promise<void> {
    const r = live.record;
    await live.starting;
    if (r.state.status !== 'running' && r.state.status !== 'paused') return;
    r.state = { ...r.state, status: 'exited', pid: 0, exitCode, error, finishedAt: new Date().toISOString() };
    const autoRemove = r.hostConfig.AutoRemove === true;
    // An auto-removed container's record goes away next; persisting it first buys nothing.
    const persisted = autoRemove ? Promise.resolve() : this.persist(live);
    await Promise.all([...live.attachments].map((a) => this.endAttachment(live, a)));
    const attrs = this.eventAttributes(r);
    this.o.events.emit('container', 'die', r.id, { ...attrs, exitCode: String(exitCode) });
    this.resolveWaiters(live, ['not-running', 'next-exit']);
    live.teardown = this.teardownRun(r.id);
    await persisted;
    if (autoRemove) await this.remove(r.id, { force: true }).catch((err) => this.o.log('warn', `auto-remove ${r.id}: ${errorMessage(err)}`));
    else if (restartWanted(r, exitCode)) this.scheduleRestart(live);
  }

  /**
   * The restart policy's backoff, as dockerd does it: 100 ms doubling up to a
   * minute, back to 100 ms once a run lasted 10 seconds.
   */
  private scheduleRestart(live: Live): void {
    const r = live.record;
    const ranMs = Date.now() - Date.parse(r.state.startedAt);
    live.restartDelayMs = ranMs >= 10_000 || live.restartDelayMs === 0 ? 100 : Math.min(live.restartDelayMs * 2, 60_000);
    r.state = { ...r.state, status: 'restarting' };
    void this.persist(live);
    live.restartTimer = setTimeout(() => {
      live.restartTimer = undefined;
      void this.serialize(live, async () => {
        if (r.state.status !== 'restarting' || live.removed) return;
        r.restartCount++;
        await this.startLocked(live);
      }).catch((err) => this.o.log('warn', `restarting ${r.id.slice(0, 12)}: ${errorMessage(err)}`));
    }, live.restartDelayMs);
  }

  /** Cancels a scheduled restart; the container stays exited. */
  private cancelRestart(live: Live): boolean {
    if (live.record.state.status !== 'restarting') return false;
    clearTimeout(live.restartTimer);
    live.restartTimer = undefined;
    live.record.state = { ...live.record.state, status: 'exited' };
    return true;
  }

  /** At daemon start: containers whose policy says they should be up again. */
  private async restartPerPolicy(): Promise<void> {
    for (const live of this.containers.values()) {
      const r = live.record;
      const policy = r.hostConfig.RestartPolicy?.Name;
      if (r.state.status === 'restarting') r.state = { ...r.state, status: 'exited' };
      if (r.state.status !== 'exited') continue;
      if (policy === 'always' || (policy === 'unless-stopped' && !r.state.stoppedByUser)) {
        await this.start(r.id).catch((err) => this.o.log('warn', `restart policy of ${r.id.slice(0, 12)}: ${errorMessage(err)}`));
      }
    }
  }

  /** Releases what a run held: the runtime's state, the rootfs mount, the bundle. */
  private async teardownRun(id: string): Promise<void> {
    const live = this.containers.get(id);
    const runtime = this.o.runtimes.get(live?.record.runtime ?? this.o.defaultRuntime);
    const bundle = this.bundleDir(id);
    if (!existsSync(bundle)) return;
    await runtime?.delete(id, true).catch(() => {});
    await unmountIfMounted(join(bundle, 'rootfs'));
    await rm(bundle, { recursive: true, force: true });
    await unlink(join(this.exitDir, id)).catch(() => {});
  }

  private resolveWaiters(live: Live, conditions: WaitCondition[]): void {
    const r = live.record;
    for (const w of live.waiters) {
      if (!conditions.includes(w.condition)) continue;
      live.waiters.delete(w);
      // The exit status only: a failed start was already reported by start itself.
      w.resolve({ StatusCode: r.state.exitCode, Error: null });
    }
  }

  // ---- stop / kill / restart -------------------------------------------------

  async kill(ref: string, signal = 'SIGKILL'): Promise<void> {
    const live = this.get(ref);
    const r = live.record;
    if (r.state.status === 'restarting') {
      throw new ConflictError(`Cannot kill container: ${ref}: Container ${r.id} is restarting, wait until the container is running`);
    }
    if (r.state.status !== 'running' && r.state.status !== 'paused') {
      throw new ConflictError(`Cannot kill container: ${ref}: Container ${r.id} is not running`);
    }
    const sig = normalizeSignal(signal);
    // As Docker's ContainerKill: SIGKILL (the default) answers once the container is down, so an
    // inspect right after a kill sees it exited; any other signal is only delivered.
    const exited = sig === 'SIGKILL' ? this.waitForExit(live) : undefined;
    await this.o.runtimes.get(r.runtime)!.kill(r.id, sig).catch((err) => {
      if (r.state.status === 'running') throw err;
    });
    this.o.events.emit('container', 'kill', r.id, { ...this.eventAttributes(r), signal: String(signalNumber(sig)) });
    if (exited) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([exited, new Promise<void>((resolve) => (timer = setTimeout(resolve, KILL_WAIT_MS)))]);
      clearTimeout(timer);
    }
  }

  stop(ref: string, opts: { timeout?: number; signal?: string } = {}): Promise<void> {
    const live = this.get(ref);
    return this.serialize(live, async () => {
      const r = live.record;
      if (this.cancelRestart(live)) {
        r.state.stoppedByUser = true;
        await this.persist(live);
        this.o.events.emit('container', 'stop', r.id, this.eventAttributes(r));
        return;
      }
      if (r.state.status !== 'running' && r.state.status !== 'paused') throw new NotModifiedError('container already stopped');
      r.state.stoppedByUser = true;
      await this.stopRunning(live, opts);
      this.o.events.emit('container', 'stop', r.id, this.eventAttributes(r));
    });
  }

  private async stopRunning(live: Live, opts: { timeout?: number; signal?: string }): Promise<void> {
    const r = live.record;
    const runtime = this.o.runtimes.get(r.runtime)!;
    const exited = this.waitForExit(live);
    const timeout = opts.timeout ?? r.config.StopTimeout ?? STOP_DEFAULT_SECONDS;
    const signal = normalizeSignal(opts.signal || r.config.StopSignal || 'SIGTERM');
    if (r.state.status === 'paused') await runtime.resume(r.id).catch(() => {});
    if (timeout !== 0) {
      await runtime.kill(r.id, signal).catch(() => {});
      this.o.events.emit('container', 'kill', r.id, { ...this.eventAttributes(r), signal: String(signalNumber(signal)) });
      if (timeout < 0) return exited;
      if (await Promise.race([exited.then(() => true), delay(timeout * 1000).then(() => false)])) return;
    }
    await runtime.kill(r.id, 'SIGKILL', true).catch(() => {});
    this.o.events.emit('container', 'kill', r.id, { ...this.eventAttributes(r), signal: '9' });
    await exited;
  }

  private waitForExit(live: Live): Promise<void> {
    if (live.record.state.status !== 'running' && live.record.state.status !== 'paused') return Promise.resolve();
    return new Promise((resolve) => live.waiters.add({ condition: 'not-running', resolve: () => resolve() }));
  }

  restart(ref: string, opts: { timeout?: number; signal?: string } = {}): Promise<void> {
    const live = this.get(ref);
    return this.serialize(live, async () => {
      if (live.record.state.status === 'running' || live.record.state.status === 'paused') await this.stopRunning(live, opts);
      await this.startLocked(live);
      this.o.events.emit('container', 'restart', live.record.id, this.eventAttributes(live.record));
    });
  }

  // ---- remove / rename -------------------------------------------------------

  remove(ref: string, opts: { force?: boolean; volumes?: boolean } = {}): Promise<void> {
    const live = this.get(ref);
    return this.serialize(live, async () => {
      const r = live.record;
      if (live.removed) return;
      if (r.state.status === 'restarting') {
        if (!opts.force) {
          throw new ConflictError(`cannot remove container "${r.name}": container is restarting: stop the container before removing or force remove`);
        }
        this.cancelRestart(live);
      }
      if (r.state.status === 'running' || r.state.status === 'paused') {
        if (!opts.force) {
          throw new ConflictError(`cannot remove container "${r.name}": container is ${r.state.status}: stop the container before removing or force remove`);
        }
        await this.stopRunning(live, { timeout: 0 });
      }
      live.removed = true;
      await live.saving;
      // The record disappears atomically (rename), then the rest is swept.
      const dir = join(this.o.root, r.id);
      const trash = join(this.o.root, `.removing-${r.id}`);
      await rename(dir, trash);
      this.containers.delete(r.id);
      if (this.names.get(r.name) === r.id) this.names.delete(r.name);
      this.o.events.emit('container', 'destroy', r.id, this.eventAttributes(r));
      this.resolveWaiters(live, ['removed', 'not-running', 'next-exit']);
      await live.teardown;
      await this.teardownRun(r.id);
      await this.o.snapshotter.remove(r.id).catch((err) => this.o.log('warn', `removing snapshot of ${r.id}: ${errorMessage(err)}`));
      await rm(trash, { recursive: true, force: true });
    });
  }

  rename(ref: string, newName: string): Promise<void> {
    const live = this.get(ref);
    return this.serialize(live, async () => {
      if (!newName) throw new InvalidParameterError('Neither old nor new names may be empty');
      if (!VALID_NAME.test(newName)) throw new InvalidParameterError(`Invalid container name (${newName}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
      const r = live.record;
      const name = newName.startsWith('/') ? newName : `/${newName}`;
      if (name === r.name) throw new InvalidParameterError(`Renaming a container with the same name as its current name`);
      const taken = this.names.get(name);
      if (taken) throw new ConflictError(`Conflict. The container name "${name}" is already in use by container "${taken}". You have to remove (or rename) that container to be able to reuse that name.`);
      const oldName = r.name;
      this.names.set(name, r.id);
      this.names.delete(oldName);
      r.name = name;
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
    const live = this.get(ref);
    const r = live.record;
    const running = r.state.status === 'running' || r.state.status === 'paused';
    if (condition === 'not-running' && !running) {
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

  async logs(ref: string, opts: LogsOptions, onEntry: (e: LogEntry) => void | Promise<void>, signal: AbortSignal): Promise<void> {
    const live = this.get(ref);
    const r = live.record;
    const wanted = (s: StdStream) => (s === 'stdout' ? opts.stdout : opts.stderr);
    const offset = await readLog(r.logPath, { tail: opts.tail, sinceNs: opts.sinceNs, untilNs: opts.untilNs }, (e) => (wanted(e.stream) ? onEntry(e) : undefined));
    const running = r.state.status === 'running' || r.state.status === 'paused';
    if (!opts.follow || !running || signal.aborted) return;
    if (opts.untilNs !== undefined && opts.untilNs <= BigInt(Date.now()) * 1_000_000n) return;
    await new Promise<void>((resolve) => {
      const attachment: Attachment = {
        onOutput: (e) => (wanted(e.stream) && (opts.sinceNs === undefined || e.timeNs >= opts.sinceNs) ? onEntry(e) : undefined),
        done: () => {
          live.attachments.delete(attachment);
          attachment.follower?.stop();
          resolve();
        },
      };
      live.attachments.add(attachment);
      signal.addEventListener('abort', () => attachment.done(), { once: true });
      this.beginAttachment(live, attachment, offset);
    });
  }

  /**
   * Streams the container's output to `onOutput` and feeds `stdin` to it, for
   * the current run or, when not running, the next one (docker run attaches
   * before it starts). The attachment is registered before this returns, so a
   * start that follows cannot miss it; `run()` resolves when that run ends or
   * the client goes away.
   */
  attach(ref: string, opts: AttachOptions, onOutput: (e: LogEntry) => void | Promise<void>, signal: AbortSignal): AttachSession {
    const live = this.get(ref);
    const r = live.record;
    const wanted = (s: StdStream) => (s === 'stdout' ? opts.stdout : opts.stderr);
    let finished!: () => void;
    const done = new Promise<void>((resolve) => (finished = resolve));
    const attachment: Attachment | undefined = opts.stream
      ? {
          onOutput: (e) => (wanted(e.stream) ? onOutput(e) : undefined),
          stdin: r.config.OpenStdin ? opts.stdin : undefined,
          done: () => {
            live.attachments.delete(attachment!);
            attachment!.follower?.stop();
            attachment!.stdinSink?.destroy();
            finished();
          },
        }
      : undefined;
    if (attachment) {
      live.attachments.add(attachment);
      signal.addEventListener('abort', () => attachment.done(), { once: true });
    }
    const run = async () => {
      let offset: number | undefined;
      if (opts.logs) offset = await readLog(r.logPath, {}, (e) => (wanted(e.stream) ? onOutput(e) : undefined));
      if (!attachment) return;
      const running = r.state.status === 'running' || r.state.status === 'paused';
      if (running && !attachment.follower && live.attachments.has(attachment)) {
        this.beginAttachment(live, attachment, offset ?? (await logSize(r.logPath)));
      }
      await done;
    };
    return {
      run,
      setStdin: (stdin) => {
        if (attachment && r.config.OpenStdin) attachment.stdin = stdin;
      },
    };
  }

  private beginAttachment(live: Live, a: Attachment, offset: number): void {
    a.follower = new LogFollower(live.record.logPath, offset, (e) => a.onOutput(e));
    void a.follower.start();
    if (a.stdin) this.pipeStdin(live, a);
  }

  private async endAttachment(live: Live, a: Attachment): Promise<void> {
    await a.follower?.drain();
    live.attachments.delete(a);
    a.done();
  }

  /** Forwards a client's stdin to the container through conmon's attach socket. */
  private pipeStdin(live: Live, a: Attachment): void {
    const stdin = a.stdin!;
    let sink: StdinSink;
    try {
      sink = connectStdin(this.bundleDir(live.record.id), this.o.socatPath);
    } catch (err) {
      this.o.log('warn', `attaching stdin of ${live.record.id.slice(0, 12)}: ${errorMessage(err)}`);
      return;
    }
    a.stdinSink = sink;
    let ended = false;
    const onEnd = () => {
      if (ended) return;
      ended = true;
      sink.end();
    };
    stdin.on('data', (chunk: Buffer) => sink.write(chunk));
    stdin.once('end', onEnd);
    stdin.once('close', onEnd);
    // The API may hand over a paused stream (after reading a request body off it).
    stdin.resume();
  }

  async resize(ref: string, height: number, width: number): Promise<void> {
    const live = this.get(ref);
    if (live.record.state.status !== 'running') {
      throw new ConflictError(`cannot resize a stopped container: ${live.record.id.slice(0, 12)}`);
    }
    await resizeTty(this.bundleDir(live.record.id), height, width);
  }

  // ---- inspect and list ------------------------------------------------------

  async inspect(ref: string, withSize = false): Promise<ContainerInspect> {
    const r = this.get(ref).record;
    const s = r.state;
    const out: ContainerInspect = {
      Id: r.id,
      Created: r.created,
      Path: r.path,
      Args: r.args,
      State: {
        Status: s.status,
        Running: s.status === 'running' || s.status === 'paused',
        Paused: s.status === 'paused',
        Restarting: s.status === 'restarting',
        OOMKilled: s.oomKilled,
        Dead: s.status === 'dead',
        Pid: s.pid,
        ExitCode: s.exitCode,
        Error: s.error,
        StartedAt: s.startedAt,
        FinishedAt: s.finishedAt,
        ...(s.health ? { Health: s.health } : {}),
      },
      Image: r.image,
      ResolvConfPath: r.resolvConfPath,
      HostnamePath: r.hostnamePath,
      HostsPath: r.hostsPath,
      LogPath: r.logPath,
      Name: r.name,
      RestartCount: r.restartCount,
      Driver: this.o.snapshotter.name,
      Platform: 'linux',
      MountLabel: '',
      ProcessLabel: '',
      AppArmorProfile: '',
      ExecIDs: null,
      HostConfig: r.hostConfig,
      GraphDriver: { Name: this.o.snapshotter.name, Data: null },
      Mounts: mountPoints(parseUserMounts(r.hostConfig)),
      Config: r.config,
      NetworkSettings: {
        Bridge: '', SandboxID: '', SandboxKey: '', Ports: {}, EndpointID: '', Gateway: '', GlobalIPv6Address: '',
        GlobalIPv6PrefixLen: 0, IPAddress: '', IPPrefixLen: 0, IPv6Gateway: '', MacAddress: '',
        Networks: {},
      },
    };
    if (withSize) {
      const sizes = await this.sizes(r);
      out.SizeRw = sizes.rw;
      out.SizeRootFs = sizes.rootFs;
    }
    return out;
  }

  private async sizes(r: ContainerRecord): Promise<{ rw: number; rootFs: number }> {
    const rw = (await this.o.snapshotter.usage(r.id).catch(() => ({ size: 0 }))).size;
    const image = await this.o.images.get(r.image);
    return { rw, rootFs: rw + (image?.size ?? 0) };
  }

  async list(opts: ListOptions = {}): Promise<ContainerSummary[]> {
    const filters = opts.filters ?? {};
    let records = [...this.containers.values()].map((l) => l.record);
    records.sort((a, b) => (a.created < b.created ? 1 : a.created > b.created ? -1 : 0));
    const hasStatusFilter = (filters.status?.length ?? 0) > 0 || (filters.exited?.length ?? 0) > 0;
    if (!opts.all && !(opts.limit && opts.limit > 0) && !hasStatusFilter) {
      records = records.filter((r) => r.state.status === 'running' || r.state.status === 'paused');
    }
    records = await this.applyFilters(records, filters);
    if (opts.limit && opts.limit > 0) records = records.slice(0, opts.limit);
    const out: ContainerSummary[] = [];
    for (const r of records) {
      const image = await this.o.images.get(r.image);
      const summary: ContainerSummary = {
        Id: r.id,
        Names: [r.name],
        Image: r.config.Image ?? r.image,
        ImageID: r.image,
        Command: commandText(r.path, r.args),
        Created: Math.floor(Date.parse(r.created) / 1000),
        Ports: [],
        Labels: r.config.Labels ?? {},
        State: r.state.status,
        Status: statusText(r.state),
        HostConfig: { NetworkMode: r.hostConfig.NetworkMode ?? 'none' },
        NetworkSettings: { Networks: {} },
        Mounts: mountPoints(parseUserMounts(r.hostConfig)),
      };
      if (!image && summary.Image === r.image) summary.Image = r.image;
      if (opts.size) {
        const sizes = await this.sizes(r);
        summary.SizeRw = sizes.rw;
        summary.SizeRootFs = sizes.rootFs;
      }
      out.push(summary);
    }
    return out;
  }

  private async applyFilters(records: ContainerRecord[], filters: Record<string, string[]>): Promise<ContainerRecord[]> {
    const known = new Set(['id', 'name', 'status', 'label', 'ancestor', 'exited', 'before', 'since', 'volume', 'network', 'health', 'is-task', 'publish', 'expose']);
    for (const key of Object.keys(filters)) {
      if (!known.has(key)) throw new InvalidParameterError(`invalid filter '${key}'`);
    }
    const validStatus = ['created', 'restarting', 'running', 'removing', 'paused', 'exited', 'dead'];
    for (const s of filters.status ?? []) {
      if (!validStatus.includes(s)) throw new InvalidParameterError(`invalid filter 'status=${s}'`);
    }
    const ancestorIds = new Set<string>();
    for (const a of filters.ancestor ?? []) {
      try {
        ancestorIds.add((await this.o.images.resolve(a)).id);
      } catch {
        /* an unknown ancestor simply matches nothing */
      }
    }
    const createdOf = (ref: string) => {
      try {
        return this.get(ref).record.created;
      } catch {
        throw new InvalidParameterError(`No such container: ${ref}`);
      }
    };
    const before = filters.before?.[0] ? createdOf(filters.before[0]) : undefined;
    const since = filters.since?.[0] ? createdOf(filters.since[0]) : undefined;
    return records.filter((r) => {
      const any = (key: string, pred: (v: string) => boolean) => !filters[key]?.length || filters[key]!.some(pred);
      return (
        any('id', (v) => r.id.startsWith(v)) &&
        any('name', (v) => new RegExp(v).test(r.name.slice(1)) || r.name === v) &&
        any('status', (v) => r.state.status === v) &&
        any('exited', (v) => r.state.status === 'exited' && r.state.exitCode === Number(v)) &&
        (!filters.label?.length || filters.label.every((v) => labelMatches(r.config.Labels ?? {}, v))) &&
        any('ancestor', (v) => ancestorIds.has(r.image) || r.config.Image === v) &&
        (before === undefined || r.created < before) &&
        (since === undefined || r.created > since) &&
        any('health', (v) => (r.state.health?.Status ?? 'none') === v) &&
        any('is-task', (v) => v === 'false') &&
        any('volume', () => false) &&
        any('network', () => false) &&
        any('publish', () => false) &&
        any('expose', () => false)
      );
    });
  }

  // ---- helpers ---------------------------------------------------------------

  /** The static tini that --init puts at /sbin/docker-init. */
  private initBinary(): string {
    if (!this.o.initPath) throw new InvalidParameterError('--init needs tini: install the tini package (its static binary is mounted as the container\'s init)');
    return this.o.initPath;
  }

  private bundleDir(id: string): string {
    return join(this.o.execRoot, 'bundles', id);
  }

  /** Queues a write of the record; writes never overlap and never fail the caller. */
  private persist(live: Live): Promise<void> {
    const r = live.record;
    const snapshot = JSON.parse(JSON.stringify(r)) as ContainerRecord;
    live.saving = live.saving.then(async () => {
      if (live.removed) return;
      await writeJsonAtomic(join(this.o.root, r.id, 'container.json'), snapshot).catch((err) => {
        this.o.log('error', `persisting container ${r.id}: ${errorMessage(err)}`);
      });
    });
    return live.saving;
  }

  private eventAttributes(r: ContainerRecord): Record<string, string> {
    return { ...(r.config.Labels ?? {}), image: r.config.Image ?? r.image, name: r.name.slice(1) };
  }

  private serialize<T>(live: Live, fn: () => Promise<T>): Promise<T> {
    const run = live.lock.then(fn, fn);
    live.lock = run.catch(() => {});
    return run;
  }
}

// ---- pure helpers ------------------------------------------------------------

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Merges the request with the image's config the way dockerd does: Cmd comes
 * from the image only when the request gives neither Entrypoint nor Cmd;
 * Entrypoint from the image only when the request leaves it unset (null);
 * `--entrypoint ""` ([""]) clears it.
 */
export function mergeConfig(req: ContainerCreateRequest, image: ImageRecord, id: string): ContainerConfig {
  const img = image.config.config ?? {};
  const { HostConfig: _h, NetworkingConfig: _n, Platform: _p, ...user } = req;
  const config: ContainerConfig = { ...user };
  const userEntrypoint = user.Entrypoint ?? null;
  if (!userEntrypoint || userEntrypoint.length === 0) {
    if (!user.Cmd || user.Cmd.length === 0) config.Cmd = img.Cmd ?? null;
    if (user.Entrypoint === undefined || user.Entrypoint === null) config.Entrypoint = img.Entrypoint ?? null;
  }
  if (config.Entrypoint && config.Entrypoint.length === 1 && config.Entrypoint[0] === '') config.Entrypoint = null;
  const env = new Map<string, string>();
  for (const e of [...(img.Env ?? []), ...(user.Env ?? [])]) {
    const eq = e.indexOf('=');
    env.set(eq < 0 ? e : e.slice(0, eq), e);
  }
  config.Env = [...env.values()];
  config.WorkingDir = user.WorkingDir || img.WorkingDir || '';
  config.User = user.User || img.User || '';
  config.Labels = { ...(img.Labels ?? {}), ...(user.Labels ?? {}) };
  config.ExposedPorts = { ...(img.ExposedPorts ?? {}), ...(user.ExposedPorts ?? {}) };
  if (Object.keys(config.ExposedPorts).length === 0) delete config.ExposedPorts;
  config.Volumes = { ...(img.Volumes ?? {}), ...(user.Volumes ?? {}) };
  if (Object.keys(config.Volumes).length === 0) config.Volumes = null;
  if (!config.StopSignal && img.StopSignal) config.StopSignal = img.StopSignal;
  if (!config.Healthcheck && img.Healthcheck) config.Healthcheck = img.Healthcheck;
  if (!config.OnBuild) config.OnBuild = null;
  config.Hostname = user.Hostname || (req.HostConfig?.NetworkMode === 'host' ? hostname() : id.slice(0, 12));
  config.Domainname = user.Domainname ?? '';
  config.AttachStdin = user.AttachStdin ?? false;
  config.AttachStdout = user.AttachStdout ?? false;
  config.AttachStderr = user.AttachStderr ?? false;
  config.Tty = user.Tty ?? false;
  config.OpenStdin = user.OpenStdin ?? false;
  config.StdinOnce = user.StdinOnce ?? false;
  config.Image = req.Image;
  return config;
}

/**
 * The network modes this berth has: its own namespace with loopback (the
 * default, "bridge" and "none" until bridges exist) or the host's. Anything
 * else is refused the way dockerd refuses an unknown network.
 */
function checkNetworkMode(mode: string | undefined): void {
  if (!mode || ['default', 'bridge', 'none', 'host'].includes(mode)) return;
  if (mode.startsWith('container:')) throw new InvalidParameterError(`network mode ${mode} is not supported by this berth yet`);
  // 400, not dockerd's 404: the docker CLI reads a 404 from create as a missing image and tries a pull.
  throw new InvalidParameterError(`network ${mode} not found`);
}

/** Whether the restart policy brings the container back after this exit. */
function restartWanted(r: ContainerRecord, exitCode: number): boolean {
  if (r.state.stoppedByUser) return false;
  const policy = r.hostConfig.RestartPolicy;
  switch (policy?.Name) {
    case 'always':
    case 'unless-stopped':
      return true;
    case 'on-failure':
      return exitCode !== 0 && (!policy.MaximumRetryCount || r.restartCount < policy.MaximumRetryCount);
    default:
      return false;
  }
}

function validateHostConfig(h: HostConfig): void {
  const policy = h.RestartPolicy?.Name ?? '';
  if (!['', 'no', 'always', 'unless-stopped', 'on-failure'].includes(policy)) {
    throw new InvalidParameterError(`invalid restart policy: unknown policy '${policy}'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'`);
  }
  if (h.AutoRemove && policy && policy !== 'no') {
    throw new InvalidParameterError(`can't create 'AutoRemove' container with restart policy`);
  }
  if ((h.RestartPolicy?.MaximumRetryCount ?? 0) !== 0 && policy !== 'on-failure') {
    throw new InvalidParameterError(`invalid restart policy: maximum retry count can only be used with 'on-failure'`);
  }
}

function normalizeHostConfig(h: HostConfig): HostConfig {
  return {
    ...h,
    NetworkMode: h.NetworkMode || 'none',
    RestartPolicy: { Name: h.RestartPolicy?.Name || 'no', MaximumRetryCount: h.RestartPolicy?.MaximumRetryCount ?? 0 },
    AutoRemove: h.AutoRemove ?? false,
    LogConfig: h.LogConfig?.Type ? h.LogConfig : { Type: 'k8s-file', Config: {} },
    Privileged: h.Privileged ?? false,
    ReadonlyRootfs: h.ReadonlyRootfs ?? false,
  };
}

/** The host's resolv.conf without loopback resolvers, which cannot work from the container's netns. */
async function containerResolvConf(h: HostConfig): Promise<string> {
  let host = '';
  try {
    host = await readFile('/etc/resolv.conf', 'utf8');
  } catch {
    /* no resolv.conf on the host */
  }
  let lines = host.split('\n').filter((l) => !/^\s*nameserver\s+(127\.|::1\b)/.test(l));
  if (h.Dns?.length) lines = lines.filter((l) => !/^\s*nameserver\s/.test(l)).concat(h.Dns.map((d) => `nameserver ${d}`));
  if (h.DnsSearch?.length) lines = lines.filter((l) => !/^\s*(search|domain)\s/.test(l)).concat(`search ${h.DnsSearch.join(' ')}`);
  if (h.DnsOptions?.length) lines = lines.filter((l) => !/^\s*options\s/.test(l)).concat(`options ${h.DnsOptions.join(' ')}`);
  return lines.filter((l) => l.trim() !== '').join('\n') + '\n';
}

/** Creates the working directory inside the rootfs without following links out of it. */
async function ensureWorkdir(rootfs: string, workdir: string | undefined, uid: number, gid: number): Promise<void> {
  if (!workdir || workdir === '/') return;
  const parts = posix.normalize(`/${workdir}`).split('/').filter(Boolean);
  let current = rootfs;
  const { lstat, readlink, chown } = await import('node:fs/promises');
  for (const part of parts) {
    const next = join(current, part);
    let info;
    try {
      info = await lstat(next);
    } catch {
      await mkdir(next, { mode: 0o755 });
      await chown(next, uid, gid).catch(() => {});
      current = next;
      continue;
    }
    if (info.isSymbolicLink()) {
      const target = await readlink(next);
      // Resolve the link as the container would see it, inside the rootfs.
      const inside = posix.isAbsolute(target) ? target : posix.join(current.slice(rootfs.length) || '/', target);
      await ensureWorkdir(rootfs, inside, uid, gid);
      current = join(rootfs, posix.normalize(inside));
      continue;
    }
    if (!info.isDirectory()) throw new InvalidParameterError(`cannot use ${workdir} as working directory: ${part} is not a directory`);
    current = next;
  }
}

function startFailureExitCode(message: string): number {
  if (/executable file not found|no such file or directory/i.test(message)) return 127;
  if (/permission denied|is a directory/i.test(message)) return 126;
  return 128;
}

const SIGNALS: Record<string, number> = {
  SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGILL: 4, SIGTRAP: 5, SIGABRT: 6, SIGBUS: 7, SIGFPE: 8, SIGKILL: 9, SIGUSR1: 10,
  SIGSEGV: 11, SIGUSR2: 12, SIGPIPE: 13, SIGALRM: 14, SIGTERM: 15, SIGSTKFLT: 16, SIGCHLD: 17, SIGCONT: 18, SIGSTOP: 19,
  SIGTSTP: 20, SIGTTIN: 21, SIGTTOU: 22, SIGURG: 23, SIGXCPU: 24, SIGXFSZ: 25, SIGVTALRM: 26, SIGPROF: 27, SIGWINCH: 28,
  SIGIO: 29, SIGPWR: 30, SIGSYS: 31,
};

/** "TERM", "sigterm", "15" → "SIGTERM"; unknown → InvalidParameterError like Docker. */
export function normalizeSignal(sig: string): string {
  const s = sig.trim().toUpperCase();
  if (/^\d+$/.test(s)) {
    const n = Number(s);
    const name = Object.keys(SIGNALS).find((k) => SIGNALS[k] === n);
    if (name) return name;
    if (n >= 34 && n <= 64) return String(n);
    throw new InvalidParameterError(`Invalid signal: ${sig}`);
  }
  const name = s.startsWith('SIG') ? s : `SIG${s}`;
  if (SIGNALS[name] !== undefined) return name;
  if (/^SIGRTMIN(\+\d+)?$|^SIGRTMAX(-\d+)?$/.test(name)) return name;
  throw new InvalidParameterError(`Invalid signal: ${sig}`);
}

function signalNumber(sig: string): number {
  return SIGNALS[sig] ?? Number(sig);
}

function labelMatches(labels: Record<string, string>, filter: string): boolean {
  const eq = filter.indexOf('=');
  if (eq < 0) return filter in labels;
  return labels[filter.slice(0, eq)] === filter.slice(eq + 1);
}

/** Docker's list shows arguments with spaces in single quotes. */
function commandText(path: string, args: string[]): string {
  return [path, ...args.map((a) => (a.includes(' ') ? `'${a}'` : a))].join(' ');
}

/** Docker's Status column: "Up 3 minutes", "Exited (0) 5 seconds ago", "Created". */
export function statusText(s: StoredState, now = Date.now()): string {
  switch (s.status) {
    case 'running':
      return `Up ${humanDuration(now - Date.parse(s.startedAt))}${s.health && s.health.Status !== 'none' ? ` (${s.health.Status === 'starting' ? 'health: starting' : s.health.Status})` : ''}`;
    case 'paused':
      return `Up ${humanDuration(now - Date.parse(s.startedAt))} (Paused)`;
    case 'restarting':
      return `Restarting (${s.exitCode}) ${humanDuration(now - Date.parse(s.finishedAt))} ago`;
    case 'exited':
      return s.finishedAt === ZERO_TIME ? `Exited (${s.exitCode})` : `Exited (${s.exitCode}) ${humanDuration(now - Date.parse(s.finishedAt))} ago`;
    case 'removing':
      return 'Removal In Progress';
    case 'dead':
      return 'Dead';
    default:
      return 'Created';
  }
}
