import { InvalidParameterError } from '../errors/index.js';

// The filter values every list and prune endpoint shares, written once.

/** `label=KEY` (present) or `label=KEY=VALUE` (equal), as Docker matches them; own keys only. */
export function labelMatches(labels: Record<string, string>, filter: string): boolean {
  const eq = filter.indexOf('=');
  if (eq < 0) return Object.hasOwn(labels, filter);
  const key = filter.slice(0, eq);
  return Object.hasOwn(labels, key) && labels[key] === filter.slice(eq + 1);
}

const GO_DURATION_UNITS: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** dockerd's timetypes.GetTimestamp (until=/since=: a Go duration, epoch seconds or RFC 3339), to epoch milliseconds. */
export function parseUntil(value: string, now: number = Date.now()): number {
  if (/^((?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h))+)$/.test(value)) {
    let ms = 0;
    for (const [, n, unit] of value.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)) ms += Number(n) * GO_DURATION_UNITS[unit!]!;
    return now - ms;
  }
  if (/^\d+(\.\d+)?$/.test(value)) return Number(value) * 1000;
  const t = Date.parse(value);
  if (Number.isNaN(t)) throw new InvalidParameterError(`failed to parse value as time or duration: "${value}"`);
  return t;
}
