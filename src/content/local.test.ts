import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { NotFoundError } from '../errors/index.js';
import { DigestMismatchError, LocalContentStore, sha256Of } from './index.js';

describe('LocalContentStore', () => {
  let dir: string;
  let store: LocalContentStore;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-content-'));
    store = new LocalContentStore(dir);
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('stores, reads, ranges, lists and deletes blobs by digest', async () => {
    const data = Buffer.from('hello content');
    const digest = await store.put(data);
    assert.equal(digest, sha256Of(data));
    assert.deepEqual(await store.info(digest), { digest, size: data.length });
    assert.equal((await store.read(digest)).toString(), 'hello content');
    const chunks: Buffer[] = [];
    for await (const c of await store.reader(digest, { start: 6, end: 8 })) chunks.push(c as Buffer);
    assert.equal(Buffer.concat(chunks).toString(), 'con');
    assert.deepEqual(await store.list(), [{ digest, size: data.length }]);
    await store.delete(digest);
    assert.equal(await store.info(digest), undefined);
    await assert.rejects(store.read(digest), NotFoundError);
  });

  it('refuses content that does not match its digest and keeps nothing of it', async () => {
    const wrong = sha256Of('something else');
    await assert.rejects(store.put(Buffer.from('payload'), wrong), DigestMismatchError);
    await assert.rejects(store.ingest(Readable.from([Buffer.from('payload')]), { expected: wrong }), (err: Error) =>
      err instanceof DigestMismatchError && err.message.includes(wrong));
    assert.equal(await store.info(wrong), undefined);
    assert.deepEqual(await readdir(join(dir, 'ingest')), []);
    assert.throws(() => store.path('sha256:../../etc/passwd'), /invalid digest/);
  });

  it('resumes an ingest where it stopped', async () => {
    const data = Buffer.from('0123456789abcdef');
    const w1 = await store.writer('resume-me', { expected: sha256Of(data) });
    await w1.write(data.subarray(0, 7));
    await w1.close();
    const w2 = await store.writer('resume-me', { expected: sha256Of(data) });
    assert.equal(w2.offset, 7);
    await w2.write(data.subarray(7));
    assert.equal(await w2.commit(), sha256Of(data));
    assert.equal((await store.read(sha256Of(data))).toString(), data.toString());
    assert.deepEqual(await readdir(join(dir, 'ingest')), []);
  });

  it('a file ingest: another writer fills the file; commit checks the size and publishes; abort keeps nothing', async () => {
    const data = Buffer.from('written by someone else');
    const fi = await store.fileIngest('by-a-pipeline');
    await writeFile(fi.path, data);
    await assert.rejects(fi.commit(sha256Of(data), data.length + 1), DigestMismatchError);
    assert.equal(await store.info(sha256Of(data)), undefined, 'a short file is not published');
    assert.deepEqual(await readdir(join(dir, 'ingest')), []);
    const again = await store.fileIngest('by-a-pipeline');
    await writeFile(again.path, data);
    assert.equal(await again.commit(sha256Of(data), data.length), sha256Of(data));
    assert.equal((await store.read(sha256Of(data))).toString(), data.toString());
    const dropped = await store.fileIngest('dropped');
    await writeFile(dropped.path, 'x');
    await dropped.abort();
    assert.deepEqual(await readdir(join(dir, 'ingest')), []);
    await store.delete(sha256Of(data));
  });

  it('cleanup removes abandoned ingests', async () => {
    const w = await store.writer('abandoned');
    await w.write(Buffer.from('x'));
    await w.close();
    assert.equal((await readdir(join(dir, 'ingest'))).length, 1);
    await store.cleanup();
    assert.deepEqual(await readdir(join(dir, 'ingest')), []);
  });
});
