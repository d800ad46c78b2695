import { createHash } from 'node:crypto';
import { PassThrough, Transform } from 'node:stream';
import { parentPort, workerData } from 'node:worker_threads';
import { applyLayer } from '../archive/apply.js';
import { decompress } from '../archive/compression.js';
import { errorKind, errorMessage } from '../errors/index.js';

// One layer unpacked off the daemon's main thread: the compressed bytes
// arrive as messages, and decompression, the diff ID hash and the
// extraction (tar parsing and many small syscalls) run here, so several
// layers of a pull unpack on several cores at once.

export interface UnpackWorkerData {
  target: string;
  whiteouts: 'delete' | 'overlay';
}

export type ToWorker = { type: 'chunk'; data: Uint8Array } | { type: 'end' } | { type: 'abort'; message: string };
export type FromWorker = { type: 'ack'; bytes: number } | { type: 'done'; diffId: string; size: number; compression: string } | { type: 'error'; message: string; kind: string };

const port = parentPort!;
const { target, whiteouts } = workerData as UnpackWorkerData;
const input = new PassThrough({ highWaterMark: 4 << 20 });
const ac = new AbortController();

port.on('message', (m: ToWorker) => {
  if (m.type === 'chunk') {
    const n = m.data.byteLength;
    // Acknowledged once taken, so the sender keeps a bounded amount in flight.
    if (input.write(Buffer.from(m.data.buffer, m.data.byteOffset, n))) port.postMessage({ type: 'ack', bytes: n } satisfies FromWorker);
    else input.once('drain', () => port.postMessage({ type: 'ack', bytes: n } satisfies FromWorker));
  } else if (m.type === 'end') {
    input.end();
  } else {
    ac.abort(new Error(m.message));
    input.destroy(new Error(m.message));
  }
});

try {
  const plain = await decompress(input);
  const hash = createHash('sha256');
  const hashing = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      cb(null, chunk);
    },
  });
  plain.stream.on('error', (err) => hashing.destroy(err));
  plain.stream.pipe(hashing);
  const { size } = await applyLayer(hashing, target, { signal: ac.signal, whiteouts });
  port.postMessage({ type: 'done', diffId: `sha256:${hash.digest('hex')}`, size, compression: plain.compression } satisfies FromWorker);
} catch (err) {
  port.postMessage({ type: 'error', message: errorMessage(err), kind: errorKind(err) } satisfies FromWorker);
}
port.close();
