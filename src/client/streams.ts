import { StreamError } from './errors.js';

// Decoders for the Engine API's stream framings: the 8-byte-header
// multiplexed stream (logs and attach without a TTY) and JSON lines
// (progress of pull/import, events).

export const STREAM_STDIN = 0;
export const STREAM_STDOUT = 1;
export const STREAM_STDERR = 2;
/** moby's stdcopy.Systemerr: the daemon reports an error inside the stream. */
export const STREAM_SYSTEMERR = 3;

const HEADER_LENGTH = 8;

export type FrameHandler = (stream: number, payload: Buffer) => void;

/**
 * Splits the multiplexed stream into frames. Feed it chunks as they come;
 * frames may span chunks and chunks may hold many frames.
 */
export class FrameDecoder {
  private pending: Buffer = Buffer.alloc(0);

  constructor(private readonly onFrame: FrameHandler) {}

  push(chunk: Buffer): void {
    let buf = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    while (buf.length >= HEADER_LENGTH) {
      const stream = buf[0]!;
      const size = buf.readUInt32BE(4);
      if (buf.length < HEADER_LENGTH + size) break;
      const payload = buf.subarray(HEADER_LENGTH, HEADER_LENGTH + size);
      buf = buf.subarray(HEADER_LENGTH + size);
      if (stream > STREAM_SYSTEMERR) throw new StreamError(`Unrecognized input header: ${stream}`);
      if (stream === STREAM_SYSTEMERR) throw new StreamError(`error from daemon in stream: ${payload.toString('utf8')}`);
      this.onFrame(stream, payload);
    }
    // Copy so the decoder does not pin the whole chunk it came from.
    this.pending = buf.length ? Buffer.from(buf) : Buffer.alloc(0);
  }

  /** Bytes of an incomplete frame still waiting for the rest. */
  get buffered(): number {
    return this.pending.length;
  }
}

export interface OutputSinks {
  stdout?: (data: Buffer) => void;
  stderr?: (data: Buffer) => void;
}

/**
 * Copies a multiplexed stream to the sinks like moby's stdcopy.StdCopy:
 * stdin and stdout frames go to stdout, stderr frames to stderr. Resolves
 * when the source ends; rejects on a system-error frame or source error.
 */
export function copyMultiplexed(source: NodeJS.ReadableStream, sinks: OutputSinks): Promise<void> {
  return new Promise((resolve, reject) => {
    const decoder = new FrameDecoder((stream, payload) => {
      if (stream === STREAM_STDERR) sinks.stderr?.(payload);
      else sinks.stdout?.(payload);
    });
    let settled = false;
    const finish = (err?: unknown) => {
      if (settled) return;
      settled = true;
      source.removeListener('data', onData);
      if (err) reject(err);
      else resolve();
    };
    const onData = (chunk: Buffer | string) => {
      try {
        decoder.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
      } catch (err) {
        finish(err);
      }
    };
    source.on('data', onData);
    source.once('end', () => finish());
    source.once('close', () => finish());
    source.once('error', (err) => finish(err));
  });
}

/** Copies a raw (TTY) stream to one sink. */
export function copyRaw(source: NodeJS.ReadableStream, sink: (data: Buffer) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const finish = (err?: unknown) => {
      if (settled) return;
      settled = true;
      if (err) reject(err);
      else resolve();
    };
    source.on('data', (chunk: Buffer | string) => sink(typeof chunk === 'string' ? Buffer.from(chunk) : chunk));
    source.once('end', () => finish());
    source.once('close', () => finish());
    source.once('error', (err) => finish(err));
  });
}

/** Splits a stream into its non-blank lines (without the newline). */
export async function* readLines(source: AsyncIterable<Buffer | string>): AsyncGenerator<string> {
  let pending = '';
  for await (const chunk of source) {
    pending += typeof chunk === 'string' ? chunk : chunk.toString('utf8');
    let nl: number;
    while ((nl = pending.indexOf('\n')) !== -1) {
      const line = pending.slice(0, nl).trim();
      pending = pending.slice(nl + 1);
      if (line) yield line;
    }
  }
  const last = pending.trim();
  if (last) yield last;
}

/**
 * Parses a stream of JSON values, one per line (the daemon's framing for
 * progress and events). Blank lines are skipped.
 */
export async function* readJsonLines<T>(source: AsyncIterable<Buffer | string>): AsyncGenerator<T> {
  for await (const line of readLines(source)) yield parseJsonLine<T>(line);
}

/** JSON.parse with the daemon's error wording for a broken stream. */
export function parseJsonLine<T>(line: string): T {
  try {
    return JSON.parse(line) as T;
  } catch {
    throw new StreamError(`invalid JSON in stream: ${line.length > 80 ? line.slice(0, 80) + '…' : line}`);
  }
}
