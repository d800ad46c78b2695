import type { EngineClient } from '../client/index.js';

// The local terminal during `run -it` / `attach`: raw mode, the size the
// container's TTY should have, and signals forwarded to the container.

/** [rows, columns] of a terminal stream, [0, 0] when it is not one. */
export function terminalSize(stream: { isTTY?: boolean; rows?: number; columns?: number }): [number, number] {
  if (!stream.isTTY) return [0, 0];
  return [stream.rows ?? 0, stream.columns ?? 0];
}

/** Puts stdin in raw mode when it is a terminal; returns the undo (safe to call twice; restores OPOST too). */
export function makeRaw(stdin: NodeJS.ReadStream): () => void {
  if (!stdin.isTTY || typeof stdin.setRawMode !== 'function') return () => {};
  const wasRaw = stdin.isRaw;
  stdin.setRawMode(true);
  // libuv's raw mode keeps output post-processing (\n → \r\n), which the
  // container's own TTY already did; docker's cfmakeraw turns it off too.
  if (stdin === process.stdin) {
    // Loaded here: only interactive sessions need child_process.
    const { spawnSync } = process.getBuiltinModule('node:child_process') as typeof import('node:child_process');
    spawnSync('stty', ['-opost'], { stdio: ['inherit', 'ignore', 'ignore'] });
  }
  let restored = false;
  const restore = () => {
    if (restored) return;
    restored = true;
    try {
      stdin.setRawMode(wasRaw);
    } catch {
      // The terminal may be gone already (hangup).
    }
  };
  process.once('exit', restore);
  return restore;
}

const CTRL_KEYS: Record<string, number> = { '@': 0, '[': 27, '\\': 28, ']': 29, '^': 30, _: 31 };

/** moby/term.ToBytes: "ctrl-p,ctrl-q" → [16, 17]. */
export function parseDetachKeys(keys: string): number[] {
  const out: number[] = [];
  for (const key of keys.split(',')) {
    const k = key.trim();
    if (k.length > 1) {
      const m = /^ctrl-(.)$/.exec(k);
      if (!m) throw new Error(`Unknown character: '${k}'`);
      const ch = m[1]!;
      if (ch >= 'a' && ch <= 'z') out.push(ch.charCodeAt(0) - 96);
      else if (ch in CTRL_KEYS) out.push(CTRL_KEYS[ch]!);
      else throw new Error(`Unknown character: '${k}'`);
    } else if (k.length === 1) {
      out.push(k.charCodeAt(0));
    }
  }
  return out;
}

export const DEFAULT_DETACH_KEYS = [16, 17];

/**
 * moby/term's EscapeProxy: watches typed keys for the detach sequence;
 * held-back keys are released when the sequence breaks. Like moby it matches
 * key by key on one-byte reads, so pasted text never detaches; unlike moby
 * it also takes a read that is exactly the rest of the sequence (a terminal
 * or tmux may deliver ctrl-p ctrl-q typed quickly in one read).
 */
export class EscapeMatcher {
  private pos = 0;

  constructor(private readonly keys: readonly number[]) {}

  /** Returns the bytes to forward, or 'detach' when the whole sequence was typed. */
  feed(chunk: Buffer): Buffer | 'detach' {
    if (this.keys.length === 0) return chunk;
    if (chunk.length > 1) {
      const rest = this.keys.slice(this.pos);
      if (chunk.length === rest.length && rest.every((k, i) => chunk[i] === k)) return 'detach';
      return this.release(chunk);
    }
    if (chunk[0] !== this.keys[this.pos]) return this.release(chunk);
    if (this.pos === this.keys.length - 1) return 'detach';
    this.pos++;
    return Buffer.alloc(0);
  }

  private release(chunk: Buffer): Buffer {
    if (this.pos === 0) return chunk;
    const held = Buffer.from(this.keys.slice(0, this.pos));
    this.pos = 0;
    return Buffer.concat([held, chunk]);
  }
}

/** Resizes the container's TTY to the local terminal now and on every SIGWINCH. */
export function monitorTtySize(
  client: EngineClient,
  id: string,
  stdout: NodeJS.WriteStream,
  stderr: NodeJS.WriteStream,
  opts: { nudge?: boolean; exec?: boolean } = {},
): () => void {
  const resizeTo = (h: number, w: number) => (opts.exec ? client.execResize(id, h, w) : client.containerResize(id, h, w));
  const resize = async () => {
    const [h, w] = terminalSize(stdout);
    if (h === 0 && w === 0) return;
    await resizeTo(h, w);
  };
  void (async () => {
    // `attach` first sets a different size so the program redraws.
    if (opts.nudge) {
      const [h, w] = terminalSize(stdout);
      await resizeTo(h + 1, w + 1).catch(() => {});
    }
    try {
      await resize();
    } catch {
      // The process may not have its TTY yet: retry a few times, like docker.
      for (let retry = 0; retry < 10; retry++) {
        await new Promise((r) => setTimeout(r, (retry + 1) * 10));
        try {
          await resize();
          return;
        } catch {
          // try again
        }
      }
      stderr.write('failed to resize tty, using default size\n');
    }
  })();
  const onWinch = () => void resize().catch(() => {});
  process.on('SIGWINCH', onWinch);
  return () => process.off('SIGWINCH', onWinch);
}

/** Signals the CLI passes on to the container (docker forwards all but CHLD, PIPE, URG). */
const FORWARDED_SIGNALS: NodeJS.Signals[] = ['SIGHUP', 'SIGINT', 'SIGQUIT', 'SIGTERM', 'SIGUSR1', 'SIGUSR2', 'SIGALRM', 'SIGTSTP', 'SIGTTIN', 'SIGTTOU', 'SIGCONT'];

/**
 * Catches the signals a user sends the CLI. With `forward`, each is sent
 * to the container through the API; either way the third SIGINT/SIGTERM
 * ends the CLI, as docker's does.
 */
export function catchSignals(opts: { forward?: (signal: NodeJS.Signals) => void; stderr: NodeJS.WriteStream }): () => void {
  let terminations = 0;
  const handlers = new Map<NodeJS.Signals, () => void>();
  const signals = opts.forward ? FORWARDED_SIGNALS : (['SIGINT', 'SIGTERM'] as NodeJS.Signals[]);
  for (const signal of signals) {
    const handler = () => {
      opts.forward?.(signal);
      if (signal === 'SIGINT' || signal === 'SIGTERM') {
        terminations++;
        if (terminations >= 3) {
          // Exit handlers put the terminal back (see makeRaw).
          opts.stderr.write('\ngot 3 SIGTERM/SIGINTs, forcefully exiting\n');
          process.exit(1);
        }
      }
    };
    handlers.set(signal, handler);
    process.on(signal, handler);
  }
  return () => {
    for (const [signal, handler] of handlers) process.off(signal, handler);
  };
}
