import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readFile, readdir, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { addAbortSignal, type Readable } from 'node:stream';
import { InvalidParameterError, NotFoundError } from '../errors/index.js';
import type { BlobInfo, ContentStore, FileIngest, ReadOptions, Writer, WriterOptions } from './content-store.js';
import { DigestMismatchError, hexOf, validateDigest } from './digest.js';

// Blobs on disk, the layout the image store always had:
//
//   <root>/blobs/sha256/<hex>     committed blobs, never changed once there
//   <root>/ingest/<ref hash>/     one ingest: data (appended), ref (its name)
//
// A blob appears under blobs/ only by rename from a complete, verified and
// fsynced ingest, so a kill -9 leaves at worst an ingest, which a later
// writer with the same ref resumes and cleanup() otherwise removes.

export class LocalContentStore implements ContentStore {
  /** Refs with an open writer, and how to wait for it. */
  private readonly active = new Map<string, Promise<void>>();
  private ready: Promise<void> | undefined;

  constructor(readonly root: string) {}

  private init(): Promise<void> {
    this.ready ??= (async () => {
      await mkdir(join(this.root, 'blobs', 'sha256'), { recursive: true, mode: 0o700 });
      await mkdir(join(this.root, 'ingest'), { recursive: true, mode: 0o700 });
    })();
    return this.ready;
  }

  path(digest: string): string {
    validateDigest(digest);
    return join(this.root, 'blobs', 'sha256', hexOf(digest));
  }

  async info(digest: string): Promise<BlobInfo | undefined> {
    try {
      const st = await stat(this.path(digest));
      return { digest, size: st.size };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  async reader(digest: string, opts: ReadOptions = {}): Promise<Readable> {
    const path = this.path(digest);
    const fh = await open(path, 'r').catch((err: NodeJS.ErrnoException) => {
      throw err.code === 'ENOENT' ? new NotFoundError(`blob ${digest} not found`) : err;
    });
    return createReadStream('', { fd: fh, ...(opts.start !== undefined ? { start: opts.start } : {}), ...(opts.end !== undefined ? { end: opts.end } : {}) });
  }

  async read(digest: string): Promise<Buffer> {
    try {
      return await readFile(this.path(digest));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new NotFoundError(`blob ${digest} not found`);
      throw err;
    }
  }

  /** Waits for the ref to be free, claims it and makes its directory; returns the directory and the release. */
  private async claim(ref: string): Promise<{ dir: string; release: () => void }> {
    await this.init();
    // One writer per ref: the next waits for the previous to finish.
    while (this.active.has(ref)) await this.active.get(ref);
    let done!: () => void;
    this.active.set(ref, new Promise<void>((r) => (done = r)));
    const release = () => {
      this.active.delete(ref);
      done();
    };
    try {
      const dir = join(this.root, 'ingest', createHash('sha256').update(ref).digest('hex'));
      await mkdir(dir, { recursive: true, mode: 0o700 });
      await writeSmall(join(dir, 'ref'), ref);
      return { dir, release };
    } catch (err) {
      release();
      throw err;
    }
  }

  async fileIngest(ref: string): Promise<FileIngest> {
    const { dir, release } = await this.claim(ref);
    const data = join(dir, 'data');
    let settled = false;
    const finish = async (publish?: string) => {
      if (settled) return;
      settled = true;
      try {
        if (publish !== undefined && !(await this.info(publish))) await this.publish(data, publish);
      } finally {
        await rm(dir, { recursive: true, force: true });
        release();
      }
    };
    try {
      await writeSmall(data, '');
    } catch (err) {
      await finish();
      throw err;
    }
    return {
      ref,
      path: data,
      commit: async (digest, size) => {
        if (settled) throw new InvalidParameterError(`ingest ${ref} is closed`);
        try {
          validateDigest(digest);
          const have = (await stat(data)).size;
          if (have !== size) throw new DigestMismatchError(`${digest} (${size} bytes)`, `${have} bytes`);
        } catch (err) {
          await finish();
          throw err;
        }
        await finish(digest);
        return digest;
      },
      abort: () => finish(),
    };
  }

  async writer(ref: string, opts: WriterOptions = {}): Promise<Writer> {
    if (opts.expected !== undefined) validateDigest(opts.expected);
    const { dir, release } = await this.claim(ref);
    try {
      const data = join(dir, 'data');
      const fh = await open(data, 'a+', 0o644);
      // A resumed ingest: hash what is there already.
      const hash = createHash('sha256');
      let offset = 0;
      for await (const chunk of fh.createReadStream({ start: 0, autoClose: false }) as AsyncIterable<Buffer>) {
        hash.update(chunk);
        offset += chunk.length;
      }
      return new LocalWriter(this, ref, dir, fh, hash, offset, opts, release);
    } catch (err) {
      release();
      throw err;
    }
  }

  async put(data: Uint8Array, expected?: string): Promise<string> {
    const digest = 'sha256:' + createHash('sha256').update(data).digest('hex');
    if (expected !== undefined && expected !== digest) throw new DigestMismatchError(expected, digest);
    if (await this.info(digest)) return digest;
    const w = await this.writer(`put-${digest}`, { expected: digest, size: data.length });
    try {
      if (w.offset > 0) {
        await w.abort();
        return this.put(data, expected);
      }
      await w.write(data);
      return await w.commit();
    } catch (err) {
      await w.abort();
      throw err;
    }
  }

  async ingest(input: Readable, opts: WriterOptions & { signal?: AbortSignal } = {}): Promise<BlobInfo> {
    const ref = `ingest-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}`;
    const w = await this.writer(ref, opts);
    if (opts.signal) addAbortSignal(opts.signal, input);
    try {
      for await (const chunk of input) {
        opts.signal?.throwIfAborted();
        await w.write(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
      }
      opts.signal?.throwIfAborted();
      const size = w.offset;
      return { digest: await w.commit(), size };
    } catch (err) {
      await w.abort();
      input.destroy();
      throw err;
    }
  }

  async list(): Promise<BlobInfo[]> {
    await this.init();
    const out: BlobInfo[] = [];
    for (const name of await readdir(join(this.root, 'blobs', 'sha256'))) {
      if (!/^[a-f0-9]{64}$/.test(name)) continue;
      const st = await stat(join(this.root, 'blobs', 'sha256', name)).catch(() => undefined);
      if (st) out.push({ digest: `sha256:${name}`, size: st.size });
    }
    return out;
  }

  async delete(digest: string): Promise<void> {
    await rm(this.path(digest), { force: true });
  }

  async cleanup(): Promise<void> {
    await this.init();
    const busy = new Set([...this.active.keys()].map((r) => createHash('sha256').update(r).digest('hex')));
    for (const name of await readdir(join(this.root, 'ingest'))) {
      if (!busy.has(name)) await rm(join(this.root, 'ingest', name), { recursive: true, force: true });
    }
  }

  /** Moves a verified ingest into place. */
  async publish(dataPath: string, digest: string): Promise<void> {
    await rename(dataPath, this.path(digest));
  }
}

class LocalWriter implements Writer {
  private closed = false;

  constructor(
    private readonly store: LocalContentStore,
    readonly ref: string,
    private readonly dir: string,
    private readonly fh: FileHandle,
    private readonly hash: Hash,
    public offset: number,
    private readonly opts: WriterOptions,
    private readonly onClose: () => void,
  ) {}

  async write(chunk: Uint8Array): Promise<void> {
    if (this.closed) throw new InvalidParameterError(`ingest ${this.ref} is closed`);
    for (let off = 0; off < chunk.length; ) {
      const { bytesWritten } = await this.fh.write(chunk, off, chunk.length - off);
      off += bytesWritten;
    }
    this.hash.update(chunk);
    this.offset += chunk.length;
  }

  digest(): string {
    return 'sha256:' + this.hash.copy().digest('hex');
  }

  async commit(expected?: string, size?: number): Promise<string> {
    const digest = this.digest();
    try {
      const want = expected ?? this.opts.expected;
      const wantSize = size ?? this.opts.size;
      if (wantSize !== undefined && wantSize !== this.offset) throw new DigestMismatchError(want ?? `${wantSize} bytes`, `${digest} (${this.offset} bytes)`);
      if (want !== undefined && want !== digest) throw new DigestMismatchError(want, digest);
      if (this.opts.sync !== false) await this.fh.sync();
      await this.finish();
      if (await this.store.info(digest)) await rm(this.dir, { recursive: true, force: true });
      else {
        await this.store.publish(join(this.dir, 'data'), digest);
        await rm(this.dir, { recursive: true, force: true });
      }
      return digest;
    } catch (err) {
      await this.abort();
      throw err;
    }
  }

  private async finish(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.fh.close().catch(() => {});
    this.onClose();
  }

  close(): Promise<void> {
    return this.finish();
  }

  async abort(): Promise<void> {
    await this.finish();
    await rm(this.dir, { recursive: true, force: true });
  }
}

async function writeSmall(path: string, text: string): Promise<void> {
  const fh = await open(path, 'w', 0o644);
  try {
    await fh.writeFile(text);
  } finally {
    await fh.close();
  }
}
