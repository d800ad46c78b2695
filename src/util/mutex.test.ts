import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Mutex } from './mutex.js';

describe('Mutex', () => {
  it('runs sections one at a time, in call order', async () => {
    const m = new Mutex();
    const log: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const a = m.run(async () => {
      log.push('a start');
      await gate;
      log.push('a end');
    });
    const b = m.run(async () => {
      log.push('b');
    });
    await Promise.resolve();
    assert.deepEqual(log, ['a start']);
    release();
    await Promise.all([a, b]);
    assert.deepEqual(log, ['a start', 'a end', 'b']);
  });

  it('a failing section rejects its caller only', async () => {
    const m = new Mutex();
    await assert.rejects(m.run(async () => {
      throw new Error('boom');
    }), /boom/);
    assert.equal(await m.run(async () => 42), 42);
  });
});
