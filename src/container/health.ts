import type { EventBus } from '../events/index.js';
import type { HealthConfig, HealthState } from '../types/engine.js';
import type { Clock } from '../util/clock.js';
import type { ExecManager } from './exec.js';
import { isRunning, type Live } from './lifecycle.js';

// Healthchecks run by berthd's own timers (HEALTHCHECK from the image or
// --health-*). Unlike dockerd (moby #33410), the first check runs as soon as
// the container started rather than one interval later, so a dependent
// service (compose's service_healthy) goes on as soon as this one is up.

const DEFAULT_INTERVAL_MS = 30_000;
const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_RETRIES = 3;
const LOG_ENTRIES = 5;

/** The command a healthcheck runs, or undefined when there is none (unset, [] or NONE). */
export function probeCommand(h: HealthConfig | undefined): string[] | undefined {
  const test = h?.Test;
  if (!test || test.length === 0 || test[0] === 'NONE') return undefined;
  if (test[0] === 'CMD-SHELL') return ['/bin/sh', '-c', test.slice(1).join(' ')];
  if (test[0] === 'CMD') return test.length > 1 ? test.slice(1) : undefined;
  return test;
}

const ms = (ns: number | undefined, fallback: number) => (ns && ns > 0 ? Math.round(ns / 1e6) : fallback);

export class HealthMonitor {
  private readonly timers = new Map<string, unknown>();

  constructor(
    private readonly execs: ExecManager,
    private readonly clock: Clock,
    private readonly events: EventBus,
    private readonly attributes: (live: Live) => Record<string, string>,
    private readonly persist: (live: Live) => Promise<void>,
  ) {}

  /** A run began (or was re-adopted): health starts over and the first check runs now. */
  start(live: Live, fresh = true): void {
    const r = live.record;
    this.stop(r.id);
    const cmd = probeCommand(r.config.Healthcheck);
    if (!cmd) return;
    if (fresh || !r.state.health) r.state.health = { Status: 'starting', FailingStreak: 0, Log: [] };
    const startedAt = Date.parse(r.state.startedAt);
    const run = async () => {
      this.timers.delete(r.id);
      if (!isRunning(r.state.status) || live.removed) return;
      const h = r.config.Healthcheck!;
      const begin = new Date(this.clock.now()).toISOString();
      const result = r.state.status === 'paused'
        ? { exitCode: -1, output: 'container is paused' }
        : await this.execs.probe(live, cmd, ms(h.Timeout, DEFAULT_TIMEOUT_MS), this.clock);
      if (!isRunning(r.state.status) || live.removed || !r.state.health) return;
      this.record(live, { Start: begin, End: new Date(this.clock.now()).toISOString(), ExitCode: result.exitCode, Output: result.output }, startedAt);
      const inStartPeriod = this.clock.now() - startedAt < ms(h.StartPeriod, 0);
      const next = inStartPeriod && h.StartInterval ? ms(h.StartInterval, DEFAULT_INTERVAL_MS) : ms(h.Interval, DEFAULT_INTERVAL_MS);
      if (isRunning(r.state.status) && !live.removed) this.timers.set(r.id, this.clock.setTimeout(() => void run(), next));
    };
    this.timers.set(r.id, this.clock.setTimeout(() => void run(), 0));
  }

  stop(id: string): void {
    const t = this.timers.get(id);
    if (t !== undefined) this.clock.clearTimeout(t);
    this.timers.delete(id);
  }

  close(): void {
    for (const id of [...this.timers.keys()]) this.stop(id);
  }

  private record(live: Live, entry: HealthState['Log'][number], startedAt: number): void {
    const r = live.record;
    const h = r.state.health!;
    const before = h.Status;
    const log = [...h.Log, entry].slice(-LOG_ENTRIES);
    let status = h.Status;
    let streak = h.FailingStreak;
    if (entry.ExitCode === 0) {
      status = 'healthy';
      streak = 0;
    } else {
      const cfg = r.config.Healthcheck!;
      // Failures in the start period do not count while the container is still starting.
      const inStartPeriod = this.clock.now() - startedAt < ms(cfg.StartPeriod, 0);
      if (!(inStartPeriod && status === 'starting')) {
        streak++;
        if (streak >= (cfg.Retries && cfg.Retries > 0 ? cfg.Retries : DEFAULT_RETRIES)) status = 'unhealthy';
      }
    }
    r.state.health = { Status: status, FailingStreak: streak, Log: log };
    void this.persist(live);
    if (status !== before) this.events.emit('container', `health_status: ${status}`, r.id, this.attributes(live));
  }
}
