import type { FileHandle } from 'node:fs/promises';
import type { LogFiles, OpenLogFile } from './log-files.js';

// conmon writes the container's output in the CRI ("k8s-file") format:
//   2024-05-01T10:00:00.123456789+02:00 stdout F a whole line
//   2024-05-01T10:00:00.123456789+02:00 stderr P a partial line without its newline
// This module reads those files back as timestamped stream chunks, both for
// `logs` (with tail/since/until) and live for `logs -f` and attach, across
// the rotated files (log-files.ts). Readers never slow the container: conmon
// appends, readers catch up. Every read is bounded: `tail` reads backwards
// from the end, `since` bisects on the timestamps, `until` stops at the first
// later line, a plain read stops at the size the file had when it was opened,
// and each loop checks its AbortSignal (client gone or container removed).

export type StdStream = 'stdout' | 'stderr';

export interface LogEntry {
  stream: StdStream;
  /** Nanoseconds since the epoch. */
  timeNs: bigint;
  /** The bytes the container wrote, newline included for a full line. */
  data: Buffer;
}

/**
 * One CRI line, with or without its newline. With it, a full line's data is
 * a view of the caller's buffer (no copy): callers hand out buffers that are
 * never reused.
 */
export function parseLogLine(line: Buffer): LogEntry | undefined {
  let end = line.length;
  const withNewline = end > 0 && line[end - 1] === 0x0a;
  if (withNewline) end--;
  const s1 = line.indexOf(0x20);
  if (s1 < 0 || s1 >= end) return undefined;
  let s2 = line.indexOf(0x20, s1 + 1);
  if (s2 < 0 || s2 > end) return undefined;
  const stream = line.toString('latin1', s1 + 1, s2);
  if (stream !== 'stdout' && stream !== 'stderr') return undefined;
  // A line with an empty message has no space after the tag.
  let s3 = line.indexOf(0x20, s2 + 1);
  if (s3 < 0 || s3 > end) s3 = end;
  let full = false;
  for (let i = s2 + 1; i < s3; i++) if (line[i] === 0x46 /* F */) full = true;
  s2 = s3 < end ? s3 + 1 : end;
  let data: Buffer;
  if (!full) data = line.subarray(s2, end);
  else if (withNewline) data = line.subarray(s2, end + 1);
  else data = Buffer.concat([line.subarray(s2, end), NEWLINE]);
  return { stream, timeNs: stampNs(line.toString('latin1', 0, s1)), data };
}

const NEWLINE = Buffer.from('\n');
// conmon stamps a whole read with one time: consecutive lines mostly share it.
let lastStamp = '';
let lastStampNs = 0n;
function stampNs(stamp: string): bigint {
  if (stamp !== lastStamp) {
    lastStampNs = parseTimestampNs(stamp);
    lastStamp = stamp;
  }
  return lastStampNs;
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
  signal?: AbortSignal;
  /** Counts the bytes read from disk (tests check that a tail does not scan). */
  stats?: { bytesRead: number };
}

/** Where a read stopped: the file (still open) and the offset after the last whole line. */
export interface LogPosition {
  file: OpenLogFile;
  offset: number;
}

const CHUNK = 64 * 1024;
/** A line longer than this while bisecting is stepped over in pieces. */
const PROBE = 4096;

type OnEntry = (e: LogEntry) => void | Promise<void>;

/**
 * Reads what the files hold now (oldest first, as LogFiles.openChain gives
 * them), passing matching entries to `onEntry`, which may return a promise to
 * slow the read down. Closes every file but the last, which it returns with
 * the offset where a follower goes on; all are closed on abort or error.
 */
export async function readLog(files: OpenLogFile[], opts: ReadOptions, onEntry: OnEntry): Promise<LogPosition | undefined> {
  const stats = opts.stats ?? { bytesRead: 0 };
  const signal = opts.signal;
  const last = files[files.length - 1];
  let position: LogPosition | undefined = last ? { file: last, offset: 0 } : undefined;
  const pass = (e: LogEntry | undefined): 'skip' | 'stop' | 'emit' => {
    if (!e) return 'skip';
    if (opts.untilNs !== undefined && e.timeNs > opts.untilNs) return 'stop';
    if (opts.sinceNs !== undefined && e.timeNs < opts.sinceNs) return 'skip';
    return 'emit';
  };
  try {
    if (!last) return undefined;
    // Each file is read up to the size it had when opened (to a whole line):
    // a fast writer cannot keep a plain read going; the follower goes on from there.
    const ends = await Promise.all(files.map((f) => lastLineEnd(f, stats)));
    position = { file: last, offset: ends[ends.length - 1]! };
    if (opts.tail !== undefined) {
      // Backwards from the end, file by file, until N lines are in hand.
      const picked: Buffer[][] = [];
      let want = opts.tail;
      for (let i = files.length - 1; i >= 0 && want > 0; i--) {
        signal?.throwIfAborted();
        const lines = await tailLines(files[i]!.fh, ends[i]!, want, stats, signal);
        picked.unshift(lines);
        want -= lines.length;
      }
      for (const lines of picked) {
        for (const line of lines) {
          signal?.throwIfAborted();
          const e = parseLogLine(line);
          const verdict = pass(e);
          if (verdict === 'stop') return position;
          if (verdict === 'emit') await onEntry(e!);
        }
      }
      return position;
    }
    let first = 0;
    if (opts.sinceNs !== undefined) {
      // Skip whole files that end before `since`: the next one starts earlier than it.
      while (first < files.length - 1) {
        const nextStart = await firstTimestamp(files[first + 1]!.fh, stats);
        if (nextStart === undefined || nextStart >= opts.sinceNs) break;
        first++;
      }
    }
    for (let i = first; i < files.length; i++) {
      const f = files[i]!;
      const from = i === first && opts.sinceNs !== undefined ? await seekTime(f.fh, ends[i]!, opts.sinceNs, stats) : 0;
      let stop = false;
      await readLines(f.fh, from, ends[i]!, stats, signal, (line) => {
        const e = parseLogLine(line);
        const verdict = pass(e);
        if (verdict === 'stop') {
          stop = true;
          return false;
        }
        const pending = verdict === 'emit' ? onEntry(e!) : undefined;
        return pending ? pending.then(() => true) : true;
      });
      if (stop) return position;
    }
    return position;
  } catch (err) {
    position = undefined;
    throw err;
  } finally {
    await Promise.all(files.filter((f) => f !== position?.file).map((f) => f.fh.close().catch(() => {})));
  }
}

/** The offset after the last newline within the file's size at open. */
async function lastLineEnd(f: OpenLogFile, stats: { bytesRead: number }): Promise<number> {
  let pos = f.size;
  const buf = Buffer.allocUnsafe(PROBE);
  while (pos > 0) {
    const len = Math.min(PROBE, pos);
    pos -= len;
    const { bytesRead } = await f.fh.read(buf, 0, len, pos);
    stats.bytesRead += bytesRead;
    const nl = buf.subarray(0, bytesRead).lastIndexOf(0x0a);
    if (nl >= 0) return pos + nl + 1;
  }
  return 0;
}

/** The last `n` whole lines before `end` (which follows a newline), reading backwards. */
export async function tailLines(fh: FileHandle, end: number, n: number, stats: { bytesRead: number }, signal?: AbortSignal): Promise<Buffer[]> {
  if (n <= 0 || end === 0) return [];
  const chunks: Buffer[] = [];
  let pos = end;
  let start = 0;
  let seen = 0;
  outer: while (pos > 0) {
    signal?.throwIfAborted();
    const len = Math.min(CHUNK, pos);
    pos -= len;
    const buf = Buffer.allocUnsafe(len);
    const { bytesRead } = await fh.read(buf, 0, len, pos);
    stats.bytesRead += bytesRead;
    chunks.unshift(buf);
    // The newline at end-1 closes the last line; each one before it closes one more.
    for (let i = len - 1; i >= 0; i--) {
      if (buf[i] !== 0x0a || pos + i === end - 1) continue;
      if (++seen === n) {
        start = pos + i + 1;
        break outer;
      }
    }
  }
  const data = Buffer.concat(chunks).subarray(start - pos, end - pos);
  const lines: Buffer[] = [];
  let from = 0;
  for (;;) {
    const nl = data.indexOf(0x0a, from);
    if (nl < 0) break;
    lines.push(data.subarray(from, nl + 1));
    from = nl + 1;
  }
  return lines;
}

/**
 * Reads whole lines (newline included) from `from` up to `to` (or to the
 * end of the file when `to` is undefined), awaiting `onLine`; it returns false to stop. Returns
 * the offset after the last whole line read.
 */
async function readLines(
  fh: FileHandle, from: number, to: number | undefined, stats: { bytesRead: number }, signal: AbortSignal | undefined,
  onLine: (line: Buffer) => boolean | Promise<boolean>,
): Promise<number> {
  let offset = from;
  let rest = Buffer.alloc(0);
  for (;;) {
    signal?.throwIfAborted();
    const want = to === undefined ? CHUNK : Math.min(CHUNK, to - offset - rest.length);
    if (want <= 0) return offset;
    // A fresh buffer per read: entries are views of it and may outlive this loop (queued socket writes).
    const buf = Buffer.allocUnsafe(want);
    const { bytesRead } = await fh.read(buf, 0, want, offset + rest.length);
    stats.bytesRead += bytesRead;
    if (bytesRead === 0) return offset;
    const data = rest.length ? Buffer.concat([rest, buf.subarray(0, bytesRead)]) : buf.subarray(0, bytesRead);
    let start = 0;
    let nl: number;
    while ((nl = data.indexOf(0x0a, start)) >= 0) {
      const line = data.subarray(start, nl + 1);
      start = nl + 1;
      offset += line.length;
      const go = onLine(line);
      if (!(go === true || (go !== false && (await go)))) return offset;
      if (signal?.aborted) signal.throwIfAborted();
    }
    rest = Buffer.from(data.subarray(start));
  }
}

async function firstTimestamp(fh: FileHandle, stats: { bytesRead: number }): Promise<bigint | undefined> {
  const buf = Buffer.allocUnsafe(PROBE);
  const { bytesRead } = await fh.read(buf, 0, PROBE, 0);
  stats.bytesRead += bytesRead;
  const line = buf.subarray(0, bytesRead);
  const sp = line.indexOf(0x20);
  if (sp < 0) return undefined;
  const ns = parseTimestampNs(line.subarray(0, sp).toString('latin1'));
  return ns === 0n ? undefined : ns;
}

/**
 * The offset of the first line stamped at or after `sinceNs`, by bisection
 * over byte offsets (conmon stamps lines in order): each probe reads the
 * line that starts after the probed offset.
 */
export async function seekTime(fh: FileHandle, end: number, sinceNs: bigint, stats: { bytesRead: number }): Promise<number> {
  const buf = Buffer.allocUnsafe(PROBE);
  /** The start of the first line at or after `pos`, and its timestamp (undefined: none before `end`). */
  const lineAt = async (pos: number): Promise<{ start: number; ns: bigint } | undefined> => {
    let start = pos;
    if (pos > 0) {
      // The line containing pos-1 ends at the next newline at or after pos-1.
      let p = pos - 1;
      for (;;) {
        if (p >= end) return undefined;
        const { bytesRead } = await fh.read(buf, 0, Math.min(PROBE, end - p), p);
        stats.bytesRead += bytesRead;
        if (bytesRead === 0) return undefined;
        const nl = buf.subarray(0, bytesRead).indexOf(0x0a);
        if (nl >= 0) {
          start = p + nl + 1;
          break;
        }
        p += bytesRead;
      }
    }
    if (start >= end) return undefined;
    const { bytesRead } = await fh.read(buf, 0, Math.min(64, end - start), start);
    stats.bytesRead += bytesRead;
    const head = buf.subarray(0, bytesRead);
    const sp = head.indexOf(0x20);
    return { start, ns: sp < 0 ? 0n : parseTimestampNs(head.subarray(0, sp).toString('latin1')) };
  };
  let lo = 0;
  let hi = end;
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    const l = await lineAt(mid);
    if (!l || l.ns >= sinceNs) hi = mid;
    else lo = mid + 1;
  }
  return (await lineAt(lo))?.start ?? end;
}

/**
 * Follows a container's log from a position, across conmon's replacements
 * of the live file, calling `onEntry` for each new entry. A follower opens
 * each new live file as soon as it appears, so a client that lags behind a
 * fast writer keeps the files it has not read yet (rotation unlinks them,
 * the open handle keeps them until it is done) and loses nothing. `drain()`
 * reads whatever is left (conmon has flushed everything by the time it
 * reports the exit) and stops; `stop()` (or an abort of either signal) stops
 * at once and closes every file.
 */
export class LogFollower {
  private current: OpenLogFile | undefined;
  private offset: number;
  /** Files newer than `current`, oldest first, held open until read. */
  private readonly queue: OpenLogFile[] = [];
  private reading: Promise<void> = Promise.resolve();
  private pending = false;
  private pinning: Promise<void> | undefined;
  private stopped = false;
  private readonly abort = new AbortController();
  private unsubscribe: (() => void) | undefined;
  private readonly unkeep: () => void;
  private readonly stats = { bytesRead: 0 };
  /** The time of the last entry read, to find the way on when a file lost its names. */
  private lastNs = 0n;

  constructor(
    private readonly files: LogFiles,
    start: LogPosition | undefined,
    private readonly onEntry: OnEntry,
    private readonly opts: { untilNs?: bigint; signal?: AbortSignal } = {},
  ) {
    this.current = start?.file;
    this.offset = start?.offset ?? 0;
    // From now on, a rotation hands this follower the files it has not
    // opened before it can unlink them: it never depends on a watcher event
    // arriving between two rotations.
    this.unkeep = files.keepBeforeRotation((chain) => this.takeNewer(chain));
    for (const s of [opts.signal, files.signal]) {
      if (s?.aborted) this.stop();
      else s?.addEventListener('abort', () => this.stop(), { once: true });
    }
  }

  start(): void {
    if (this.stopped) return;
    this.unsubscribe = this.files.subscribe(() => {
      this.poke();
      void this.pin();
    });
    this.poke();
  }

  /** Schedules a read; reads never overlap. */
  poke(): void {
    if (this.stopped || this.pending) return;
    this.pending = true;
    this.reading = this.reading.then(async () => {
      this.pending = false;
      if (!this.stopped) await this.turn();
    }).catch(() => {});
  }

  /** The newest file this follower holds. */
  private get newest(): OpenLogFile | undefined {
    return this.queue[this.queue.length - 1] ?? this.current;
  }

  /**
   * Opens a new live file as soon as it appears, even while the reader is
   * busy: conmon may replace it and rotation may unlink it before the reader
   * gets there. Runs outside the read turn, one at a time.
   */
  private pin(): Promise<void> {
    if (this.pinning) return this.pinning;
    const run: Promise<void> = this.pinNow()
      .catch(() => {})
      .finally(() => {
        if (this.pinning === run) this.pinning = undefined;
      });
    this.pinning = run;
    return run;
  }

  private async pinNow(): Promise<void> {
    const newest = this.newest;
    if (!newest || this.stopped) return;
    const live = await this.files.liveInode();
    if (live === undefined || live === newest.ino || this.queue.some((f) => f.ino === live)) return;
    await this.takeNewer(await this.files.openChain(), newest);
  }

  /** Keeps (queues) the files of `chain` newer than the newest held; closes the rest. */
  private async takeNewer(chain: OpenLogFile[], newest = this.newest): Promise<void> {
    if (!newest || this.stopped || this.newest !== newest) {
      await Promise.all(chain.map((f) => f.fh.close()));
      return;
    }
    const at = chain.findIndex((f) => f.ino === newest.ino);
    const keep = at >= 0 ? chain.slice(at + 1) : await this.newerThanRead(chain);
    const taken = !this.stopped && this.newest === newest;
    if (taken) this.queue.push(...keep);
    await Promise.all(chain.filter((f) => !taken || !keep.includes(f)).map((f) => f.fh.close()));
  }

  /**
   * For a file with no name any more (rotated out, or replaced twice before
   * berthd could link it): the files of the chain that start no earlier than
   * what was read last (conmon stamps a whole read with one time, so a
   * continuation can share it).
   */
  private async newerThanRead(chain: OpenLogFile[]): Promise<OpenLogFile[]> {
    for (let i = 0; i < chain.length; i++) {
      const first = await firstTimestamp(chain[i]!.fh, this.stats);
      if (first !== undefined && first >= this.lastNs) return chain.slice(i);
    }
    return chain.slice(-1);
  }

  private async turn(): Promise<void> {
    const signal = this.abort.signal;
    for (;;) {
      if (this.stopped) return;
      if (!this.current) {
        const chain = await this.files.openChain();
        this.current = chain.shift();
        await Promise.all(chain.map((f) => f.fh.close()));
        this.offset = 0;
        if (!this.current) return;
        if (this.stopped) return this.release();
      }
      const cur = this.current;
      this.offset = await readLines(cur.fh, this.offset, undefined, this.stats, signal, this.onLine);
      if (this.stopped) return;
      if (!this.queue.length) {
        const live = await this.files.liveInode();
        if (live === undefined || live === cur.ino) return;
        await this.pin();
        if (this.stopped || !this.queue.length) return;
      }
      // conmon replaced the file: what it wrote before the rename is all there is; read it, then move on.
      this.offset = await readLines(cur.fh, this.offset, undefined, this.stats, signal, this.onLine);
      if (this.stopped) return;
      await cur.fh.close().catch(() => {});
      this.current = this.queue.shift();
      this.offset = 0;
    }
  }

  private readonly onLine = (line: Buffer): boolean | Promise<boolean> => {
    const e = parseLogLine(line);
    if (!e) return !this.stopped;
    this.lastNs = e.timeNs;
    if (this.opts.untilNs !== undefined && e.timeNs > this.opts.untilNs) return !this.stopped;
    const pending = this.onEntry(e);
    return pending ? pending.then(() => !this.stopped) : !this.stopped;
  };

  /** Reads to the end of the files once more, then stops. */
  async drain(): Promise<void> {
    await this.pin();
    this.poke();
    await this.reading;
    this.pending = false;
    await this.pin();
    this.poke();
    await this.reading;
    this.stop();
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.unsubscribe?.();
    this.unkeep();
    this.abort.abort();
    // Closed now, not after the turn: a turn can hang on a client that stopped reading.
    void this.release();
    void this.reading.then(() => this.release());
    void this.pinning?.then(() => this.release());
  }

  private async release(): Promise<void> {
    const open = [this.current, ...this.queue.splice(0)];
    this.current = undefined;
    await Promise.all(open.map((f) => f?.fh.close().catch(() => {})));
  }
}
