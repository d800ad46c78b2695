import { createWriteStream } from 'node:fs';
import { PassThrough, finished, type Readable } from 'node:stream';

/**
 * Splits `input` in two: a stream of the same bytes for a consumer, and the
 * file at `path` (a blob kept as it is unpacked). The file gets everything
 * even if the consumer stops early (a tar reader that ends at the archive's
 * end marker): destroy `stream` once the consumer is done, and `written`
 * resolves when the file is complete and closed. A failure of the input or
 * of the file fails both.
 */
export function teeToFile(input: Readable, path: string): { stream: Readable; written: Promise<void> } {
  const file = createWriteStream(path, { flags: 'w' });
  const out = new PassThrough();
  out.on('error', () => {}); // the consumer hears of it through its own listeners; none may be left
  let outOpen = true;
  let outWaiting = false;
  let waiting = 0;
  const wait = () => {
    waiting++;
    input.pause();
  };
  const go = () => {
    if (--waiting === 0) input.resume();
  };
  const written = new Promise<void>((resolve, reject) => {
    const fail = (err: Error) => {
      reject(err);
      file.destroy();
      out.destroy(err);
      input.destroy();
    };
    file.on('error', fail);
    file.on('finish', () => resolve());
    // Also an input that failed (or was cut off) before this was called.
    finished(input, (err) => {
      if (err) fail(err);
    });
  });
  written.catch(() => {});
  const outDrained = () => {
    if (!outWaiting) return;
    outWaiting = false;
    go();
  };
  out.on('drain', outDrained);
  out.on('close', () => {
    // The consumer is done (or gone): the file still takes the rest.
    outOpen = false;
    outDrained();
  });
  input.on('data', (chunk: Buffer) => {
    if (!file.write(chunk)) {
      wait();
      file.once('drain', go);
    }
    if (outOpen && !out.write(chunk) && !outWaiting) {
      outWaiting = true;
      wait();
    }
  });
  input.on('end', () => {
    file.end();
    if (outOpen) out.end();
  });
  input.resume();
  return { stream: out, written };
}
