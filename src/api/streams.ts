import type { Writable } from 'node:stream';
import type { JSONMessage } from '../types/engine.js';

// Docker's stream framings: the 8-byte-header multiplexed stream used for
// logs and attach without a TTY, and JSON lines for progress.

export const STREAM_STDIN = 0;
export const STREAM_STDOUT = 1;
export const STREAM_STDERR = 2;

/** The 8-byte header alone, for a caller that writes the payload after it. */
export function frameHeader(stream: number, length: number): Buffer {
  const header = Buffer.allocUnsafe(8);
  header.writeUInt32BE(stream << 24, 0);
  header.writeUInt32BE(length, 4);
  return header;
}

export function frame(stream: number, data: Buffer): Buffer {
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(data.length, 4);
  return Buffer.concat([header, data]);
}

export function writeJsonLine(out: Writable, msg: JSONMessage | object): boolean {
  return out.write(JSON.stringify(msg) + '\n');
}

/**
 * JSON lines gathered and written once per turn of the event loop: a cached
 * build emits dozens of messages within microseconds, and one chunk (one
 * syscall, one read by the client) for all of them is cheaper than one each.
 */
export function batchedJsonLines(out: Writable): { write: (msg: JSONMessage | object) => void; flush: () => void } {
  let pending: string[] = [];
  let scheduled: NodeJS.Immediate | undefined;
  const flush = () => {
    if (scheduled) clearImmediate(scheduled);
    scheduled = undefined;
    if (pending.length === 0) return;
    const text = pending.join('');
    pending = [];
    if (!out.destroyed) out.write(text);
  };
  return {
    write(msg) {
      pending.push(JSON.stringify(msg) + '\n');
      scheduled ??= setImmediate(flush);
    },
    flush,
  };
}

/** Resolves when `out` can take more (respecting backpressure of slow readers). */
export function drained(out: Writable): Promise<void> {
  return new Promise((resolve) => {
    if (!out.writableNeedDrain || out.destroyed) return resolve();
    const done = () => {
      out.off('drain', done);
      out.off('close', done);
      resolve();
    };
    out.on('drain', done);
    out.on('close', done);
  });
}
