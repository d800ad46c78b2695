import type { JSONMessage } from '../types/engine.js';

// Docker's progress messages (jsonmessage) and a channel that many
// concurrent tasks write into and one reader drains, in order.

export class Channel<T> implements AsyncIterable<T> {
  private readonly items: T[] = [];
  private waiting: (() => void) | undefined;
  private done = false;
  private failure: unknown;

  push(item: T): void {
    if (this.done) return;
    this.items.push(item);
    this.wake();
  }

  close(err?: unknown): void {
    if (this.done) return;
    this.done = true;
    this.failure = err;
    this.wake();
  }

  private wake(): void {
    const w = this.waiting;
    this.waiting = undefined;
    w?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    for (;;) {
      while (this.items.length > 0) yield this.items.shift()!;
      if (this.done) {
        if (this.failure !== undefined) throw this.failure;
        return;
      }
      await new Promise<void>((r) => (this.waiting = r));
    }
  }
}

const UNITS = ['B', 'kB', 'MB', 'GB', 'TB'];

/** go-units HumanSize with 3 significant digits ("1.23MB"). */
export function humanSize(n: number): string {
  let i = 0;
  let v = n;
  while (v >= 1000 && i < UNITS.length - 1) {
    v /= 1000;
    i++;
  }
  return `${Number(v.toPrecision(3))}${UNITS[i]}`;
}

/** The "progress" text a non-terminal shows: "[=====>     ]  1.2MB/4.5MB". */
export function progressBar(current: number, total: number): string {
  if (total <= 0) return humanSize(current).padStart(8);
  const pct = Math.min(50, Math.trunc((Math.trunc((current / total) * 100)) / 2));
  const bar = `[${'='.repeat(pct)}>${' '.repeat(Math.max(0, 50 - pct))}]`;
  return `${bar} ${humanSize(current).padStart(8)}/${humanSize(total)}`;
}

export function shortId(digest: string): string {
  return digest.slice(digest.indexOf(':') + 1, digest.indexOf(':') + 13);
}

export function status(id: string | undefined, text: string): JSONMessage {
  return id === undefined ? { status: text } : { status: text, progressDetail: {}, id };
}

export function progress(id: string, text: string, current: number, total: number): JSONMessage {
  return { status: text, progressDetail: { current, total }, progress: progressBar(current, total), id };
}
