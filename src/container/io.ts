import type { Readable } from 'node:stream';
import { errorMessage } from '../errors/index.js';
import type { StdinSink, TaskService } from '../runtime/index.js';
import { isRunning, type Live } from './lifecycle.js';
import { LogFollower, logSize, readLog, type LogEntry, type StdStream } from './logs.js';

// A container's I/O: output is read from the log file conmon writes (so
// nothing is lost between start and attach), stdin goes to the task. Logs,
// attach and (later) exec share it.

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
  constructor(
    private readonly tasks: TaskService,
    private readonly log: (level: 'warn', msg: string) => void,
  ) {}

  async logs(live: Live, opts: LogsOptions, onEntry: (e: LogEntry) => void | Promise<void>, signal: AbortSignal): Promise<void> {
    const r = live.record;
    const wanted = (s: StdStream) => (s === 'stdout' ? opts.stdout : opts.stderr);
    const offset = await readLog(r.logPath, { tail: opts.tail, sinceNs: opts.sinceNs, untilNs: opts.untilNs }, (e) => (wanted(e.stream) ? onEntry(e) : undefined));
    if (!opts.follow || !isRunning(r.state.status) || signal.aborted) return;
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
      let offset: number | undefined;
      if (opts.logs) offset = await readLog(r.logPath, {}, (e) => (wanted(e.stream) ? onOutput(e) : undefined));
      if (!attachment) return;
      if (isRunning(r.state.status) && !attachment.follower && live.attachments.has(attachment)) {
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

  /** At start: every waiting client follows the log from `offset`. */
  beginAttachments(live: Live, offset: number): void {
    for (const a of live.attachments) this.beginAttachment(live, a, offset);
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
