import { pack as tarPack, type Header } from 'tar-stream';

// Builds tar archives in memory for tests (layers, imports, escape attempts).

export type TarEntry = Partial<Header> & { name: string; content?: string | Buffer };

export async function makeTar(entries: TarEntry[]): Promise<Buffer> {
  const p = tarPack();
  // Read while writing: a big entry waits for the pack to be drained.
  const collected = (async () => {
    const chunks: Buffer[] = [];
    for await (const c of p) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  })();
  for (const { content, ...h } of entries) {
    await new Promise<void>((resolve, reject) => p.entry(h, content ?? '', (err) => (err ? reject(err) : resolve())));
  }
  p.finalize();
  return collected;
}
