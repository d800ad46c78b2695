import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile, appendFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseLogLine, parseTimestampNs, formatTimestampNs, readLog, LogFollower, type LogEntry } from './logs.js';

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

describe('readLog and LogFollower', () => {
  it('tails, filters by time, and follows appended lines', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'berth-logs-'));
    try {
      const path = join(dir, 'c.log');
      await writeFile(path, [
        '2024-01-01T00:00:01.000000000+00:00 stdout F one',
        '2024-01-01T00:00:02.000000000+00:00 stderr F two',
        '2024-01-01T00:00:03.000000000+00:00 stdout F three',
      ].join('\n') + '\n');
      const texts = async (opts: Parameters<typeof readLog>[1]) => {
        const out: string[] = [];
        const offset = await readLog(path, opts, (e) => void out.push(e.data.toString()));
        return { out, offset };
      };
      const all = await texts({});
      assert.deepEqual(all.out, ['one\n', 'two\n', 'three\n']);
      assert.deepEqual((await texts({ tail: 1 })).out, ['three\n']);
      assert.deepEqual((await texts({ tail: 0 })).out, []);
      const since = parseTimestampNs('2024-01-01T00:00:02Z');
      assert.deepEqual((await texts({ sinceNs: since })).out, ['two\n', 'three\n']);

      const seen: LogEntry[] = [];
      const f = new LogFollower(path, all.offset, (e) => void seen.push(e));
      await f.start();
      await appendFile(path, '2024-01-01T00:00:04.000000000+00:00 stdout P four-a');
      await appendFile(path, '\n2024-01-01T00:00:04.000000000+00:00 stdout F four-b\n');
      await f.drain();
      assert.deepEqual(seen.map((e) => e.data.toString()), ['four-a', 'four-b\n']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
