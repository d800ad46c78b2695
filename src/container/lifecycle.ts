import type { ContainerStatus, ContainerWaitResponse } from '../types/engine.js';
import { Mutex } from '../util/mutex.js';
import { ZERO_TIME, type ContainerRecord } from './record.js';
import type { Attachment } from './io.js';

// A container's state machine and what only lives while berthd does:
//   created ─start→ running ─exit→ exited ─start→ running …
//   running ⇄ paused; exited ─policy→ restarting ─start→ running
//   any ─remove→ (gone)
// Every lifecycle operation on one container runs under its lock.

export type WaitCondition = 'not-running' | 'next-exit' | 'removed';

export interface Waiter {
  condition: WaitCondition;
  resolve: (r: ContainerWaitResponse) => void;
}

/** In-memory companion of a record. */
export class Live {
  waiters = new Set<Waiter>();
  attachments = new Set<Attachment>();
  /** Serialises lifecycle operations on one container. */
  readonly lock = new Mutex();
  /** Tear-down of the last run (runtime delete, unmount) still in progress. */
  teardown: Promise<void> = Promise.resolve();
  /** The start in progress; an exit is recorded only after it settled. */
  starting: Promise<void> = Promise.resolve();
  /** Record writes, in order; removal waits for them. */
  saving: Promise<void> = Promise.resolve();
  /** Operations reading or writing the running container's rootfs (cp); its teardown waits for them. */
  busy = new Set<Promise<unknown>>();
  removed = false;
  constructor(public record: ContainerRecord) {}

  serialize<T>(fn: () => Promise<T>): Promise<T> {
    return this.lock.run(fn);
  }
}

/** Whether the container's process exists (a paused one too). */
export function isRunning(status: ContainerStatus): boolean {
  return status === 'running' || status === 'paused';
}

export function markRunning(r: ContainerRecord, pid: number, now: Date): void {
  r.state = {
    ...r.state,
    status: 'running', pid, exitCode: 0, error: '', startedAt: now.toISOString(), finishedAt: ZERO_TIME, oomKilled: false, stoppedByUser: false,
  };
}

export function markExited(r: ContainerRecord, exitCode: number, error: string, now: Date): void {
  r.state = { ...r.state, status: 'exited', pid: 0, exitCode, error, finishedAt: now.toISOString() };
}

/** Releases the waiters whose condition now holds, with the last exit status. */
export function resolveWaiters(live: Live, conditions: WaitCondition[]): void {
  const r = live.record;
  for (const w of live.waiters) {
    if (!conditions.includes(w.condition)) continue;
    live.waiters.delete(w);
    // The exit status only: a failed start was already reported by start itself.
    w.resolve({ StatusCode: r.state.exitCode, Error: null });
  }
}

/** Resolves once the current run (if any) has ended. */
export function waitForExit(live: Live): Promise<void> {
  if (!isRunning(live.record.state.status)) return Promise.resolve();
  return new Promise((resolve) => live.waiters.add({ condition: 'not-running', resolve: () => resolve() }));
}
