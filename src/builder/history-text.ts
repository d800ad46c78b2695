import { InvalidParameterError } from '../errors/index.js';
import type { HealthConfig } from '../types/engine.js';
import type { HealthcheckCmd } from './instructions.js';

// The text the classic builder writes into an image's history (and uses as a
// cache key) for config instructions: Go's formatting of the values it
// stored, e.g. `CMD ["a" "b"]` or `HEALTHCHECK &{["CMD-SHELL" "true"] "0s" …}`.

/** Go's %q of a []string: ["a" "b"]. */
export function goQuoted(list: readonly string[]): string {
  return `[${list.map((s) => JSON.stringify(s)).join(' ')}]`;
}

/** Go's time.Duration String() for whole nanoseconds. */
export function goDuration(ns: number): string {
  if (ns === 0) return '0s';
  if (ns < 1e3) return `${ns}ns`;
  if (ns < 1e6) return `${trimZeros(ns / 1e3)}µs`;
  if (ns < 1e9) return `${trimZeros(ns / 1e6)}ms`;
  let s = ns / 1e9;
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  const sec = `${trimZeros(Math.round(s * 1e9) / 1e9)}s`;
  if (h > 0) return `${h}h${m}m${sec}`;
  if (m > 0) return `${m}m${sec}`;
  return sec;
}

function trimZeros(n: number): string {
  return String(Number(n.toFixed(9)));
}

export function healthConfig(cmd: HealthcheckCmd): HealthConfig {
  const h: HealthConfig = { Test: cmd.test };
  if (cmd.interval !== undefined) h.Interval = cmd.interval;
  if (cmd.timeout !== undefined) h.Timeout = cmd.timeout;
  if (cmd.startPeriod !== undefined) h.StartPeriod = cmd.startPeriod;
  if (cmd.startInterval !== undefined) h.StartInterval = cmd.startInterval;
  if (cmd.retries !== undefined) h.Retries = cmd.retries;
  return h;
}

/**
 * Go's %v of the HealthConfig pointer, as the classic builder records it:
 * dockerd 20.10's struct has no StartInterval, so that field is printed only
 * when it is set (as a later dockerd, whose struct has it, would).
 */
export function healthText(h: HealthConfig): string {
  const d = (n?: number) => JSON.stringify(goDuration(n ?? 0));
  const retries = h.Retries ?? 0;
  const r = retries < 16 ? `'\\x0${retries.toString(16)}'` : retries < 256 ? `'\\x${retries.toString(16)}'` : `'${String.fromCodePoint(retries)}'`;
  const durations = [h.Interval, h.Timeout, h.StartPeriod, ...(h.StartInterval ? [h.StartInterval] : [])].map(d);
  return `&{${goQuoted(h.Test ?? [])} ${durations.join(' ')} ${r}}`;
}

/** EXPOSE's port specs as ExposedPorts keys ("80/tcp"); ranges expand. */
export function exposedPorts(spec: string): string[] {
  const [portPart = '', proto = 'tcp'] = spec.split('/', 2);
  // [ip:][hostport:]port — only the container port counts.
  const port = portPart.split(':').pop()!;
  const m = /^(\d+)(?:-(\d+))?$/.exec(port);
  if (!m) throw new InvalidParameterError(`Invalid containerPort: ${port}`);
  const start = Number(m[1]);
  const end = m[2] !== undefined ? Number(m[2]) : start;
  if (end < start) throw new InvalidParameterError(`Invalid range specified for the Port: ${port}`);
  const out: string[] = [];
  for (let p = start; p <= end; p++) out.push(`${p}/${proto.toLowerCase()}`);
  return out;
}
