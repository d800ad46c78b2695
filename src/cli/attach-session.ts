import { copyMultiplexed, copyRaw, type HijackedConnection } from '../client/index.js';
import { DEFAULT_DETACH_KEYS, EscapeMatcher, makeRaw, parseDetachKeys } from './terminal.js';

// docker's hijackedIOStreamer: moves bytes between the local terminal and
// a hijacked attach connection. Output is raw with a TTY and demultiplexed
// without; local stdin goes up until it ends, then the connection is
// half-closed so the container sees EOF while its output keeps coming.

export type SessionEnd = 'ended' | 'detached';

export interface AttachSessionOptions {
  connection: HijackedConnection;
  tty: boolean;
  /** Local stdin, when the container's stdin is attached. */
  stdin?: NodeJS.ReadStream;
  stdout?: NodeJS.WritableStream;
  stderr?: NodeJS.WritableStream;
  /** --detach-keys; the default is ctrl-p,ctrl-q. */
  detachKeys?: string;
  /** Where to warn about unusable detach keys. */
  warn?: (message: string) => void;
}

export class AttachSession {
  /** Settles when the output ends, or the user typed the detach keys; rejects on stream errors. */
  readonly done: Promise<SessionEnd>;
  private restoreTerminal: () => void = () => {};
  private stopInput: () => void = () => {};
  private finished = false;

  constructor(private readonly o: AttachSessionOptions) {
    this.done = this.stream();
    this.done.catch(() => {}).finally(() => this.cleanup());
  }

  /** Stops streaming: restores the terminal and drops the connection. */
  cancel(): void {
    this.cleanup();
    this.o.connection.close();
  }

  private cleanup(): void {
    if (this.finished) return;
    this.finished = true;
    this.stopInput();
    this.restoreTerminal();
  }

  private stream(): Promise<SessionEnd> {
    const { connection, tty, stdin, stdout, stderr } = this.o;
    const socket = connection.socket;
    let escape: EscapeMatcher | undefined;
    if (stdin && tty) {
      this.restoreTerminal = makeRaw(stdin);
      let keys = DEFAULT_DETACH_KEYS;
      if (this.o.detachKeys) {
        try {
          keys = parseDetachKeys(this.o.detachKeys);
        } catch (err) {
          this.o.warn?.(`invalid detach escape keys, using default: ${(err as Error).message}`);
        }
      }
      escape = new EscapeMatcher(keys);
    }

    const output: Promise<SessionEnd> | undefined =
      stdout || stderr
        ? (tty && stdout
            ? copyRaw(socket, (data) => stdout.write(data)).then(() => this.restoreTerminal())
            : copyMultiplexed(socket, { stdout: stdout ? (d) => stdout.write(d) : undefined, stderr: stderr ? (d) => stderr.write(d) : undefined })
          ).then(() => 'ended' as const)
        : undefined;
    if (!output) socket.resume();

    const input = new Promise<SessionEnd | 'input-done'>((resolve) => {
      if (!stdin) {
        // Nothing to send: tell the daemon right away, as docker does.
        connection.closeWrite();
        resolve('input-done');
        return;
      }
      const onData = (chunk: Buffer | string) => {
        let data = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
        if (escape) {
          const out = escape.feed(data);
          if (out === 'detach') {
            finish();
            resolve('detached');
            return;
          }
          data = out;
        }
        if (data.length && !socket.destroyed && socket.write(data) === false) {
          stdin.pause();
          socket.once('drain', () => stdin.resume());
        }
      };
      const onEnd = () => {
        finish();
        this.restoreTerminal();
        if (!socket.destroyed) connection.closeWrite();
        resolve('input-done');
      };
      const finish = () => {
        stdin.off('data', onData);
        stdin.off('end', onEnd);
        stdin.off('error', onEnd);
        stdin.pause();
      };
      this.stopInput = finish;
      stdin.on('data', onData);
      stdin.once('end', onEnd);
      stdin.once('error', onEnd);
      stdin.resume();
    });

    return new Promise<SessionEnd>((resolve, reject) => {
      output?.then(resolve, reject);
      input.then((r) => {
        if (r === 'detached') {
          connection.close();
          resolve('detached');
        } else if (!output) resolve('ended');
        // With output attached, wait for it: the container may still be writing.
      });
    });
  }
}
