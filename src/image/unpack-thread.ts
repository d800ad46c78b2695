import { Worker } from 'node:worker_threads';
import type { Readable } from 'node:stream';
import type { Compression } from '../archive/compression.js';
import { BerthError, ConflictError, InvalidParameterError, NotFoundError, SystemError, UnavailableError, type ErrorKind } from '../errors/index.js';
import type { FromWorker, ToWorker, UnpackWorkerData } from './unpack-worker.js';

// The main-thread side of unpack-worker: feeds a layer's bytes to a worker
// thread (bounded in flight), and returns its diff ID and size.

const IN_FLIGHT = 8 << 20;

function rebuild(kind: string, message: string): BerthError {
  const classes: Partial<Record<ErrorKind, new (m: string) => BerthError>> = {
    'invalid-parameter': InvalidParameterError,
    'not-found': NotFoundError,
    conflict: ConflictError,
    unavailable: UnavailableError,
  };
  return new (classes[kind as ErrorKind] ?? SystemError)(message);
}

export async function unpackInWorker(input: Readable, target: string, whiteouts: 'delete' | 'overlay', signal?: AbortSignal): Promise<{ diffId: string; size: number; compression: Compression }> {
  const worker = new Worker(new URL('./unpack-worker.js', import.meta.url), { workerData: { target, whiteouts } satisfies UnpackWorkerData });
  let inFlight = 0;
  let wake: (() => void) | undefined;
  let settled = false;
  const result = new Promise<{ diffId: string; size: number; compression: Compression }>((resolve, reject) => {
    worker.on('message', (m: FromWorker) => {
      if (m.type === 'ack') {
        inFlight -= m.bytes;
        const w = wake;
        wake = undefined;
        w?.();
      } else if (m.type === 'done') {
        settled = true;
        resolve({ diffId: m.diffId, size: m.size, compression: m.compression as Compression });
      } else {
        settled = true;
        reject(rebuild(m.kind, m.message));
      }
    });
    worker.on('error', (err) => {
      settled = true;
      reject(err);
    });
    worker.on('exit', (code) => {
      if (!settled) reject(new SystemError(`unpack worker exited with code ${code}`));
      const w = wake;
      wake = undefined;
      w?.();
    });
  });
  result.catch(() => {});
  const post = (m: ToWorker, transfer?: ArrayBuffer[]) => worker.postMessage(m, transfer);
  try {
    for await (const chunk of input as AsyncIterable<Buffer>) {
      signal?.throwIfAborted();
      if (settled) break;
      // A copy the worker can own (the chunk's memory may be pooled).
      const copy = new Uint8Array(chunk.length);
      copy.set(chunk);
      inFlight += copy.length;
      post({ type: 'chunk', data: copy }, [copy.buffer]);
      while (inFlight > IN_FLIGHT && !settled) await new Promise<void>((r) => (wake = r));
    }
    signal?.throwIfAborted();
    if (!settled) post({ type: 'end' });
    return await result;
  } catch (err) {
    if (!settled) post({ type: 'abort', message: String((err as Error)?.message ?? err) });
    await result.catch(() => {});
    throw err;
  } finally {
    // The worker ends itself once done; terminate covers a stuck one.
    if (!settled) await worker.terminate();
  }
}
