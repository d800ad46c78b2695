import { systemClock, type Clock } from '../util/clock.js';
import type { ContainerRecord } from './record.js';

// Restart policies, as dockerd applies them. Time comes from an injected
// clock, so the backoff is tested without sleeping.

/** Whether the restart policy brings the container back after this exit. */
export function restartWanted(r: ContainerRecord, exitCode: number): boolean {
  if (r.state.stoppedByUser) return false;
  const policy = r.hostConfig.RestartPolicy;
  switch (policy?.Name) {
    case 'always':
    case 'unless-stopped':
      return true;
    case 'on-failure':
      return exitCode !== 0 && (!policy.MaximumRetryCount || r.restartCount < policy.MaximumRetryCount);
    default:
      return false;
  }
}

/** Whether a container found exited at daemon start should be started again. */
export function restartAtBoot(r: ContainerRecord): boolean {
  const policy = r.hostConfig.RestartPolicy?.Name;
  return policy === 'always' || (policy === 'unless-stopped' && !r.state.stoppedByUser);
}

export const RESTART_MIN_DELAY_MS = 100;
export const RESTART_MAX_DELAY_MS = 60_000;
/** A run this long resets the backoff. */
export const RESTART_RESET_AFTER_MS = 10_000;

/** dockerd's backoff: 100 ms doubling up to a minute, back to 100 ms once a run lasted 10 seconds. */
export function nextRestartDelay(previousMs: number, ranMs: number): number {
  if (ranMs >= RESTART_RESET_AFTER_MS || previousMs === 0) return RESTART_MIN_DELAY_MS;
  return Math.min(previousMs * 2, RESTART_MAX_DELAY_MS);
}

/** Pending policy restarts, one per container at most. */
export class RestartScheduler {
  private readonly timers = new Map<string, unknown>();
  private readonly delays = new Map<string, number>();

  constructor(private readonly clock: Clock = systemClock) {}

  /** Schedules `run` after the backoff for a run that started at `startedAt`; returns the delay used. */
  schedule(id: string, startedAt: string, run: () => void): number {
    this.cancel(id);
    const ranMs = this.clock.now() - Date.parse(startedAt);
    const delay = nextRestartDelay(this.delays.get(id) ?? 0, ranMs);
    this.delays.set(id, delay);
    this.timers.set(id, this.clock.setTimeout(() => {
      this.timers.delete(id);
      run();
    }, delay));
    return delay;
  }

  /** Drops a pending restart; true when there was one. */
  cancel(id: string): boolean {
    const timer = this.timers.get(id);
    if (timer === undefined) return false;
    this.clock.clearTimeout(timer);
    this.timers.delete(id);
    return true;
  }

  pending(id: string): boolean {
    return this.timers.has(id);
  }

  /** Forgets a removed container's backoff. */
  forget(id: string): void {
    this.cancel(id);
    this.delays.delete(id);
  }

  close(): void {
    for (const id of [...this.timers.keys()]) this.cancel(id);
  }
}
