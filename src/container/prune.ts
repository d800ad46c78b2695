import { InvalidParameterError } from '../errors/index.js';
import type { ContainerRecord } from './record.js';

// container prune's filters, as dockerd reads them: until (a Go duration
// before now, a Unix time or a date) and label / label! (key or key=value).

const GO_DURATION_UNITS: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** dockerd's timetypes.GetTimestamp, to epoch milliseconds. */
export function parseUntil(value: string, now: number): number {
  const d = /^((?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h))+)$/.exec(value);
  if (d) {
    let ms = 0;
    for (const [, n, unit] of value.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)) ms += Number(n) * GO_DURATION_UNITS[unit!]!;
    return now - ms;
  }
  if (/^\d+(\.\d+)?$/.test(value)) return Number(value) * 1000;
  const t = Date.parse(value);
  if (Number.isNaN(t)) throw new InvalidParameterError(`failed to parse value as time or duration: "${value}"`);
  return t;
}

function labelMatches(labels: Record<string, string>, filter: string): boolean {
  const eq = filter.indexOf('=');
  if (eq < 0) return filter in labels;
  return labels[filter.slice(0, eq)] === filter.slice(eq + 1);
}

/** A predicate for the records prune may remove (besides being stopped). */
export function pruneFilter(filters: Record<string, string[]>, now: number): (r: ContainerRecord) => boolean {
  for (const key of Object.keys(filters)) {
    if (!['until', 'label', 'label!'].includes(key)) throw new InvalidParameterError(`invalid filter '${key}'`);
  }
  const untils = (filters.until ?? []).map((u) => parseUntil(u, now));
  if (untils.length > 1) throw new InvalidParameterError('more than one until filter specified');
  return (r) => {
    const labels = r.config.Labels ?? {};
    if (untils.length && !(Date.parse(r.created) < untils[0]!)) return false;
    if (filters.label?.length && !filters.label.every((l) => labelMatches(labels, l))) return false;
    if (filters['label!']?.length && filters['label!'].some((l) => labelMatches(labels, l))) return false;
    return true;
  };
}
