import type { Filters } from '../../client/index.js';
import type { FlagSpec } from '../flags.js';

// docker's FilterOpt: repeatable `-f key=value`, sent as the `filters` JSON.

/** Parses one `-f` value; "" is accepted and ignored, like docker. */
export function parseFilter(value: string): [string, string] | undefined {
  if (value === '') return undefined;
  const eq = value.indexOf('=');
  if (eq === -1) throw new Error('bad format of filter (expected name=value)');
  return [value.slice(0, eq).trim().toLowerCase(), value.slice(eq + 1).trim()];
}

export const FILTER_FLAG: FlagSpec = { name: 'filter', short: 'f', kind: 'list', type: 'filter', usage: 'Filter output based on conditions provided', parse: parseFilter };

/** `{"status":["running","exited"]}` from the collected pairs (duplicates dropped). */
export function filtersFrom(pairs: ReadonlyArray<[string, string] | undefined>): Filters {
  const filters: Filters = {};
  for (const pair of pairs) {
    if (!pair) continue;
    const [key, value] = pair;
    const values = (filters[key] ??= []);
    if (!values.includes(value)) values.push(value);
  }
  return filters;
}
