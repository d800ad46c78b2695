import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile, appendFile, rm, rename, readdir, stat, readlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { openSync, closeSync, writeSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { parseLogLine, parseTimestampNs, formatTimestampNs, readLog, LogFollower, type ReadOptions } from './logs.js';
import { LogFiles } from './log-files.js';

describe('CRI log format', () => {
  it('parses full and partial lines with their stream and time', () => {
    const full = parseLogLine(Buffer.from('2024-05-01T10:00:00.123456789+02:00 stdout F hello world'))!;
    assert.equal(full.stream, 'stdout');
    assert.equal(full.data.toString(), 'hello world\n');
    assert.equal(formatTimestampNs(full.timeNs), '2024-05-01T08:00:00.123456789Z');
    const partial = parseLogLine(Buffer.from('2024-05-01T10:00:00.000000001+00:00 stderr P no newline'))!;
    assert.equal(partial.stream, 'stderr');
    assert.equal(partial.data.toString(), 'no newline');
    const empty = parseLogLine(Buffer.from('2024-05-01T10:00:00.000000001+00:00 stdout F'))!;
    assert.equal(empty.data.toString(), '\n');
    assert.equal(parseLogLine(Buffer.from('garbage')), undefined);
  });
  it('keeps nanosecond precision', () => {
    assert.equal(parseTimestampNs('1970-01-01T00:00:01.000000002Z'), 1_000_000_002n);
  });
});

/** A CRI line for number n, one second apart from 2024-01-01T00:00:00Z. */
function line(n: number, stream = 'stdout'): string {
  const t = new Date(Date.UTC(2024, 0, 1) + n * 1000).toISOString().replace('Z', '');
  return `${t}000000+00:00 ${stream} F ${n}`;
}
function lines(from: number, to: number): string {
  let out = '';
  for (let n = from; n <= to; n++) out += line(n) + '\n';
  return out;
}
const at = (n: number) => BigInt(Date.UTC(2024, 0, 1) + n * 1000) * 1_000_000n;

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-logs-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function read(files: LogFiles, opts: ReadOptions): Promise<{ out: string[]; bytesRead: number }> {
  const out: string[] = [];
  const stats = { bytesRead: 0 };
  await readLog(await files.openChain(), { ...opts, stats }, (e) => void out.push(e.data.toString().trim()));
  return { out, bytesRead: stats.bytesRead };
}

/** Polls until `check` holds: the watchers here react asynchronously, and a loaded machine must not fail a test. */
async function until(check: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not reached: ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
const inodeOf = (p: string) => stat(p).then((s) => s.ino, () => undefined);
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => String(from + i));

describe('readLog over rotated files', () => {
  it('reads the chain oldest first, tails across files, seeks since and stops at until', async () => {
    await withDir(async (dir) => {
      const path = join(dir, 'container.log');
      await writeFile(`${path}.2`, lines(1, 10));
      await writeFile(`${path}.1`, lines(11, 20));
      await writeFile(path, lines(21, 22) + line(23).slice(0, 20)); // a line still being written
      const files = new LogFiles(path, 3);
      assert.deepEqual((await read(files, {})).out, range(1, 22));
      assert.deepEqual((await read(files, { tail: 5 })).out, range(18, 22));
      assert.deepEqual((await read(files, { tail: 15 })).out, range(8, 22));
      assert.deepEqual((await read(files, { tail: 100 })).out, range(1, 22));
      assert.deepEqual((await read(files, { tail: 0 })).out, []);
      assert.deepEqual((await read(files, { sinceNs: at(15) })).out, range(15, 22));
      assert.deepEqual((await read(files, { sinceNs: at(11) })).out, range(11, 22));
      assert.deepEqual((await read(files, { sinceNs: at(0) })).out, range(1, 22));
      assert.deepEqual((await read(files, { sinceNs: at(99) })).out, []);
      assert.deepEqual((await read(files, { sinceNs: at(5), untilNs: at(12) })).out, range(5, 12));
      assert.deepEqual((await read(files, { tail: 3, sinceNs: at(21) })).out, range(21, 22));
    });
  });

  it('tails and seeks a 200k-line log without reading it', async () => {
    await withDir(async (dir) => {
      const path = join(dir, 'container.log');
      await writeFile(path, lines(1, 200_000));
      const size = (await stat(path)).size;
      const files = new LogFiles(path, 1);
      const tail = await read(files, { tail: 5 });
      assert.deepEqual(tail.out, range(199_996, 200_000));
      assert.ok(tail.bytesRead < 256 * 1024, `tail read ${tail.bytesRead} of ${size} bytes`);
      const since = await read(files, { sinceNs: at(199_990) });
      assert.deepEqual(since.out, range(199_990, 200_000));
      assert.ok(since.bytesRead < 256 * 1024, `since read ${since.bytesRead} of ${size} bytes`);
      const until = await read(files, { untilNs: at(3) });
      assert.deepEqual(until.out, range(1, 3));
      assert.ok(until.bytesRead < 256 * 1024, `until read ${until.bytesRead} of ${size} bytes`);
      const all = await read(files, {});
      assert.equal(all.out.length, 200_000);
      assert.equal(all.out[199_999], '200000');
    });
  });
});

describe('LogFiles rotation and LogFollower', () => {
  it('keeps what conmon replaces, shifts to max-file, and a follower reads across without loss or repeat', async () => {
    await withDir(async (dir) => {
      const path = join(dir, 'container.log');
      const files = new LogFiles(path, 2);
      await writeFile(path, lines(1, 3));
      await files.track();
      const seen: string[] = [];
      const chain = await files.openChain();
      const position = await readLog(chain, { tail: 1 }, (e) => void seen.push(e.data.toString().trim()));
      const f = new LogFollower(files, position, (e) => void seen.push(e.data.toString().trim()));
      f.start();
      // conmon's rotation: a new empty file renamed over the live one.
      let n = 3;
      for (let round = 0; round < 4; round++) {
        await appendFile(path, lines(n + 1, n + 50));
        n += 50;
        await writeFile(`${path}.tmp`, '');
        await rename(`${path}.tmp`, path);
        await appendFile(path, lines(n + 1, n + 5));
        n += 5;
        // Before conmon's next replacement: berthd has named the new live file and the follower caught up.
        await until(async () => (await inodeOf(path)) === (await inodeOf(`${path}.hold`)) && seen.at(-1) === String(n), `round ${round} adopted`);
      }
      await f.drain();
      assert.deepEqual(seen, range(3, n));
      const names = (await readdir(dir)).sort();
      assert.deepEqual(names, ['container.log', 'container.log.1', 'container.log.hold']);
      // max-file 2: the live file (5 lines) and one rotated (5 + 50); both read back in order.
      const back = await read(files, {});
      assert.deepEqual(back.out, range(n - 59, n));
      await files.untrack();
      assert.deepEqual((await readdir(dir)).sort(), ['container.log', 'container.log.1']);
    });
  });

  it('rotates at max-size by renaming and asking conmon to reopen; a follower holds files it has not read yet', async () => {
    await withDir(async (dir) => {
      const path = join(dir, 'container.log');
      // A stand-in for conmon: appends through its own descriptor, reopens when asked.
      let fd = openSync(path, 'a');
      const files = new LogFiles(path, 3, 2000);
      await files.track(async () => {
        closeSync(fd);
        fd = openSync(`${path}.tmp`, 'w');
        renameSync(`${path}.tmp`, path);
      });
      const seen: string[] = [];
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      // A client that stalls on its first line, then catches up.
      const f = new LogFollower(files, undefined, (e) => {
        seen.push(e.data.toString().trim());
        return seen.length === 1 ? gate : undefined;
      });
      f.start();
      for (let n = 1; n <= 400; n++) {
        writeSync(fd, line(n) + '\n');
        // Like a writer slower than berthd's rotation: each batch waits until a full live file was rotated.
        if (n % 20 === 0) await until(async () => ((await stat(path).catch(() => undefined))?.size ?? 0) < 2000, `rotation after line ${n}`);
      }
      const names = (await readdir(dir)).sort();
      assert.deepEqual(names, ['container.log', 'container.log.1', 'container.log.2', 'container.log.hold']);
      const sizes = await Promise.all(names.map(async (n) => (await stat(join(dir, n))).size));
      assert.ok(sizes.every((size) => size < 2 * 2000 + 20 * 50), `rotated near max-size: ${sizes.join(" ")}`);
      release();
      await f.drain();
      closeSync(fd);
      files.close();
      assert.deepEqual(seen, range(1, 400), 'the stalled follower read the files rotated away under it');
    });
  });

  for (const maxFile of [2, 1]) {
    it(`a follower loses nothing when rotations come faster than the watcher (max-file=${maxFile}${maxFile === 1 ? ', the none driver' : ''})`, async () => {
      await withDir(async (dir) => {
        const path = join(dir, 'container.log');
        let fd = openSync(path, 'a');
        const files = new LogFiles(path, maxFile, 1000);
        // No watcher: no event can reach the follower between two rotations;
        // only what rotation itself hands it can save the files it has not opened.
        await files.track(async () => {
          closeSync(fd);
          fd = openSync(`${path}.tmp`, 'w');
          renameSync(`${path}.tmp`, path);
        }, { watch: false });
        const seen: string[] = [];
        let release!: () => void;
        const gate = new Promise<void>((r) => (release = r));
        const f = new LogFollower(files, { file: (await files.openChain()).pop()!, offset: 0 }, (e) => {
          seen.push(e.data.toString().trim());
          return seen.length === 1 ? gate : undefined;
        });
        f.start();
        writeSync(fd, line(1) + '\n');
        f.poke();
        await until(() => seen.length === 1, 'first line read (the follower now stalls on it)');
        // Ten rotations, each of a file the stalled follower never saw a watcher event for.
        let n = 1;
        for (let r = 0; r < 10; r++) {
          while ((await stat(path)).size < 1000) writeSync(fd, line(++n) + '\n');
          const before = await inodeOf(path);
          await files.rotateIfFull();
          assert.notEqual(await inodeOf(path), before, `rotation ${r + 1} happened`);
        }
        writeSync(fd, line(++n) + '\n');
        f.poke();
        assert.ok((await readdir(dir)).filter((x) => x.startsWith('container.log.') && x !== 'container.log.hold').length <= maxFile - 1, 'rotation still deletes past max-file');
        release();
        await f.drain();
        closeSync(fd);
        files.close();
        assert.deepEqual(seen, range(1, n), 'every line, in order, once');
      });
    });
  }

  it('stops and closes its file when aborted or when the container is removed', async () => {
    await withDir(async (dir) => {
      const path = join(dir, 'container.log');
      await writeFile(path, lines(1, 3));
      const fdsOpenOn = async () => {
        let count = 0;
        for (const fd of await readdir('/proc/self/fd')) {
          if ((await readlink(`/proc/self/fd/${fd}`).catch(() => '')).startsWith(dir)) count++;
        }
        return count;
      };
      const files = new LogFiles(path, 1);
      const client = new AbortController();
      const seen: string[] = [];
      const a = new LogFollower(files, undefined, (e) => void seen.push(e.data.toString().trim()), { signal: client.signal });
      a.start();
      // A slow client: the second follower's consumer never returns.
      const b = new LogFollower(files, undefined, () => new Promise<void>(() => {}));
      b.start();
      await until(async () => seen.length === 3 && (await fdsOpenOn()) === 2, 'both followers opened the file');
      assert.deepEqual(seen, range(1, 3));
      client.abort();
      await until(async () => (await fdsOpenOn()) === 1, 'the aborted follower closed its file');
      b.stop();
      await until(async () => (await fdsOpenOn()) === 0, 'the stopped follower closed its file');
      // Removal stops a follower that is still reading.
      const c = new LogFollower(files, undefined, () => undefined);
      c.start();
      await until(async () => (await fdsOpenOn()) === 1, 'the third follower opened the file');
      files.close();
      assert.equal(await fdsOpenOn(), 0);
    });
  });
});
