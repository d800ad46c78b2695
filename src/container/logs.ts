import { open, stat, type FileHandle } from 'node:fs/promises';
import { watch, type FSWatcher } from 'node:fs';

// conmon writes the container's output in the CRI ("k8s-file") format:
//   2024-05-01T10:00:00.123456789+02:00 stdout F a whole line
//   2024-05-01T10:00:00.123456789+02:00 stderr P a partial line without its newline
// This module reads those files back as timestamped stream chunks, both for
// `logs` (with tail/since/until) and live for `logs -f` and attach. Readers
// never slow the container: conmon appends to the file, readers catch up.

export type StdStream = 'stdout' | 'stderr';

export interface LogEntry {
  stream: StdStream;
  /** Nanoseconds since the epoch. */
  timeNs: bigint;
  /** The bytes the container wrote, newline included for a full line. */
  data: Buffer;
}

export function parseLogLine(line: Buffer): LogEntry | undefined {
  const s1 = line.indexOf(0x20);
  const s2 = s1 < 0 ? -1 : line.indexOf(0x20, s1 + 1);
  const s3 = s2 < 0 ? -1 : line.indexOf(0x20, s2 + 1);
  if (s3 < 0) {
    // A line with an empty message has no trailing space after the tag.
    if (s2 < 0) return undefined;
  }
  const stamp = line.subarray(0, s1).toString('latin1');
  const stream = line.subarray(s1 + 1, s2).toString('latin1');
  if (stream !== 'stdout' && stream !== 'stderr') return undefined;
  const tag = line.subarray(s2 + 1, s3 < 0 ? line.length : s3).toString('latin1');
  const body = s3 < 0 ? Buffer.alloc(0) : line.subarray(s3 + 1);
  const full = tag.includes('F');
  return { stream, timeNs: parseTimestampNs(stamp), data: full ? Buffer.concat([body, Buffer.from('\n')]) : Buffer.from(body) };
}

/** RFC 3339 with nanoseconds and an offset → nanoseconds since the epoch. */
export function parseTimestampNs(stamp: string): bigint {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:?\d\d)$/.exec(stamp);
  if (!m) return 0n;
  const base = Date.parse(`${m[1]}${m[3] === 'Z' ? 'Z' : m[3]!.replace(/^([+-]\d\d)(\d\d)$/, '$1:$2')}`);
  const frac = BigInt((m[2] ?? '').padEnd(9, '0'));
  return BigInt(base) * 1_000_000n + frac;
}

/** Docker's `-t` timestamp: RFC 3339 in UTC with nanoseconds. */
export function formatTimestampNs(ns: bigint): string {
  const ms = Number(ns / 1_000_000n);
  const iso = new Date(ms).toISOString(); // 2024-05-01T08:00:00.123Z
  const nanos = (ns % 1_000_000_000n).toString().padStart(9, '0');
  return `${iso.slice(0, 19)}.${nanos}Z`;
}

export interface ReadOptions {
  sinceNs?: bigint;
  untilNs?: bigint;
  /** Only the last N lines; undefined means all. */
  tail?: number;
}

const CHUNK = 64 * 1024;

/** Splits a growing file into lines, remembering where the next read starts. */
class LineCursor {
  private rest = Buffer.alloc(0);
  constructor(public offset: number) {}

  /** Reads to the current end of file; awaits `onLine` when it returns a promise (a slow reader). */
  async readAvailable(fh: FileHandle, onLine: (line: Buffer) => void | Promise<void>): Promise<void> {
    const buf = Buffer.allocUnsafe(CHUNK);
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, CHUNK, this.offset);
      if (bytesRead === 0) return;
      this.offset += bytesRead;
      let data = Buffer.concat([this.rest, buf.subarray(0, bytesRead)]);
      let nl: number;
      while ((nl = data.indexOf(0x0a)) >= 0) {
        const pending = onLine(data.subarray(0, nl));
        if (pending) await pending;
        data = data.subarray(nl + 1);
      }
      this.rest = Buffer.from(data);
    }
  }
}

async function openIfExists(path: string): Promise<FileHandle | undefined> {
  try {
    return await open(path, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/**
 * Reads what the log holds now, passing matching entries to `onEntry` (which
 * may return a promise to slow the read down). With `tail`, only the last N
 * entries are kept and passed at the end. Returns where the read stopped.
 */
export async function readLog(path: string, opts: ReadOptions, onEntry: (e: LogEntry) => void | Promise<void>): Promise<number> {
  const fh = await openIfExists(path);
  if (!fh) return 0;
  try {
    const cursor = new LineCursor(0);
    let last: LogEntry[] = [];
    await cursor.readAvailable(fh, (line) => {
      const e = parseLogLine(line);
      if (!e) return;
      if (opts.sinceNs !== undefined && e.timeNs < opts.sinceNs) return;
      if (opts.untilNs !== undefined && e.timeNs > opts.untilNs) return;
      if (opts.tail === undefined) return onEntry(e);
      last.push(e);
      if (last.length > opts.tail * 2 + 1024) last = last.slice(-opts.tail);
    });
    if (opts.tail !== undefined) {
      for (const e of opts.tail === 0 ? [] : last.slice(-opts.tail)) {
        const pending = onEntry(e);
        if (pending) await pending;
      }
    }
    return cursor.offset;
  } finally {
    await fh.close();
  }
}

export async function logSize(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch {
    return 0;
  }
}

/**
 * Follows a log file from `offset`, calling `onEntry` for each new entry.
 * `drain()` reads whatever is left (conmon has flushed everything by the time
 * it reports the exit) and stops.
 */
export class LogFollower {
  private readonly cursor: LineCursor;
  private fh: FileHandle | undefined;
  private watcher: FSWatcher | undefined;
  private reading: Promise<void> = Promise.resolve();
  private pending = false;
  private stopped = false;

  constructor(
    private readonly path: string,
    offset: number,
    private readonly onEntry: (e: LogEntry) => void | Promise<void>,
    private readonly untilNs?: bigint,
  ) {
    this.cursor = new LineCursor(offset);
  }

  async start(): Promise<void> {
    this.watcher = watch(this.path, { persistent: false }, () => this.poke());
    this.watcher.on('error', () => {});
    this.poke();
    await this.reading;
  }

  /** Schedules a read; reads never overlap. */
  poke(): void {
    if (this.stopped || this.pending) return;
    this.pending = true;
    this.reading = this.reading.then(async () => {
      this.pending = false;
      if (this.stopped) return;
      this.fh ??= await openIfExists(this.path);
      if (!this.fh) return;
      await this.cursor.readAvailable(this.fh, (line) => {
        const e = parseLogLine(line);
        if (e && (this.untilNs === undefined || e.timeNs <= this.untilNs)) return this.onEntry(e);
      });
    }).catch(() => {});
  }

  /** Reads to the end of the file once more, then stops. */
  async drain(): Promise<void> {
    this.poke();
    await this.reading;
    this.pending = false;
    this.poke();
    await this.reading;
    this.stop();
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.watcher?.close();
    const fh = this.fh;
    this.fh = undefined;
    void this.reading.then(() => fh?.close()).catch(() => {});
  }
}
