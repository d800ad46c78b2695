import { readFile } from 'node:fs/promises';
import { extract as tarExtract } from 'tar-stream';
import { makeTar, type TarEntry } from '../../src/archive/testing/make-tar.js';
import { busyboxTar, type TestDaemon } from './daemon.js';

// Test images built from tars through POST /images/create?fromSrc=-: the
// busybox rootfs plus entries of the test's own.

async function busyboxEntries(): Promise<TarEntry[]> {
  const ex = tarExtract();
  const out: TarEntry[] = [];
  const done = new Promise<void>((resolve, reject) => {
    ex.on('entry', (header, stream, next) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: unknown) => chunks.push(c as Buffer));
      stream.on('end', () => {
        const { pax: _pax, ...h } = header;
        // Binary content goes back as the Buffer it was (makeTar hands it to tar-stream as is).
        out.push({ ...h, name: header.name, content: Buffer.concat(chunks) as unknown as string });
        next();
      });
      stream.resume();
    });
    ex.on('finish', resolve);
    ex.on('error', reject);
  });
  ex.end(await readFile(await busyboxTar()));
  await done;
  return out;
}

/** Imports busybox + `extra` as `ref`, with Dockerfile-style `changes` (CMD, VOLUME, …). */
export async function importImage(d: TestDaemon, ref: string, extra: TarEntry[], changes: string[] = []): Promise<string> {
  const tar = await makeTar([...(await busyboxEntries()), ...extra]);
  const [repo, tag = 'latest'] = ref.split(':');
  const query = [`fromSrc=-`, `repo=${encodeURIComponent(repo!)}`, `tag=${tag}`, ...['CMD ["sh"]', ...changes].map((c) => `changes=${encodeURIComponent(c)}`)].join('&');
  const r = await d.request('POST', `/images/create?${query}`, tar, { 'Content-Type': 'application/x-tar' });
  if (r.status !== 200) throw new Error(`import failed: ${r.status} ${r.body}`);
  const msg = JSON.parse(r.body.trim().split('\n').pop()!) as { status?: string; error?: string };
  if (msg.error) throw new Error(`import failed: ${msg.error}`);
  return msg.status!;
}
