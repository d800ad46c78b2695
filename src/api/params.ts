import { InvalidParameterError } from '../errors/index.js';

// Query-string parsing with Docker's rules.

/** Docker's boolean query values: "1", "true", "True" are true; "", "0", "false" false. */
export function boolParam(q: URLSearchParams, name: string, fallback = false): boolean {
  const v = q.get(name);
  if (v === null) return fallback;
  const s = v.trim().toLowerCase();
  return !(s === '' || s === '0' || s === 'false' || s === 'no');
}

export function intParam(q: URLSearchParams, name: string): number | undefined {
  const v = q.get(name);
  if (v === null || v === '') return undefined;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new InvalidParameterError(`invalid value for ${name}: ${v}`);
  return Math.trunc(n);
}

/**
 * The `filters` parameter: `{"key":["a","b"]}`, or the old
 * `{"key":{"a":true}}` map form some clients still send.
 */
export function filtersParam(q: URLSearchParams): Record<string, string[]> {
  const raw = q.get('filters');
  if (!raw) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new InvalidParameterError(`invalid filter: invalid character in '${raw}'`);
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new InvalidParameterError('invalid filter: filters must be a JSON object');
  const out: Record<string, string[]> = {};
  for (const [k, v] of Object.entries(parsed as Record<string, unknown>)) {
    if (Array.isArray(v)) out[k] = v.map(String);
    else if (v && typeof v === 'object') out[k] = Object.entries(v).filter(([, on]) => on).map(([s]) => s);
    else throw new InvalidParameterError(`invalid filter: value of '${k}' must be a list`);
  }
  return out;
}

/**
 * Timestamps for since/until: Unix seconds with optional fraction
 * ("1700000000.123456789"), or RFC 3339. Returns nanoseconds.
 */
export function timestampParamNs(q: URLSearchParams, name: string): bigint | undefined {
  const v = q.get(name);
  if (v === null || v === '' || v === '0') return undefined;
  const m = /^(\d+)(?:\.(\d{1,9}))?$/.exec(v);
  if (m) return BigInt(m[1]!) * 1_000_000_000n + BigInt((m[2] ?? '').padEnd(9, '0'));
  const t = Date.parse(v);
  if (Number.isNaN(t)) throw new InvalidParameterError(`invalid value for ${name}: ${v}`);
  return BigInt(t) * 1_000_000n;
}
