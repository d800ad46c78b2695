import { InvalidParameterError } from '../errors/index.js';
import type { ContainerRecord } from './record.js';
import { labelMatches, parseUntil } from '../util/filters.js';

// container prune's filters, as dockerd reads them: until (a Go duration
// before now, a Unix time or a date) and label / label! (key or key=value).




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
