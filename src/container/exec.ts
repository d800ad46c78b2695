import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { ConflictError, InvalidParameterError, NotFoundError, errorMessage } from '../errors/index.js';
import type { EventBus } from '../events/index.js';
import type { ExecProcess, StdinSink, TaskService } from '../runtime/index.js';
import type { ExecCreateRequest, ExecInspect, ExecStartRequest } from '../types/exec.js';
import type { Live } from './lifecycle.js';
import { LogFollower, readLog, type LogEntry } from './logs.js';
import { LogFiles } from './log-files.js';
import type { Clock } from '../util/clock.js';
import { mergeEnv } from './spec.js';
import { resolveUser } from './user.js';

// Exec sessions (docker exec): a process started in a running container's
// task. Like dockerd, sessions live in memory only; a session is kept for
// inspect after its process ended, until its container is removed.

/** Capability names by number, for `exec --privileged`. */
const CAPABILITY_NAMES = [
  'CHOWN', 'DAC_OVERRIDE', 'DAC_READ_SEARCH', 'FOWNER', 'FSETID', 'KILL', 'SETGID', 'SETUID', 'SETPCAP', 'LINUX_IMMUTABLE',
  'NET_BIND_SERVICE', 'NET_BROADCAST', 'NET_ADMIN', 'NET_RAW', 'IPC_LOCK', 'IPC_OWNER', 'SYS_MODULE', 'SYS_RAWIO', 'SYS_CHROOT',
  'SYS_PTRACE', 'SYS_PACCT', 'SYS_ADMIN', 'SYS_BOOT', 'SYS_NICE', 'SYS_RESOURCE', 'SYS_TIME', 'SYS_TTY_CONFIG', 'MKNOD', 'LEASE',
  'AUDIT_WRITE', 'AUDIT_CONTROL', 'SETFCAP', 'MAC_OVERRIDE', 'MAC_ADMIN', 'SYSLOG', 'WAKE_ALARM', 'BLOCK_SUSPEND', 'AUDIT_READ',
  'PERFMON', 'BPF', 'CHECKPOINT_RESTORE',
];

/** The capabilities berthd's own bounding set holds: what a privileged process can get here (as dockerd does). */
function allCapabilities(): string[] {
  let bounding = (1n << BigInt(CAPABILITY_NAMES.length)) - 1n;
  try {
    const m = /^CapBnd:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m) bounding = BigInt(`0x${m[1]}`);
  } catch {
    /* keep the full list */
  }
  return CAPABILITY_NAMES.filter((_c, i) => (bounding >> BigInt(i)) & 1n).map((c) => `CAP_${c}`);
}

interface ExecConfig {
  cmd: string[];
  tty: boolean;
  attachStdin: boolean;
  attachStdout: boolean;
  attachStderr: boolean;
  detachKeys: string;
  env: string[];
  user: string;
  workingDir: string;
  privileged: boolean;
  consoleSize?: [number, number];
}

class ExecSession {
  running = false;
  started = false;
  exitCode: number | null = null;
  pid = 0;
  process: ExecProcess | undefined;
  /** Settles once the process ended and was recorded. */
  ended: Promise<void> = Promise.resolve();
  constructor(
    readonly id: string,
    readonly live: Live,
    readonly config: ExecConfig,
  ) {}
}

/** What the API layer drives once it has hijacked (or not) the connection. */
export interface ExecStart {
  readonly tty: boolean;
  /** Whether the client's stdin goes to the process. */
  readonly stdin: boolean;
  /**
   * Starts the process. Attached (`onOutput` given): streams its output and
   * feeds `stdin` until it ended; a start failure is written to the stream as
   * dockerd does. Detached: resolves once it runs, or rejects.
   */
  run(onOutput?: (e: LogEntry) => void | Promise<void>, stdin?: Readable, signal?: AbortSignal): Promise<void>;
}

export class ExecManager {
  private readonly execs = new Map<string, ExecSession>();

  constructor(
    private readonly tasks: TaskService,
    private readonly events: EventBus,
    private readonly attributes: (live: Live) => Record<string, string>,
    private readonly log: (level: 'warn', msg: string) => void,
  ) {}

  create(live: Live, req: ExecCreateRequest): string {
    const r = live.record;
    checkExecState(live);
    const cmd = req.Cmd ?? [];
    if (cmd.length === 0) throw new InvalidParameterError('No exec command specified');
    const id = randomBytes(32).toString('hex');
    const config: ExecConfig = {
      cmd,
      tty: req.Tty === true,
      attachStdin: req.AttachStdin === true,
      attachStdout: req.AttachStdout === true,
      attachStderr: req.AttachStderr === true,
      detachKeys: req.DetachKeys ?? '',
      env: req.Env ?? [],
      user: req.User ?? '',
      workingDir: req.WorkingDir ?? '',
      privileged: req.Privileged === true,
      consoleSize: req.ConsoleSize && req.ConsoleSize[0] > 0 && req.ConsoleSize[1] > 0 ? req.ConsoleSize : undefined,
    };
    this.execs.set(id, new ExecSession(id, live, config));
    this.events.emit('container', `exec_create: ${cmd.join(' ')}`, r.id, { ...this.attributes(live), execID: id });
    return id;
  }

  private session(id: string): ExecSession {
    const s = this.execs.get(id);
    if (!s || s.live.removed) throw new NotFoundError(`No such exec instance: ${id}`);
    return s;
  }

  /** Checks and claims the session for a start; errors here come before any hijack. */
  start(id: string, req: ExecStartRequest): ExecStart {
    const s = this.session(id);
    if (s.exitCode !== null) throw new ConflictError(`Error: Exec command ${id} has already run`);
    if (s.started) throw new ConflictError(`Error: Exec command ${id} is already running`);
    checkExecState(s.live);
    s.started = true;
    if (req.ConsoleSize && req.ConsoleSize[0] > 0 && req.ConsoleSize[1] > 0) s.config.consoleSize = req.ConsoleSize;
    const detach = req.Detach === true;
    return {
      tty: s.config.tty,
      stdin: s.config.attachStdin && !detach,
      run: (onOutput, stdin, signal) => (detach || !onOutput ? this.launch(s, false).then(() => undefined) : this.stream(s, onOutput, stdin, signal)),
    };
  }

  inspect(id: string): ExecInspect {
    const s = this.session(id);
    return {
      CanRemove: false,
      DetachKeys: s.config.detachKeys,
      ID: s.id,
      Running: s.running,
      ExitCode: s.exitCode,
      ProcessConfig: {
        privileged: s.config.privileged,
        user: s.config.user,
        tty: s.config.tty,
        entrypoint: s.config.cmd[0]!,
        arguments: s.config.cmd.slice(1),
      },
      OpenStdin: s.config.attachStdin,
      OpenStderr: s.config.attachStderr,
      OpenStdout: s.config.attachStdout,
      ContainerID: s.live.record.id,
      Pid: s.pid,
    };
  }

  async resize(id: string, height: number, width: number): Promise<void> {
    const s = this.session(id);
    if (!s.running || !s.process) throw new ConflictError(`Exec ${id} is not running`);
    if (!s.config.tty) return;
    await s.process.resize(height, width);
  }

  /** IDs of the container's running execs (inspect's ExecIDs). */
  runningIds(containerId: string): string[] {
    return [...this.execs.values()].filter((s) => s.live.record.id === containerId && s.running).map((s) => s.id);
  }

  /** The container is gone: so are its sessions. */
  forget(containerId: string): void {
    for (const [id, s] of this.execs) if (s.live.record.id === containerId) this.execs.delete(id);
  }

  /**
   * Runs a command for a health check: not listed among the container's
   * execs, output captured (dockerd keeps 4 KiB of it), killed after
   * `timeoutMs` with exit code -1 as dockerd reports a timeout.
   */
  async probe(live: Live, cmd: string[], timeoutMs: number, clock: Clock): Promise<{ exitCode: number; output: string }> {
    const s = new ExecSession(randomBytes(32).toString('hex'), live, {
      cmd, tty: false, attachStdin: false, attachStdout: true, attachStderr: true, detachKeys: '', env: [], user: '', workingDir: '', privileged: false,
    });
    let proc: ExecProcess;
    try {
      proc = await this.tasks.exec(live.record.id, { execId: s.id, process: await this.processSpec(s), tty: false, openStdin: false });
    } catch (err) {
      return { exitCode: -1, output: errorMessage(err) };
    }
    let timer: unknown;
    const timedOut = new Promise<'timeout'>((resolve) => (timer = clock.setTimeout(() => resolve('timeout'), timeoutMs)));
    const result = await Promise.race([proc.exited, timedOut]);
    clock.clearTimeout(timer);
    try {
      if (result === 'timeout') {
        try {
          process.kill(proc.pid, 'SIGKILL');
        } catch {
          /* already gone */
        }
        return { exitCode: -1, output: `Health check exceeded timeout (${timeoutMs / 1000}s)` };
      }
      const chunks: Buffer[] = [];
      const position = await readLog(await new LogFiles(proc.logPath, 1).openChain(), {}, (e) => void chunks.push(e.data));
      await position?.file.fh.close();
      return { exitCode: result, output: Buffer.concat(chunks).subarray(0, 4096).toString('utf8') };
    } finally {
      void proc.exited.then(() => proc.cleanup()).catch(() => {});
    }
  }

  /** Starts the process and the bookkeeping of its end. */
  private async launch(s: ExecSession, attached: boolean): Promise<ExecProcess> {
    const r = s.live.record;
    let proc: ExecProcess;
    try {
      proc = await this.tasks.exec(r.id, { execId: s.id, process: await this.processSpec(s), tty: s.config.tty, openStdin: s.config.attachStdin });
    } catch (err) {
      s.exitCode = startFailureExitCode(errorMessage(err));
      throw err;
    }
    s.process = proc;
    s.pid = proc.pid;
    s.running = true;
    this.events.emit('container', `exec_start: ${s.config.cmd.join(' ')}`, r.id, { ...this.attributes(s.live), execID: s.id });
    s.ended = proc.exited.then((code) => {
      s.exitCode = code;
      s.running = false;
      s.pid = 0;
      this.events.emit('container', 'exec_die', r.id, { ...this.attributes(s.live), execID: s.id, exitCode: String(code) });
    });
    // The files go once the process ended and its output was read (by stream(), when attached).
    if (!attached) void s.ended.then(() => proc.cleanup()).catch(() => {});
    return proc;
  }

  private async stream(s: ExecSession, onOutput: (e: LogEntry) => void | Promise<void>, stdin: Readable | undefined, signal?: AbortSignal): Promise<void> {
    let proc: ExecProcess;
    try {
      proc = await this.launch(s, true);
    } catch (err) {
      // dockerd writes the failure into the hijacked stream; the client reads the exit code from inspect.
      await onOutput({ stream: 'stdout', timeNs: 0n, data: Buffer.from(`${errorMessage(err)}\r\n`) });
      return;
    }
    const wanted = (e: LogEntry) => (e.stream === 'stdout' ? s.config.attachStdout : s.config.attachStderr);
    const files = new LogFiles(proc.logPath, 1);
    await files.track();
    const follower = new LogFollower(files, undefined, (e) => (wanted(e) ? onOutput(e) : undefined));
    let sink: StdinSink | undefined;
    if (stdin && s.config.attachStdin) {
      try {
        sink = proc.openStdin();
        const target = sink;
        let ended = false;
        const onEnd = () => {
          if (ended) return;
          ended = true;
          target.end();
        };
        stdin.on('data', (chunk: Buffer) => target.write(chunk));
        stdin.once('end', onEnd);
        stdin.once('close', onEnd);
        stdin.resume();
      } catch (err) {
        this.log('warn', `exec ${s.id.slice(0, 12)}: stdin: ${errorMessage(err)}`);
      }
    }
    follower.start();
    const aborted = new Promise<void>((resolve) => {
      if (signal?.aborted) resolve();
      signal?.addEventListener('abort', () => resolve(), { once: true });
    });
    await Promise.race([s.ended, aborted]);
    if (signal?.aborted) follower.stop();
    else {
      await files.untrack();
      await follower.drain();
    }
    files.close();
    sink?.destroy();
    void s.ended.then(() => proc.cleanup()).catch(() => {});
  }

  /** The container's process spec with the exec's command, env, user, cwd and terminal. */
  private async processSpec(s: ExecSession): Promise<Record<string, unknown>> {
    const r = s.live.record;
    const base = await this.tasks.processSpec(r.id);
    const rootfs = this.tasks.rootfs(r.id);
    const userSpec = s.config.user || r.config.User || '';
    const user = await resolveUser(rootfs, userSpec, r.hostConfig.GroupAdd ?? []);
    const spec: Record<string, unknown> = {
      ...base,
      args: s.config.cmd,
      terminal: s.config.tty,
      env: mergeEnv([...(r.config.Env ?? []), ...s.config.env], r.config.Hostname ?? '', s.config.tty, user.home),
      cwd: s.config.workingDir || (base.cwd as string | undefined) || '/',
      user: { uid: user.uid, gid: user.gid, ...(user.additionalGids.length ? { additionalGids: user.additionalGids } : {}) },
    };
    if (s.config.tty && s.config.consoleSize) spec.consoleSize = { height: s.config.consoleSize[0], width: s.config.consoleSize[1] };
    else delete spec.consoleSize;
    if (s.config.privileged) {
      const all = allCapabilities();
      spec.capabilities = { bounding: all, effective: all, permitted: all };
    }
    return spec;
  }
}

/** Docker's refusals for exec into a container that is not running. */
function checkExecState(live: Live): void {
  const r = live.record;
  if (live.removed) throw new NotFoundError(`No such container: ${r.id}`);
  switch (r.state.status) {
    case 'running':
      return;
    case 'paused':
      throw new ConflictError(`Container ${r.id} is paused, unpause the container before exec`);
    case 'restarting':
      throw new ConflictError(`Container ${r.id} is restarting, wait until the container is running`);
    default:
      throw new ConflictError(`container ${r.id} is not running`);
  }
}

function startFailureExitCode(message: string): number {
  if (/executable file not found|no such file or directory/i.test(message)) return 127;
  return 126;
}
