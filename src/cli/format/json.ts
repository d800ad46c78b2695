// Go's encoding/json as used by docker's `json` template function
// (json.NewEncoder with SetEscapeHTML(false), trailing newline trimmed).

import { formatFloat } from './fmt.js';
import { compareGoStrings, isPlainObject, mapEntries } from './values.js';

export interface JsonOptions {
  /** Escape <, > and & as \u003c etc. (json.Marshal does; docker's `json` function does not). */
  escapeHTML?: boolean;
  /**
   * Order of plain-object keys. true: sorted, as Go does for maps. false:
   * insertion order, as Go does for structs (API JSON keeps struct order).
   * 'auto' (default): insertion order when every key is a capitalised
   * identifier (a struct such as .State or .Config), sorted otherwise (a map
   * such as .Config.Labels or .NetworkSettings.Networks).
   */
  sortKeys?: boolean | 'auto';
}

/** Go struct fields are exported (capitalised) identifiers; anything else suggests a map. */
function looksLikeStruct(keys: string[]): boolean {
  return keys.length > 0 && keys.every((k) => /^[A-Z][A-Za-z0-9]*$/.test(k));
}

class UnsupportedValue extends Error {}

export function encodeString(s: string, escapeHTML: boolean): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x20 && c !== 0x22 && c !== 0x5c && c < 0x7f && !(escapeHTML && (c === 0x3c || c === 0x3e || c === 0x26))) {
      out += s[i];
      continue;
    }
    switch (c) {
      case 0x22:
        out += '\\"';
        continue;
      case 0x5c:
        out += '\\\\';
        continue;
      case 0x0a:
        out += '\\n';
        continue;
      case 0x0d:
        out += '\\r';
        continue;
      case 0x09:
        out += '\\t';
        continue;
      case 0x08:
        out += '\\b';
        continue;
      case 0x0c:
        out += '\\f';
        continue;
    }
    if (c < 0x20 || c === 0x3c || c === 0x3e || c === 0x26) {
      out += '\\u00' + c.toString(16).padStart(2, '0');
      continue;
    }
    if (c === 0x2028 || c === 0x2029) {
      out += '\\u' + c.toString(16);
      continue;
    }
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        out += s[i] + s[i + 1];
        i++;
      } else out += '\\ufffd'; // lone surrogate: invalid UTF-8 in Go terms
      continue;
    }
    if (c >= 0xdc00 && c <= 0xdfff) {
      out += '\\ufffd';
      continue;
    }
    out += s[i];
  }
  return out + '"';
}

function encodeNumber(n: number): string {
  if (!Number.isFinite(n)) throw new UnsupportedValue(`json: unsupported value: ${n}`);
  if (Number.isSafeInteger(n)) return String(n);
  const abs = Math.abs(n);
  if (abs !== 0 && (abs < 1e-6 || abs >= 1e21)) {
    // Go: 'e' format, with a one-digit exponent written without padding.
    return formatFloat(n, 'e', -1).replace(/e([+-])0(\d)$/, 'e$1$2');
  }
  return formatFloat(n, 'f', -1);
}

/** time.Time's MarshalJSON (RFC 3339 with trailing zeros of the fraction trimmed). */
function encodeDate(d: Date): string {
  if (Number.isNaN(d.getTime())) throw new UnsupportedValue('json: error calling MarshalJSON for type time.Time');
  return '"' + d.toISOString().replace(/\.?0+Z$/, 'Z').replace(/\.Z$/, 'Z') + '"';
}

/** Members of a struct-like object, as docker's formatter.MarshalJSON sees them. */
function structMembers(obj: object): [string, unknown][] {
  const out = new Map<string, unknown>();
  for (const k of Object.keys(obj)) {
    const v = (obj as Record<string, unknown>)[k];
    if (typeof v === 'function') {
      if (v.length === 0) out.set(k, v.call(obj));
    } else out.set(k, v);
  }
  for (let p = Object.getPrototypeOf(obj); p && p !== Object.prototype; p = Object.getPrototypeOf(p)) {
    for (const k of Object.getOwnPropertyNames(p)) {
      if (k === 'constructor' || out.has(k) || !/^[A-Z]/.test(k) || k === 'FullHeader') continue;
      const desc = Object.getOwnPropertyDescriptor(p, k)!;
      if (desc.get) out.set(k, desc.get.call(obj));
      else if (typeof desc.value === 'function' && desc.value.length === 0) out.set(k, desc.value.call(obj));
    }
  }
  return [...out.entries()].sort((a, b) => compareGoStrings(a[0], b[0]));
}

function encode(v: unknown, opts: Required<JsonOptions>, seen: Set<object>): string {
  if (v === undefined || v === null) return 'null';
  switch (typeof v) {
    case 'string':
      return encodeString(v, opts.escapeHTML);
    case 'number':
      return encodeNumber(v);
    case 'bigint':
      return v.toString();
    case 'boolean':
      return v ? 'true' : 'false';
    case 'function':
      throw new UnsupportedValue('json: unsupported type: func()');
    case 'symbol':
      throw new UnsupportedValue('json: unsupported type: symbol');
  }
  const obj = v as object;
  if (seen.has(obj)) throw new UnsupportedValue('json: unsupported value: encountered a cycle');
  seen.add(obj);
  try {
    const toJSON = (obj as { toJSON?: unknown }).toJSON;
    if (obj instanceof Date) return encodeDate(obj);
    if (typeof toJSON === 'function') return encode(toJSON.call(obj), opts, seen);
    if (Array.isArray(obj)) return '[' + obj.map((e) => encode(e, opts, seen)).join(',') + ']';
    if (ArrayBuffer.isView(obj)) {
      // []byte is base64 in Go.
      return '"' + Buffer.from(obj.buffer, obj.byteOffset, obj.byteLength).toString('base64') + '"';
    }
    let entries: [unknown, unknown][];
    if (obj instanceof Map) entries = mapEntries(obj);
    else if (isPlainObject(obj)) {
      const sort = opts.sortKeys === 'auto' ? !looksLikeStruct(Object.keys(obj)) : opts.sortKeys;
      entries = sort ? mapEntries(obj) : Object.entries(obj);
      // A function-valued property behaves like a docker formatter method.
      entries = entries.flatMap(([k, val]) =>
        typeof val === 'function' ? ((val as () => unknown).length === 0 ? [[k, (val as () => unknown).call(obj)]] : []) : [[k, val]],
      );
    } else entries = structMembers(obj);
    return '{' + entries.map(([k, val]) => encodeString(String(k), opts.escapeHTML) + ':' + encode(val, opts, seen)).join(',') + '}';
  } finally {
    seen.delete(obj);
  }
}

/**
 * Go JSON encoding of a value: compact, no trailing newline. Values Go
 * cannot encode (NaN, cycles, functions) yield "" as docker's json does,
 * since it ignores the encoder's error.
 */
export function goJson(v: unknown, opts: JsonOptions = {}): string {
  try {
    return encode(v, { escapeHTML: opts.escapeHTML ?? false, sortKeys: opts.sortKeys ?? 'auto' }, new Set());
  } catch (e) {
    if (e instanceof UnsupportedValue || e instanceof RangeError) return '';
    throw e;
  }
}
