import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { Readable, PassThrough } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { InvalidParameterError } from '../errors/index.js';

// Layers and `docker import` bodies arrive plain or compressed; which one is
// told by the first bytes, as Docker's archive.DetectCompression does. gzip is
// decoded in-process; xz, bzip2 and zstd are handed to their command-line
// decoders when installed (Node 20 has no zstd/xz/bzip2 of its own).

export type Compression = 'none' | 'gzip' | 'bzip2' | 'xz' | 'zstd';

const MAGIC: Array<[Compression, number[]]> = [
  ['gzip', [0x1f, 0x8b, 0x08]],
  ['bzip2', [0x42, 0x5a, 0x68]],
  ['xz', [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]],
  ['zstd', [0x28, 0xb5, 0x2f, 0xfd]],
];

export function detectCompression(head: Uint8Array): Compression {
  for (const [kind, magic] of MAGIC) {
    if (head.length >= magic.length && magic.every((b, i) => head[i] === b)) return kind;
  }
  return 'none';
}

/**
 * Reads the first `n` bytes of `input` without losing them: returns those
 * bytes and a stream that yields the whole input again.
 */
export async function peek(input: Readable, n: number): Promise<{ head: Buffer; stream: Readable }> {
  const it = input[Symbol.asyncIterator]() as AsyncIterator<Buffer | string>;
  const chunks: Buffer[] = [];
  let length = 0;
  let ended = false;
  while (length < n) {
    const r = await it.next();
    if (r.done) {
      ended = true;
      break;
    }
    const chunk = typeof r.value === 'string' ? Buffer.from(r.value) : r.value;
    chunks.push(chunk);
    length += chunk.length;
  }
  const head = Buffer.concat(chunks);
  async function* replay(): AsyncGenerator<Buffer> {
    let finished = ended;
    try {
      if (head.length > 0) yield head;
      while (!finished) {
        const r = await it.next();
        if (r.done) {
          finished = true;
          break;
        }
        yield typeof r.value === 'string' ? Buffer.from(r.value) : r.value;
      }
    } finally {
      // The consumer went away early: release (destroy) the source too.
      if (!finished) await it.return?.();
    }
  }
  return { head: head.subarray(0, n), stream: Readable.from(replay(), { objectMode: false }) };
}

const TOOLS: Record<Exclude<Compression, 'none' | 'gzip'>, string> = { bzip2: 'bzip2', xz: 'xz', zstd: 'zstd' };

function externalDecoder(tool: string, input: Readable): Readable {
  const out = new PassThrough();
  const child = spawn(tool, ['-d', '-c'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  child.on('error', (err) => {
    const e = (err as NodeJS.ErrnoException).code === 'ENOENT' ? new InvalidParameterError(`cannot decompress: ${tool} is not installed`) : err;
    out.destroy(e);
  });
  // Errors writing to the decoder show up as its exit status below.
  pipeline(input, child.stdin).catch(() => {});
  child.stdout.pipe(out, { end: false });
  child.on('close', (code) => {
    if (code === 0) out.end();
    else out.destroy(new InvalidParameterError(`${tool}: ${stderr.trim() || `exit status ${code}`}`));
  });
  // A consumer that stops early must not leave the decoder running.
  out.on('close', () => {
    if (child.exitCode === null) child.kill('SIGKILL');
    input.destroy();
  });
  return out;
}

/** igzip (package isal) inflates about twice as fast as zlib; worth a process for big inputs. */
const IGZIP = ['/usr/bin/igzip', '/bin/igzip'].find((p) => existsSync(p));

export interface DecompressOptions {
  /** The input is large (a pulled layer): use igzip for gzip when installed. */
  large?: boolean;
}

/** Detects the compression of `input` and returns a stream of the plain bytes. */
export async function decompress(input: Readable, opts: DecompressOptions = {}): Promise<{ compression: Compression; stream: Readable }> {
  const { head, stream } = await peek(input, 6);
  const compression = detectCompression(head);
  if (compression === 'none') return { compression, stream };
  if (compression === 'gzip' && opts.large && IGZIP) return { compression, stream: externalDecoder(IGZIP, stream) };
  if (compression === 'gzip') {
    // Large output chunks: an eighth of the callbacks and pipe writes of the 16 KiB default.
    const gunzip = createGunzip({ chunkSize: 128 * 1024 });
    pipeline(stream, gunzip).catch(() => {});
    // pipeline() already forwards errors to gunzip; nothing else to do here.
    return { compression, stream: gunzip };
  }
  return { compression, stream: externalDecoder(TOOLS[compression], stream) };
}
