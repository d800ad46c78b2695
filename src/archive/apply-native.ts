import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, readdirSync } from 'node:fs';
import { rm, lstat } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { InvalidParameterError, SystemError } from '../errors/index.js';
import { decompress, detectCompression, type Compression } from './compression.js';
import { teeToFile } from './tap.js';

// A layer unpacked by GNU tar into an empty overlay upper dir of its own
// (a gzip one through [tee BLOB |] igzip | tee (openssl sha256) | tar when
// those exist):
// the fast path of a pull, where each layer of an image unpacks at once in
// its own process (decompression stays in zlib's threads, the diff ID hash
// in this one). GNU tar refuses members with "..", strips leading "/", and
// delays symlinks that point out until the end, so nothing is written
// outside the target; any such member fails the layer. Whiteout files are
// turned into overlay's own afterwards. The tar headers are scanned here
// for the content size (what Docker shows as the layer's size).

const TAR = ['/usr/bin/tar', '/bin/tar'].find((p) => existsSync(p));
const BASH = ['/usr/bin/bash', '/bin/bash'].find((p) => existsSync(p));
const IGZIP = ['/usr/bin/igzip', '/bin/igzip'].find((p) => existsSync(p));
const OPENSSL = ['/usr/bin/openssl', '/bin/openssl'].find((p) => existsSync(p));
const TEE = ['/usr/bin/tee', '/bin/tee'].find((p) => existsSync(p));
const CAT = ['/usr/bin/cat', '/bin/cat'].find((p) => existsSync(p));
const TAR_ARGS = ['-x', '-b', '2048', '-B', '-f', '-', '--numeric-owner', '--same-owner', '-p', '--xattrs', '--xattrs-include=*', '--xattrs-exclude=trusted.overlay.*', '--same-permissions'];

export function nativeTarAvailable(): boolean {
  return TAR !== undefined;
}

/** Sums regular-file sizes from tar headers as the bytes stream past. */
class HeaderScanner {
  size = 0;
  private skip = 0;
  private header = Buffer.alloc(512);
  private have = 0;
  private done = false;
  private paxSize: number | undefined;
  private paxPending: { left: number; chunks: Buffer[] } | undefined;

  feed(chunk: Buffer): void {
    let off = 0;
    while (off < chunk.length && !this.done) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, chunk.length - off);
        if (this.paxPending) {
          this.paxPending.chunks.push(chunk.subarray(off, off + n));
          this.paxPending.left -= n;
        }
        this.skip -= n;
        off += n;
        if (this.skip === 0 && this.paxPending) this.endPax();
        continue;
      }
      const n = Math.min(512 - this.have, chunk.length - off);
      chunk.copy(this.header, this.have, off, off + n);
      this.have += n;
      off += n;
      if (this.have === 512) {
        this.have = 0;
        this.onHeader();
      }
    }
  }

  private endPax(): void {
    const text = Buffer.concat(this.paxPending!.chunks).toString('utf8');
    this.paxPending = undefined;
    const m = /(?:^|\n)\d+ size=(\d+)\n/.exec(text);
    if (m) this.paxSize = Number(m[1]);
  }

  private onHeader(): void {
    const h = this.header;
    if (h.every((b) => b === 0)) return; // end-of-archive blocks
    let size: number;
    if (h[124]! & 0x80) {
      size = 0;
      for (let i = 125; i < 136; i++) size = size * 256 + h[i]!;
    } else {
      size = parseInt(h.toString('ascii', 124, 136).replace(/\0.*$/, '').trim() || '0', 8);
    }
    const type = String.fromCharCode(h[156]!);
    if (type === 'x' || type === 'g') {
      this.skip = Math.ceil(size / 512) * 512;
      if (type === 'x') this.paxPending = { left: size, chunks: [] };
      return;
    }
    if (this.paxSize !== undefined) size = this.paxSize;
    this.paxSize = undefined;
    if (type === '0' || type === '\0' || type === '7') this.size += size;
    // Hard links, symlinks, directories and devices carry no data.
    const hasData = !['1', '2', '3', '4', '5', '6'].includes(type);
    this.skip = hasData ? Math.ceil(size / 512) * 512 : 0;
  }
}

async function run(cmd: string, args: string[]): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    p.on('error', reject);
    p.on('close', (code) => (code === 0 ? resolve() : reject(new SystemError(`${cmd}: ${err.trim() || `exit status ${code}`}`))));
  });
}

/**
 * Turns .wh. files left by tar into overlay whiteouts (0/0 devices, opaque
 * xattrs); returns the bytes of the regular files (hard links once), the
 * layer's size as the tar headers give it. The tree is read with synchronous
 * calls, a slice of entries at a time: a promise per lstat costs ten times
 * the CPU (a thread-pool round trip each), and a layer has thousands.
 */
async function convertWhiteouts(root: string, measure = false): Promise<number> {
  let size = 0;
  const seen = new Set<number>();
  const whiteouts: Array<{ dir: string; name: string }> = [];
  const dirs = [root];
  let entries = 0;
  while (dirs.length > 0) {
    const dir = dirs.pop()!;
    for (const ent of readdirSync(dir, { withFileTypes: true })) {
      if (++entries % 2000 === 0) await new Promise((r) => setImmediate(r));
      if (ent.name.startsWith('.wh.')) {
        whiteouts.push({ dir, name: ent.name });
      } else if (ent.isDirectory()) {
        dirs.push(join(dir, ent.name));
      } else if (measure && ent.isFile()) {
        const st = lstatSync(join(dir, ent.name));
        if (st.nlink > 1) {
          if (seen.has(st.ino)) continue;
          seen.add(st.ino);
        }
        size += st.size;
      }
    }
  }
  for (const { dir, name } of whiteouts) {
    const path = join(dir, name);
    if (name === '.wh..wh..opq') {
      await rm(path, { force: true });
      await run('setfattr', ['-n', 'trusted.overlay.opaque', '-v', 'y', dir]);
    } else if (name.startsWith('.wh..wh.')) {
      await rm(path, { force: true });
    } else {
      const victim = join(dir, name.slice(4));
      await rm(path, { force: true });
      await rm(victim, { recursive: true, force: true });
      await run('mknod', [victim, 'c', '0', '0']);
    }
  }
  return size;
}

/**
 * Reads the first `n` bytes of `input` (fewer if it ends) and puts them back:
 * no extra stream stage, the bytes of a pull go on to the pipeline as they came.
 */
async function head(input: Readable, n: number): Promise<{ first: Buffer; stream: Readable }> {
  const chunks: Buffer[] = [];
  let have = 0;
  try {
    while (have < n) {
      if (input.errored) throw input.errored;
      const chunk = input.read() as Buffer | string | null;
      if (chunk !== null) {
        const b = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
        chunks.push(b);
        have += b.length;
        continue;
      }
      if (input.readableEnded || input.destroyed) break;
      await new Promise<void>((resolve, reject) => {
        const settle = (err?: Error) => {
          input.off('readable', ok);
          input.off('end', ok);
          input.off('error', settle);
          if (err) reject(err);
          else resolve();
        };
        const ok = () => settle();
        input.on('readable', ok);
        input.on('end', ok);
        input.on('error', settle);
      });
    }
  } catch (err) {
    input.destroy();
    throw err;
  }
  const all = Buffer.concat(chunks);
  // A stream that ended already takes nothing back: a (tiny) copy stands in.
  if (input.readableEnded) return { first: all.subarray(0, n), stream: Readable.from([all], { objectMode: false }) };
  if (all.length > 0) input.unshift(all);
  return { first: all.subarray(0, n), stream: input };
}

/**
 * The fast path for a gzip layer: [tee BLOB |] igzip | tee (openssl sha256,
 * the diff ID) | tar, one process group, so the plain bytes never pass
 * through this process (on a busy machine that saves a fifth of a pull). Only
 * the compressed bytes are written to its stdin; with `blobPath` the
 * pipeline also keeps them in that file, so this process writes no file
 * either. GNU tar stops reading at the archive's end marker: what follows
 * (padding) is read and dropped after a good extraction, as dockerd does, so
 * the diff ID covers the whole stream and no stage dies of SIGPIPE; a failed
 * tar stops the pipeline at once.
 */
async function applyGzipPipeline(input: Readable, target: string, signal?: AbortSignal, blobPath?: string): Promise<{ diffId: string; size: number; compression: Compression }> {
  const unpack = '"$1" -dc | "$6" >(exec "$2" dgst -sha256 -r >&3) | { "$3" "${@:8}" -C "$4" || exit; exec "$7" >/dev/null; }';
  const script = `set -o pipefail; ${blobPath !== undefined ? '"$6" -- "$5" | ' : ''}${unpack}`;
  // --norc: a bash whose stdin is a socket (node's stdio pipes are
  // socketpairs) and whose SHLVL is unset, as under a service manager, takes
  // itself for one started by rshd and runs ~/.bashrc (seen here: 100 ms of
  // someone's shell set-up per layer).
  const child = spawn(BASH!, ['--norc', '--noprofile', '-c', script, 'bash', IGZIP!, OPENSSL!, TAR!, target, blobPath ?? '', TEE!, CAT!, ...TAR_ARGS], {
    stdio: ['pipe', 'ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  let hashOut = '';
  const hashDone = new Promise<void>((resolve) => {
    const fd3 = child.stdio[3] as Readable;
    fd3.setEncoding('utf8').on('data', (d: string) => (hashOut += d));
    fd3.on('close', () => resolve());
    fd3.on('error', () => resolve());
  });
  const exited = new Promise<number>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve(code ?? 1));
  });
  const killAll = () => {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      /* gone */
    }
  };
  const onAbort = () => {
    killAll();
    input.destroy();
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const stdin = child.stdin!;
    stdin.on('error', () => {}); // a pipeline that failed early: its exit status says why
    // Piped, not iterated: no promise per chunk. The input's own failure
    // (even one before this point) fails the layer; a pipeline that died
    // early stops taking it, and its exit status says why.
    const inputDone = finished(input);
    inputDone.catch(() => {}); // when the pipeline wins the race below, the input's fate is decided later
    const fed = Promise.race([inputDone, new Promise<void>((resolve) => stdin.once('close', resolve))]);
    input.pipe(stdin);
    await fed;
    const code = await exited;
    await hashDone;
    signal?.throwIfAborted();
    if (code !== 0) {
      const msg = stderr.trim().split('\n').filter((l) => !/Exiting with failure|Broken pipe|write error/.test(l)).join('; ');
      if (/\.\.|Not a directory|Cannot hard link|Removing leading/.test(msg)) throw new InvalidParameterError(`refusing to extract the layer: ${msg}`);
      if (/igzip/.test(msg)) throw new InvalidParameterError(msg);
      throw new SystemError(`tar: ${msg || `exit status ${code}`}`);
    }
    const m = /^([0-9a-f]{64})\b/.exec(hashOut);
    if (!m) throw new SystemError(`layer digest not computed: ${hashOut.trim() || stderr.trim()}`);
    const size = await convertWhiteouts(target, true);
    return { diffId: `sha256:${m[1]}`, size, compression: 'gzip' };
  } catch (err) {
    killAll();
    input.destroy();
    if (signal?.aborted) throw signal.reason ?? err;
    throw err;
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}

export interface NativeApplyOptions {
  /** Keep the (compressed) input as it came in this file too. */
  blobPath?: string;
}

/** Unpacks a (compressed) layer tar into empty `target` with GNU tar; overlay whiteouts. */
export async function applyLayerNative(
  input: Readable,
  target: string,
  signal?: AbortSignal,
  opts: NativeApplyOptions = {},
): Promise<{ diffId: string; size: number; compression: Compression }> {
  if (!TAR) throw new SystemError('GNU tar is not installed');
  if (!(await lstat(target)).isDirectory()) throw new InvalidParameterError(`extraction target ${target} is not a directory`);
  if (BASH && IGZIP && OPENSSL && TEE && CAT) {
    const { first, stream } = await head(input, 6);
    input = stream;
    if (detectCompression(first) === 'gzip') return applyGzipPipeline(input, target, signal, opts.blobPath);
  }
  let blobWritten: Promise<void> | undefined;
  if (opts.blobPath !== undefined) ({ stream: input, written: blobWritten } = teeToFile(input, opts.blobPath));
  const plain = await decompress(input, { large: true });
  const hash = createHash('sha256');
  const scanner = new HeaderScanner();
  const child = spawn(TAR, [...TAR_ARGS, '-C', target], {
    stdio: ['pipe', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = new Promise<number>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve(code ?? 1));
  });
  const onAbort = () => {
    child.kill('SIGKILL');
    plain.stream.destroy();
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  // tar stops reading at the archive's end marker: what follows is still
  // hashed (the diff ID covers the whole stream, as dockerd drains it); a tar
  // that failed says why by its exit status.
  child.stdin.on('error', () => {});
  try {
    for await (const chunk of plain.stream as AsyncIterable<Buffer>) {
      hash.update(chunk);
      scanner.feed(chunk);
      if (child.stdin.destroyed) {
        if (child.exitCode !== null && child.exitCode !== 0) break;
        continue;
      }
      if (!child.stdin.write(chunk)) {
        await new Promise<void>((r) => {
          const done = () => {
            child.stdin.off('drain', done);
            child.stdin.off('close', done);
            r();
          };
          child.stdin.on('drain', done);
          child.stdin.on('close', done);
        });
      }
    }
    child.stdin.end();
    const code = await exited;
    signal?.throwIfAborted();
    if (code !== 0) {
      const msg = stderr.trim().split('\n').filter((l) => !/Exiting with failure/.test(l)).join('; ');
      if (/\.\.|Not a directory|Cannot hard link|Removing leading/.test(msg)) throw new InvalidParameterError(`refusing to extract the layer: ${msg}`);
      throw new SystemError(`tar: ${msg || `exit status ${code}`}`);
    }
    // A walk of the new tree: cheap next to the extraction, and no name is missed.
    await convertWhiteouts(target);
    if (blobWritten) {
      input.destroy();
      await blobWritten;
    }
    return { diffId: `sha256:${hash.digest('hex')}`, size: scanner.size, compression: plain.compression };
  } catch (err) {
    child.kill('SIGKILL');
    plain.stream.destroy();
    if (signal?.aborted) throw signal.reason ?? err;
    throw err;
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}
