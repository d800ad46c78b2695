import { link, open, readdir, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';

// The files of one container's log, and their rotation (docs/logs.md).
//
// conmon writes `container.log`. berthd rotates it: when the live file
// reaches max-size it shifts the rotated files up (deleting those past
// max-file), renames the live file to `.1` and asks conmon (its ctl fifo,
// message 2) to reopen its log, which makes a new empty `container.log`.
// conmon writes into the renamed file until it reopens, so nothing is lost;
// the file passes max-size by what arrives in between.
//
// conmon also has a size limit of its own (--log-size-max), a backstop for
// when berthd is down: past it conmon opens `container.log.tmp` empty and
// renames it over `container.log`, unlinking the old file. berthd keeps a
// second name for the live file (`container.log.hold`, a hard link made as
// soon as the file exists), so a file conmon replaces survives and is
// rotated like the others. Oldest first, the chain reads:
//   container.log.<max-file - 1> … container.log.1, container.log.hold, container.log
// where `.hold` and the live file are the same inode except for the moment
// between conmon's rename and berthd's shift. Readers open the chain under
// the rotation lock and go by inode, so a shift never makes them skip or
// repeat; followers hold every file they have not read yet open.
//
// What can be lost: while berthd is down, conmon's backstop replaces the live
// file; the first replaced file survives under `.hold`, later ones are gone.

export interface OpenLogFile {
  fh: FileHandle;
  ino: number;
  size: number;
}

const HOLD_SUFFIX = '.hold';

export class LogFiles {
  private lock: Promise<unknown> = Promise.resolve();
  private watcher: FSWatcher | undefined;
  private readonly listeners = new Set<() => void>();
  private readonly keepers = new Set<(chain: OpenLogFile[]) => Promise<void>>();
  private readonly closed = new AbortController();
  private readonly hold: string;
  private reopen: (() => Promise<void>) | undefined;
  private checking = false;

  /**
   * @param path the live file conmon writes
   * @param maxFile files kept, the live one included
   * @param maxSize bytes after which the live file is rotated; undefined: never
   */
  constructor(readonly path: string, readonly maxFile: number, readonly maxSize?: number) {
    this.hold = path + HOLD_SUFFIX;
  }

  /** Aborts when the container is removed: every reader and follower stops. */
  get signal(): AbortSignal {
    return this.closed.signal;
  }

  /**
   * Before conmon starts: a second name left by a berthd that went down
   * becomes a rotated file; a live file already full is rotated (conmon
   * appends to it otherwise, as Docker appends across restarts).
   */
  beforeRun(): Promise<void> {
    return this.locked(async () => {
      const [live, held] = await Promise.all([inode(this.path), inode(this.hold)]);
      if (held !== undefined && held !== live) await this.shift(this.hold);
      else if (held !== undefined) await unlink(this.hold).catch(() => {});
      if (live === undefined || this.maxSize === undefined) return;
      if (((await stat(this.path).catch(() => undefined))?.size ?? 0) >= this.maxSize) await this.shift(this.path);
    });
  }

  /**
   * Once conmon created the live file: keep its second name, watch for
   * conmon's rename and the file's growth. `reopen` asks conmon to reopen its log.
   */
  async track(reopen?: () => Promise<void>, opts: { watch?: boolean } = {}): Promise<void> {
    this.reopen = reopen;
    this.stopWatching();
    if (this.closed.signal.aborted) return;
    const name = basename(this.path);
    // watch: false (tests) — the caller drives rotation through rotateIfFull().
    if (opts.watch !== false) try {
      this.watcher = watch(dirname(this.path), { persistent: false }, (event, file) => {
        const f = file?.toString();
        if (f !== name) return;
        if (event === 'rename') void this.adopt();
        else void this.checkSize();
        for (const l of this.listeners) l();
      });
      this.watcher.on('error', () => this.stopWatching());
    } catch {
      /* the directory is gone: nothing to watch */
    }
    await this.adopt();
    await this.checkSize();
  }

  /** The run ended (conmon exited): stop watching; the live file keeps one name. */
  async untrack(): Promise<void> {
    this.stopWatching();
    this.reopen = undefined;
    await this.adopt();
    await this.locked(async () => {
      if ((await inode(this.hold)) === (await inode(this.path))) await unlink(this.hold).catch(() => {});
      // A rotation just before conmon exited left no live file (nobody was
      // left to reopen it); Docker's json-file always has one, empty if need be.
      if ((await inode(this.path)) === undefined && (await inode(`${this.path}.1`)) !== undefined) {
        await open(this.path, 'wx', 0o600).then((fh) => fh.close(), () => {});
      }
    });
    for (const l of this.listeners) l();
  }

  /** The container is gone: stop everything that reads these files. */
  close(): void {
    this.stopWatching();
    this.closed.abort(new Error('container removed'));
    for (const l of this.listeners) l();
  }

  /** Calls `fn` whenever the files may have changed; returns the unsubscriber. */
  subscribe(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /**
   * Registers a follower's keeper: before a rotation may take the last name
   * of a file (max-file reached, or the live file itself with max-file=1),
   * under the rotation lock, it is handed the chain opened for it alone and
   * keeps (holds open) the files it has not read yet, closing the others.
   * So a follower never depends on seeing a watcher event between two
   * rotations. Returns the unregisterer.
   */
  keepBeforeRotation(fn: (chain: OpenLogFile[]) => Promise<void>): () => void {
    this.keepers.add(fn);
    return () => this.keepers.delete(fn);
  }

  /** Rotates the live file now if it reached max-size (the watcher calls this on every write). */
  rotateIfFull(): Promise<void> {
    return this.checkSize();
  }

  /** Opens every file of the chain, oldest first, one handle per inode. */
  openChain(): Promise<OpenLogFile[]> {
    return this.locked(() => this.openChainNow());
  }

  private async openChainNow(): Promise<OpenLogFile[]> {
    {
      const names = [];
      for (let i = this.maxFile - 1; i >= 1; i--) names.push(`${this.path}.${i}`);
      names.push(this.hold, this.path);
      const out: OpenLogFile[] = [];
      for (const name of names) {
        let fh: FileHandle;
        try {
          fh = await open(name, 'r');
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
          await Promise.all(out.map((f) => f.fh.close()));
          throw err;
        }
        const st = await fh.stat();
        if (out.some((f) => f.ino === st.ino)) {
          await fh.close();
          continue;
        }
        out.push({ fh, ino: st.ino, size: st.size });
      }
      return out;
    }
  }

  /** Under the lock, before a file may lose its last name: every follower keeps what it has not read. */
  private async offerToKeepers(): Promise<void> {
    for (const keep of [...this.keepers]) {
      const chain = await this.openChainNow().catch(() => [] as OpenLogFile[]);
      await keep(chain).catch(() => Promise.all(chain.map((f) => f.fh.close().catch(() => {}))));
    }
  }

  /** The live file's inode now, if there is one. */
  liveInode(): Promise<number | undefined> {
    return inode(this.path);
  }

  /** Rotates the live file once it reached max-size; one check at a time. */
  private async checkSize(): Promise<void> {
    if (this.maxSize === undefined || this.checking || !this.reopen) return;
    this.checking = true;
    try {
      const size = (await stat(this.path).catch(() => undefined))?.size ?? 0;
      if (size < this.maxSize) return;
      const rotated = await this.locked(async () => {
        const [live, held] = await Promise.all([inode(this.path), inode(this.hold)]);
        // The run ended meanwhile: nobody would reopen a new live file.
        if (!this.reopen) return false;
        // Not yet linked (conmon just replaced it): adopt first, the next write brings us back.
        if (live === undefined || (held !== undefined && held !== live)) return false;
        if (((await stat(this.path).catch(() => undefined))?.size ?? 0) < this.maxSize!) return false;
        await this.shift(this.path);
        if (held !== undefined) await unlink(this.hold).catch(() => {});
        return true;
      });
      // conmon keeps writing into the renamed file until it reopens `path`.
      if (rotated) await this.reopen?.().catch(() => {});
    } finally {
      this.checking = false;
    }
  }

  /** Makes `.hold` name the live file again, rotating what it named before. */
  private adopt(): Promise<void> {
    return this.locked(async () => {
      for (let turn = 0; turn < 8; turn++) {
        const [live, held] = await Promise.all([inode(this.path), inode(this.hold)]);
        if (live === undefined || live === held) return;
        if (held !== undefined) await this.shift(this.hold);
        try {
          await link(this.path, this.hold);
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code;
          if (code === 'ENOENT') return;
          if (code !== 'EEXIST') throw err;
        }
      }
    }).catch(() => {});
  }

  /** Moves `src` to `.1` after shifting the rotated files up; those past max-file go. */
  private async shift(src: string): Promise<void> {
    await this.offerToKeepers();
    if (this.maxFile <= 1) {
      await unlink(src).catch(() => {});
      return;
    }
    // Only the names that exist: max-file may be large.
    const prefix = `${basename(this.path)}.`;
    const numbers = (await readdir(dirname(this.path)).catch(() => [] as string[]))
      .filter((n) => n.startsWith(prefix) && /^\d+$/.test(n.slice(prefix.length)))
      .map((n) => Number(n.slice(prefix.length)))
      .sort((a, b) => b - a);
    for (const i of numbers) {
      if (i >= this.maxFile - 1) await unlink(`${this.path}.${i}`).catch(() => {});
      else await rename(`${this.path}.${i}`, `${this.path}.${i + 1}`).catch(() => {});
    }
    await rename(src, `${this.path}.1`);
  }

  private stopWatching(): void {
    this.watcher?.close();
    this.watcher = undefined;
  }

  private locked<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.lock.then(fn, fn);
    this.lock = run.catch(() => {});
    return run;
  }
}

async function inode(path: string): Promise<number | undefined> {
  try {
    return (await stat(path)).ino;
  } catch {
    return undefined;
  }
}
