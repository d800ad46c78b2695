// How JS values stand in for Go values.
//
// Plain objects (prototype Object.prototype or null) and Map instances are
// Go maps: `.Key` looks the key up (a missing key is "<no value>"), and
// printing and ranging visit keys in sorted order. Instances of classes are
// Go structs: their properties, getters and methods are fields and methods,
// and a missing field is an execution error, as for docker's formatter
// contexts. A property whose value is a function is called like a Go method.

/**
 * A float64 whose value is integral, from a float literal such as `1e6` or
 * `3.0`. Plain JS numbers that are integral count as Go ints; this box keeps
 * Go's float printing ("1e+06") for literals. Data never needs it.
 */
export class GoFloat {
  constructor(readonly value: number) {}
  valueOf(): number {
    return this.value;
  }
  toJSON(): number {
    return this.value;
  }
}

/** Unboxes GoFloat for code outside the template engine (methods, extra funcs). */
export function toJS(v: unknown): unknown {
  return v instanceof GoFloat ? v.value : v;
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (v === null || typeof v !== 'object') return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

export function isGoMap(v: unknown): v is Record<string, unknown> | Map<unknown, unknown> {
  return v instanceof Map || isPlainObject(v);
}

export function isStruct(v: unknown): v is object {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && !isGoMap(v) && !(v instanceof GoFloat);
}

/** Go's ordering of string map keys: bytewise on UTF-8, i.e. by code point. */
export function compareGoStrings(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.codePointAt(i)!;
    const y = b.codePointAt(i)!;
    if (x !== y) return x < y ? -1 : 1;
    if (x > 0xffff) i++;
  }
  return a.length < b.length ? -1 : 1;
}

function compareKeys(a: unknown, b: unknown): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'bigint' && typeof b === 'bigint') return a < b ? -1 : a > b ? 1 : 0;
  if (typeof a === 'boolean' && typeof b === 'boolean') return Number(a) - Number(b);
  return compareGoStrings(String(a), String(b));
}

/** Entries of a Go map, sorted by key as fmt and range do. */
export function mapEntries(m: Record<string, unknown> | Map<unknown, unknown>): [unknown, unknown][] {
  const entries: [unknown, unknown][] = m instanceof Map ? [...m.entries()] : Object.entries(m);
  return entries.sort((x, y) => compareKeys(x[0], y[0]));
}

export function mapSize(m: Record<string, unknown> | Map<unknown, unknown>): number {
  return m instanceof Map ? m.size : Object.keys(m).length;
}

export type Lookup = { found: false } | { found: true; value: unknown; holder: object };

/** Looks a field or method up on a struct-like object (own or inherited, not from Object.prototype). */
export function lookupMember(obj: object, name: string): Lookup {
  for (let o: object | null = obj; o && o !== Object.prototype && o !== Function.prototype; o = Object.getPrototypeOf(o)) {
    if (Object.prototype.hasOwnProperty.call(o, name)) {
      return { found: true, value: (obj as Record<string, unknown>)[name], holder: obj };
    }
  }
  return { found: false };
}

/** Looks a key up in a Go map (own properties only, so "constructor" etc. are missing keys). */
export function mapLookup(m: Record<string, unknown> | Map<unknown, unknown>, key: string): { found: boolean; value: unknown } {
  if (m instanceof Map) return { found: m.has(key), value: m.get(key) };
  if (Object.prototype.hasOwnProperty.call(m, key)) return { found: true, value: m[key] };
  return { found: false, value: undefined };
}
