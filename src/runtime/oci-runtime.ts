import { execFile } from 'node:child_process';
import { SystemError, NotFoundError, ConflictError } from '../errors/index.js';

// Thin driver for an OCI runtime binary (runc or crun). Both share the CLI
// surface berth uses: --root, create (done by conmon), start, kill, delete,
// state, pause, resume.

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

  start(id: string): Promise<void> {
    return this.run(['start', id]).then(() => undefined);
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
