import type { Readable } from 'node:stream';
import { errorMessage } from '../errors/index.js';
import type { StdinSink, TaskService } from '../runtime/index.js';
import { isRunning, type Live } from './lifecycle.js';
import type { LogEntry, LogFollower, LogPosition, StdStream } from './logs.js';
import { ContainerLogs, type ConmonLog } from './log-manager.js';
import type { LogConfig } from './log-driver.js';
import type { ContainerRecord } from './record.js';

// A container's I/O: output is read from the log files conmon writes (so
// nothing is lost between start and attach), stdin goes to the task. Logs,
// attach and (later) exec share it. The files, their rotation and the
// readers are ContainerLogs' (log-manager.ts, docs/logs.md).

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

/** One attached client for the current or next run of a container. */
export interface Attachment {
  /** May return a promise to hold the reader back while the client catches up. */
  onOutput: (e: LogEntry) => void | Promise<void>;
  follower?: LogFollower;
  stdin?: Readable;
  /** The task's stdin while the client's is being forwarded. */
  stdinSink?: StdinSink;
  done: () => void;
}

export class ContainerIO {
  private readonly files: ContainerLogs;

  constructor(
    private readonly tasks: TaskService,
    private readonly log: (level: 'warn', msg: string) => void,
    defaultLogConfig: LogConfig,
  ) {
    this.files = new ContainerLogs({ defaultConfig: defaultLogConfig, tasks });
  }

  /** The LogConfig of a new container (validated; merged with the daemon's default as dockerd does). */
  logConfigFor(requested: Partial<LogConfig> | undefined): LogConfig {
    return this.files.configFor(requested);
  }

  /** Where a new container's log lives; '' for `none`. */
  logPathFor(config: LogConfig, containerDir: string): string {
    return this.files.logPathFor(config, containerDir);
  }

  /** Before the task is created: rotates what the last run left; where and how conmon writes. */
  beforeRun(r: ContainerRecord): Promise<ConmonLog> {
    return this.files.beforeRun(r);
  }

  /** The task exists (now, or found again after a berthd restart): watch and rotate its log. */
  running(r: ContainerRecord): Promise<void> {
    return this.files.running(r);
  }

  /** The run ended or failed to start. */
  runEnded(r: ContainerRecord): Promise<void> {
    return this.files.runEnded(r);
  }

  /** The container is removed: its readers and followers stop, its clients are released. */
  removed(live: Live): void {
    for (const a of live.attachments) a.done();
    this.files.removed(live.record.id);
  }

  /** berthd shuts down. */
  close(): void {
    this.files.closeAll();
  }

  /** Throws dockerd's error when the container's driver keeps nothing to read. */
  assertReadable(live: Live): void {
    this.files.assertReadable(live.record);
  }

  async logs(live: Live, opts: LogsOptions, onEntry: (e: LogEntry) => void | Promise<void>, signal: AbortSignal): Promise<void> {
    const r = live.record;
    const wanted = (s: StdStream) => (s === 'stdout' ? opts.stdout : opts.stderr);
    const follow = opts.follow && isRunning(r.state.status) && (opts.untilNs === undefined || opts.untilNs > BigInt(Date.now()) * 1_000_000n);
    const position = await this.files.read(r, { tail: opts.tail, sinceNs: opts.sinceNs, untilNs: opts.untilNs, signal }, (e) => (wanted(e.stream) ? onEntry(e) : undefined), follow);
    if (!follow || signal.aborted || live.removed) {
      await position?.file.fh.close().catch(() => {});
      return;
    }
    await new Promise<void>((resolve) => {
      // Following ends at `until`, as dockerd's does.
      const untilMs = opts.untilNs === undefined ? undefined : Number(opts.untilNs / 1_000_000n) - Date.now();
      const untilTimer = untilMs === undefined || untilMs > 2 ** 31 - 1 ? undefined : setTimeout(() => attachment.done(), untilMs);
      const attachment: Attachment = {
        onOutput: (e) => (wanted(e.stream) && (opts.sinceNs === undefined || e.timeNs >= opts.sinceNs) ? onEntry(e) : undefined),
        done: () => {
          clearTimeout(untilTimer);
          live.attachments.delete(attachment);
          attachment.follower?.stop();
          resolve();
        },
      };
      live.attachments.add(attachment);
      signal.addEventListener('abort', () => attachment.done(), { once: true });
      if (signal.aborted) return attachment.done();
      this.beginAttachment(live, attachment, position, opts.untilNs);
      // The run may have ended while the log was read: its exit released the attachments it saw, not this one.
      if (!isRunning(r.state.status)) void this.endAttachment(live, attachment);
    });
  }

  /**
   * Streams the container's output to `onOutput` and feeds `stdin` to it, for
   * the current run or, when not running, the next one (docker run attaches
   * before it starts). The attachment is registered before this returns, so a
   * start that follows cannot miss it; `run()` resolves when that run ends or
   * the client goes away.
   */
  attach(live: Live, opts: AttachOptions, onOutput: (e: LogEntry) => void | Promise<void>, signal: AbortSignal): AttachSession {
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
      const follow = attachment !== undefined && isRunning(r.state.status);
      let position: LogPosition | undefined;
      if (opts.logs && r.logPath) {
        position = await this.files.read(r, { signal }, (e) => (wanted(e.stream) ? onOutput(e) : undefined), follow);
      }
      if (!attachment) return;
      if (isRunning(r.state.status) && !attachment.follower && live.attachments.has(attachment)) {
        this.beginAttachment(live, attachment, position ?? (await this.files.end(r)));
      } else {
        await position?.file.fh.close().catch(() => {});
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

  /** At start: every waiting client follows the log from where it ends now. */
  async beginAttachments(live: Live): Promise<void> {
    for (const a of live.attachments) this.beginAttachment(live, a, await this.files.end(live.record));
  }

  /** The run ended: let each client read the rest of the log, then release it. */
  async endAttachments(live: Live): Promise<void> {
    await Promise.all([...live.attachments].map((a) => this.endAttachment(live, a)));
  }

  /** A start failed: release the clients waiting for it. */
  dropAttachments(live: Live): void {
    for (const a of live.attachments) a.done();
    live.attachments.clear();
  }

  private beginAttachment(live: Live, a: Attachment, from: LogPosition | undefined, untilNs?: bigint): void {
    a.follower = this.files.follow(live.record, from, (e) => a.onOutput(e), { untilNs });
    a.follower.start();
    if (a.stdin) this.pipeStdin(live, a);
  }

  private async endAttachment(live: Live, a: Attachment): Promise<void> {
    await a.follower?.drain();
    live.attachments.delete(a);
    a.done();
  }

  /** Forwards a client's stdin to the container's task. */
  private pipeStdin(live: Live, a: Attachment): void {
    const stdin = a.stdin!;
    let sink: StdinSink;
    try {
      sink = this.tasks.openStdin(live.record.id);
    } catch (err) {
      this.log('warn', `attaching stdin of ${live.record.id.slice(0, 12)}: ${errorMessage(err)}`);
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
}
