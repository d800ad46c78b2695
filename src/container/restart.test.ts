import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RestartScheduler, nextRestartDelay, restartAtBoot, restartWanted } from './restart.js';
import { ZERO_TIME, type ContainerRecord } from './record.js';
import type { RestartPolicy } from '../types/engine.js';
import { ManualClock } from '../util/testing/manual-clock.js';

function record(policy: RestartPolicy, opts: { restartCount?: number; stoppedByUser?: boolean } = {}): ContainerRecord {
  return {
    id: 'c'.repeat(64), name: '/r', created: ZERO_TIME, path: 'true', args: [], config: {}, hostConfig: { RestartPolicy: policy },
    image: 'sha256:' + 'a'.repeat(64), restartCount: opts.restartCount ?? 0, runtime: 'runc', logPath: '', hostnamePath: '', hostsPath: '', resolvConfPath: '',
    state: { status: 'exited', pid: 0, exitCode: 0, error: '', startedAt: ZERO_TIME, finishedAt: ZERO_TIME, oomKilled: false, stoppedByUser: opts.stoppedByUser },
  };
}

describe('restartWanted: which exits bring a container back', () => {
  it('no / unset never restarts', () => {
    assert.equal(restartWanted(record({ Name: 'no' }), 1), false);
    assert.equal(restartWanted(record({ Name: '' }), 1), false);
  });
  it('always and unless-stopped restart after any exit', () => {
    for (const Name of ['always', 'unless-stopped'] as const) {
      assert.equal(restartWanted(record({ Name }), 0), true, Name);
      assert.equal(restartWanted(record({ Name }), 137), true, Name);
    }
  });
  it('on-failure restarts on a non-zero exit only, up to MaximumRetryCount', () => {
    assert.equal(restartWanted(record({ Name: 'on-failure' }), 0), false);
    assert.equal(restartWanted(record({ Name: 'on-failure' }), 3), true);
    assert.equal(restartWanted(record({ Name: 'on-failure', MaximumRetryCount: 2 }, { restartCount: 1 }), 3), true);
    assert.equal(restartWanted(record({ Name: 'on-failure', MaximumRetryCount: 2 }, { restartCount: 2 }), 3), false);
  });
  it('a container the user stopped stays stopped', () => {
    assert.equal(restartWanted(record({ Name: 'always' }, { stoppedByUser: true }), 1), false);
  });
  it('at daemon start: always comes back, unless-stopped only if the user did not stop it', () => {
    assert.equal(restartAtBoot(record({ Name: 'always' }, { stoppedByUser: true })), true);
    assert.equal(restartAtBoot(record({ Name: 'unless-stopped' })), true);
    assert.equal(restartAtBoot(record({ Name: 'unless-stopped' }, { stoppedByUser: true })), false);
    assert.equal(restartAtBoot(record({ Name: 'on-failure' })), false);
  });
});

describe('restart backoff (dockerd\'s): 100 ms doubling to a minute, reset by a 10 s run', () => {
  it('nextRestartDelay', () => {
    assert.equal(nextRestartDelay(0, 0), 100);
    assert.equal(nextRestartDelay(100, 50), 200);
    assert.equal(nextRestartDelay(400, 9_999), 800);
    assert.equal(nextRestartDelay(40_000, 10), 60_000);
    assert.equal(nextRestartDelay(60_000, 10), 60_000);
    assert.equal(nextRestartDelay(6_400, 10_000), 100);
  });

  it('RestartScheduler fires after the backoff on the injected clock, doubling for quick crashes', () => {
    const clock = new ManualClock(Date.parse('2026-01-01T00:00:00Z'));
    const sched = new RestartScheduler(clock);
    const id = 'x';
    let runs = 0;
    const startedAt = () => new Date(clock.now()).toISOString();
    const expected = [100, 200, 400, 800, 1600];
    for (const delay of expected) {
      assert.equal(sched.schedule(id, startedAt(), () => runs++), delay);
      const before = runs;
      clock.advance(delay - 1);
      assert.equal(runs, before, `not before ${delay} ms`);
      clock.advance(1);
      assert.equal(runs, before + 1, `at ${delay} ms`);
    }
    // A run that lasted 10 s resets the backoff.
    const longRunStart = startedAt();
    clock.advance(10_000);
    assert.equal(sched.schedule(id, longRunStart, () => runs++), 100);
    sched.close();
    assert.equal(clock.pending, 0);
  });

  it('the delay is capped at one minute', () => {
    const clock = new ManualClock(1_000_000);
    const sched = new RestartScheduler(clock);
    let last = 0;
    for (let i = 0; i < 12; i++) {
      last = sched.schedule('y', new Date(clock.now()).toISOString(), () => {});
      clock.advance(last);
    }
    assert.equal(last, 60_000);
  });

  it('cancel drops the pending restart; forget also resets the backoff', () => {
    const clock = new ManualClock(0);
    const sched = new RestartScheduler(clock);
    let runs = 0;
    sched.schedule('z', new Date(0).toISOString(), () => runs++);
    assert.equal(sched.pending('z'), true);
    assert.equal(sched.cancel('z'), true);
    assert.equal(sched.cancel('z'), false);
    clock.advance(120_000);
    assert.equal(runs, 0);
    // The backoff survives a cancel (a stop then start keeps doubling) ...
    assert.equal(sched.schedule('z', new Date(clock.now()).toISOString(), () => runs++), 200);
    // ... and goes once the container is removed.
    sched.forget('z');
    assert.equal(sched.pending('z'), false);
    assert.equal(sched.schedule('z', new Date(clock.now()).toISOString(), () => runs++), 100);
    sched.close();
  });

  it('scheduling again replaces the pending restart', () => {
    const clock = new ManualClock(0);
    const sched = new RestartScheduler(clock);
    let a = 0;
    let b = 0;
    sched.schedule('w', new Date(0).toISOString(), () => a++);
    sched.schedule('w', new Date(0).toISOString(), () => b++);
    clock.advance(1_000);
    assert.deepEqual([a, b], [0, 1]);
  });
});
