import { execFile } from 'node:child_process';
import { existsSync, constants } from 'node:fs';
import { open, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { SystemError, NotFoundError, ConflictError } from '../errors/index.js';

// Thin driver for an OCI runtime binary (runc or crun). Both share the CLI
// surface berth uses: --root, create (done by conmon), start, kill, delete,
// state, pause, resume.

const FIFO_OPEN_TIMEOUT_MS = 5000;

export interface RuntimeState {
  id: string;
  pid: number;
  status: 'creating' | 'created' | 'running' | 'paused' | 'stopped';
}

export class OciRuntime {
  constructor(
    readonly name: string,
    readonly path: string,
    /** State directory passed as --root; one per daemon so runtimes of two daemons never mix. */
    readonly root: string,
  ) {}

  /**
   * Lets a created container run. For runc this is what `runc start` does
   * without the ~8 ms exec: the container's init waits on `exec.fifo` in the
   * runtime's state dir until a reader opens it; reading it releases the
   * init, and the fifo is removed. Other runtimes get their `start` command.
   */
  async start(id: string): Promise<void> {
    const fifo = join(this.root, id, 'exec.fifo');
    if (this.name !== 'runc' || !existsSync(fifo)) {
      await this.run(['start', id]);
      return;
    }
    const opening = open(fifo, 'r');
    // If the init died before opening its end, our open would wait forever:
    // after a while, open the write end ourselves to release it.
    const timer = setTimeout(() => {
      void open(fifo, constants.O_WRONLY | constants.O_NONBLOCK).then((w) => w.close()).catch(() => {});
    }, FIFO_OPEN_TIMEOUT_MS);
    const fh = await opening.finally(() => clearTimeout(timer));
    let data: Buffer;
    try {
      data = await fh.readFile();
    } finally {
      await fh.close();
    }
    await unlink(fifo).catch(() => {});
    if (data.length === 0) throw new ConflictError(`${this.name} start: container process is already dead`);
  }

  kill(id: string, signal: string, all = false): Promise<void> {
    return this.run(['kill', ...(all ? ['--all'] : []), id, signal]).then(() => undefined);
  }

  delete(id: string, force = false): Promise<void> {
    return this.run(['delete', ...(force ? ['--force'] : []), id]).then(() => undefined);
  }

  pause(id: string): Promise<void> {
    return this.run(['pause', id]).then(() => undefined);
  }

  resume(id: string): Promise<void> {
    return this.run(['resume', id]).then(() => undefined);
  }

  /** runc/crun update with its flag names. */
  update(id: string, flags: string[]): Promise<void> {
    return this.run(['update', ...flags, id]).then(() => undefined);
  }

  /** Host pids of every process in the container (`ps --format json`). */
  async pids(id: string): Promise<number[]> {
    return JSON.parse(await this.run(['ps', '--format', 'json', id])) as number[] ?? [];
  }

  async state(id: string): Promise<RuntimeState | undefined> {
    try {
      return JSON.parse(await this.run(['state', id])) as RuntimeState;
    } catch (err) {
      if (err instanceof NotFoundError) return undefined;
      throw err;
    }
  }

  /** Global arguments conmon must pass before the runtime's subcommand. */
  globalArgs(): string[] {
    return ['--root', this.root];
  }

  private run(args: string[]): Promise<string> {
    return new Promise((resolve, reject) => {
      execFile(this.path, [...this.globalArgs(), ...args], { maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
        if (!err) return resolve(stdout);
        const message = cleanRuntimeMessage(stderr) || err.message;
        if (/does not exist|not found|no such file/i.test(message) && args[0] !== 'start') {
          return reject(new NotFoundError(`${this.name} ${args[0]}: ${message}`));
        }
        if (/not running|is not paused|is paused|not stopped|cannot (start|kill)/i.test(message)) {
          return reject(new ConflictError(`${this.name} ${args[0]}: ${message}`));
        }
        reject(new SystemError(`${this.name} ${args[0]} failed: ${message}`));
      });
    });
  }
}

/**
 * Runtimes print logrus lines (`time=… level=error msg="…"`) and/or a plain
 * line. Keep the human message only, once.
 */
export function cleanRuntimeMessage(stderr: string): string {
  const lines = stderr.split('\n').map((l) => l.trim()).filter(Boolean);
  const messages: string[] = [];
  for (const line of lines) {
    let msg = line;
    const m = /msg="((?:[^"\\]|\\.)*)"/.exec(line);
    if (m) msg = m[1]!.replace(/\\(.)/g, '$1');
    else if (line.startsWith('{')) {
      try {
        msg = (JSON.parse(line) as { msg?: string }).msg ?? line;
      } catch {
        /* not JSON, keep the line */
      }
    }
    if (/level=(debug|info|warning)/.test(line)) continue;
    if (!messages.includes(msg)) messages.push(msg);
  }
  // runc logs the error and then prints it again plainly; the last is enough.
  return messages.length ? messages[messages.length - 1]! : '';
}
