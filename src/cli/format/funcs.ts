// Template functions: Go's builtins (text/template/funcs.go) and the docker
// CLI's additions (cli/templates/templates.go), with the parameter types Go
// would check, so misuse fails with Go's messages.

import { goTypeName, sprint, sprintf, sprintln } from './fmt.js';
import { goJson } from './json.js';
import { GoFloat, isGoMap, mapLookup, mapSize, toJS } from './values.js';

/**
 * Parameter kinds. 'value' is Go's reflect.Value (a missing value stays
 * undefined); 'any' is interface{} (missing becomes nil); the rest are
 * concrete Go types that literals and values are checked against.
 */
export type Kind = 'value' | 'any' | 'string' | 'int' | 'bool' | 'strings';

export interface FuncSpec {
  params: Kind[];
  /** Element kind of a trailing variadic parameter. */
  variadic?: Kind;
  fn: (...args: any[]) => unknown;
  /** and/or evaluate their arguments lazily and return the deciding one. */
  shortCircuit?: 'and' | 'or';
}

/** Thrown by a function to produce `error calling NAME: message`. */
export class FuncError extends Error {}

/** Go's truth: false, 0, nil, and empty strings/arrays/maps are false. */
export function isTrue(v: unknown): boolean {
  if (v === undefined || v === null) return false;
  if (v instanceof GoFloat) return v.value !== 0;
  switch (typeof v) {
    case 'boolean':
      return v;
    case 'number':
      return v !== 0;
    case 'bigint':
      return v !== 0n;
    case 'string':
      return v.length > 0;
    case 'function':
      return true;
  }
  if (Array.isArray(v)) return v.length > 0;
  if (isGoMap(v)) return mapSize(v) > 0;
  if (v instanceof Set) return v.size > 0;
  return true; // structs are always true
}

type BasicKind = 'invalid' | 'bool' | 'number' | 'string';

function basicKind(v: unknown): BasicKind {
  if (v instanceof GoFloat) return 'number';
  switch (typeof v) {
    case 'boolean':
      return 'bool';
    case 'number':
    case 'bigint':
      return 'number';
    case 'string':
      return 'string';
  }
  return 'invalid';
}

const isNil = (v: unknown): boolean => v === undefined || v === null;

function eq(arg1: unknown, ...rest: unknown[]): boolean {
  if (rest.length === 0) throw new FuncError('missing argument for comparison');
  const k1 = basicKind(arg1);
  for (const arg of rest) {
    const k2 = basicKind(arg);
    let truth = false;
    if (k1 !== k2) {
      if (!isNil(arg1) && !isNil(arg)) throw new FuncError('incompatible types for comparison');
    } else if (k1 === 'number') {
      // Go would reject int vs float64; JS has one number type, so compare numerically.
      truth = Number(arg1) === Number(arg) && (typeof arg1 !== 'bigint' || typeof arg !== 'bigint' || arg1 === arg);
    } else if (k1 !== 'invalid') {
      truth = arg1 === arg;
    } else if (isNil(arg1) || isNil(arg)) {
      truth = isNil(arg1) === isNil(arg);
    } else {
      for (const v of [arg1, arg]) {
        if (Array.isArray(v) || isGoMap(v) || typeof v === 'function') {
          throw new FuncError(`non-comparable type ${sprint([v])}: ${goTypeName(v)}`);
        }
      }
      truth = arg1 === arg;
    }
    if (truth) return true;
  }
  return false;
}

function lt(arg1: unknown, arg2: unknown): boolean {
  const k1 = basicKind(arg1);
  const k2 = basicKind(arg2);
  if (k1 === 'invalid' || k2 === 'invalid') throw new FuncError('invalid type for comparison');
  if (k1 !== k2) throw new FuncError('incompatible types for comparison');
  if (k1 === 'bool') throw new FuncError('invalid type for comparison');
  if (k1 === 'string') return byteLess(arg1 as string, arg2 as string);
  return Number(arg1) < Number(arg2);
}

function byteLess(a: string, b: string): boolean {
  return Buffer.compare(Buffer.from(a), Buffer.from(b)) < 0;
}

function le(a: unknown, b: unknown): boolean {
  return lt(a, b) || eq(a, b);
}

function indexArg(index: unknown, cap: number): number {
  if (isNil(index)) throw new FuncError('cannot index slice/array with nil');
  let x: number;
  if (typeof index === 'number' && Number.isInteger(index)) x = index;
  else if (typeof index === 'bigint') x = Number(index);
  else throw new FuncError(`cannot index slice/array with type ${goTypeName(index)}`);
  if (x < 0 || x > cap) throw new FuncError(`index out of range: ${x}`);
  return x;
}

/**
 * Zero value for a missing map key. JS maps carry no element type; a map
 * whose values are all strings (labels, options) is taken to be
 * map[string]string, where Go's index yields "" rather than <no value>.
 */
function missingMapValue(m: Record<string, unknown> | Map<unknown, unknown>): unknown {
  const values = m instanceof Map ? [...m.values()] : Object.values(m);
  return values.every((v) => typeof v === 'string') ? '' : undefined;
}

function index(item: unknown, ...indexes: unknown[]): unknown {
  if (isNil(item)) throw new FuncError('index of untyped nil');
  for (const ix of indexes) {
    if (isNil(item)) throw new FuncError('index of nil pointer');
    if (Array.isArray(item)) {
      const x = indexArg(ix, item.length);
      if (x >= item.length) throw new FuncError('reflect: slice index out of range');
      item = item[x];
    } else if (typeof item === 'string') {
      const bytes = Buffer.from(item);
      const x = indexArg(ix, bytes.length);
      if (x >= bytes.length) throw new FuncError('reflect: string index out of range');
      item = bytes[x]; // Go indexes strings by byte and yields a uint8
    } else if (isGoMap(item)) {
      if (typeof ix !== 'string' && !(item instanceof Map)) {
        throw new FuncError(isNil(ix) ? 'value is nil; should be of type string' : `value has type ${goTypeName(ix)}; should be string`);
      }
      const r = item instanceof Map ? { found: item.has(ix), value: item.get(ix) } : mapLookup(item, ix as string);
      item = r.found ? r.value : missingMapValue(item);
    } else {
      throw new FuncError(`can't index item of type ${goTypeName(item)}`);
    }
  }
  return item;
}

function slice(item: unknown, ...indexes: unknown[]): unknown {
  if (isNil(item)) throw new FuncError('slice of untyped nil');
  if (indexes.length > 3) throw new FuncError(`too many slice indexes: ${indexes.length}`);
  let len: number;
  if (typeof item === 'string') {
    if (indexes.length === 3) throw new FuncError('cannot 3-index slice a string');
    len = Buffer.byteLength(item);
  } else if (Array.isArray(item)) {
    len = item.length;
  } else {
    throw new FuncError(`can't slice item of type ${goTypeName(item)}`);
  }
  const idx = [0, len, len];
  indexes.forEach((ix, i) => (idx[i] = indexArg(ix, len)));
  if (idx[0] > idx[1]) throw new FuncError(`invalid slice index: ${idx[0]} > ${idx[1]}`);
  if (indexes.length === 3 && idx[1] > idx[2]) throw new FuncError(`invalid slice index: ${idx[1]} > ${idx[2]}`);
  if (typeof item === 'string') return Buffer.from(item).subarray(idx[0], idx[1]).toString('utf8');
  return (item as unknown[]).slice(idx[0], idx[1]);
}

function length(item: unknown): number {
  if (item === null) throw new FuncError('len of nil pointer');
  if (item === undefined) throw new FuncError('reflect: call of reflect.Value.Type on zero Value');
  if (typeof item === 'string') return Buffer.byteLength(item);
  if (Array.isArray(item)) return item.length;
  if (isGoMap(item)) return mapSize(item);
  if (item instanceof Set) return item.size;
  throw new FuncError(`len of type ${goTypeName(item)}`);
}

function call(fn: unknown, ...args: unknown[]): unknown {
  if (isNil(fn)) throw new FuncError('call of nil');
  if (typeof fn !== 'function') throw new FuncError(`non-function of type ${goTypeName(fn)}`);
  return (fn as (...a: unknown[]) => unknown)(...args.map(toJS));
}

/** text/template's evalArgs: a lone string as is, otherwise Sprint of the printable values. */
function evalArgs(args: unknown[]): string {
  if (args.length === 1 && typeof args[0] === 'string') return args[0];
  return sprint(args.map((a) => (a === undefined || a === null ? '<no value>' : a)));
}

export function htmlEscape(s: string): string {
  return s.replace(/[\0"'&<>]/g, (c) => ({ '\0': '\uFFFD', '"': '&#34;', "'": '&#39;', '&': '&amp;', '<': '&lt;', '>': '&gt;' })[c]!);
}

export function jsEscape(s: string): string {
  let out = '';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    switch (ch) {
      case '\\':
        out += '\\\\';
        continue;
      case "'":
        out += "\\'";
        continue;
      case '"':
        out += '\\"';
        continue;
      case '<':
        out += '\\u003C';
        continue;
      case '>':
        out += '\\u003E';
        continue;
      case '&':
        out += '\\u0026';
        continue;
      case '=':
        out += '\\u003D';
        continue;
    }
    if (c < 0x20) out += '\\u00' + c.toString(16).toUpperCase().padStart(2, '0');
    else if (c < 0x80) out += ch;
    else if (/^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u.test(ch)) out += ch;
    else out += '\\u' + c.toString(16).toUpperCase().padStart(4, '0');
  }
  return out;
}

/** url.QueryEscape. */
export function urlQueryEscape(s: string): string {
  let out = '';
  for (const b of Buffer.from(s, 'utf8')) {
    const c = String.fromCharCode(b);
    if (/[A-Za-z0-9\-_.~]/.test(c)) out += c;
    else if (c === ' ') out += '+';
    else out += '%' + b.toString(16).toUpperCase().padStart(2, '0');
  }
  return out;
}

/** strings.Title: upper-cases the first letter of each word. */
export function goTitle(s: string): string {
  let prev = ' ';
  let out = '';
  for (const ch of s) {
    out += isSeparator(prev) ? ch.toUpperCase() : ch;
    prev = ch;
  }
  return out;
}

function isSeparator(ch: string): boolean {
  const c = ch.codePointAt(0)!;
  if (c <= 0x7f) {
    if (/[0-9a-zA-Z_]/.test(ch)) return false;
    return true;
  }
  if (/^[\p{L}\p{Nd}]$/u.test(ch)) return false;
  return /^\s$/u.test(ch);
}

/** strings.Split. */
export function goSplit(s: string, sep: string): string[] {
  if (sep === '') return Array.from(s);
  return s.split(sep);
}

/** docker's truncate: the first `length` bytes (not runes), as Go's s[:n]. */
function truncateBytes(s: string, n: number): string {
  const b = Buffer.from(s);
  if (b.length < n) return s;
  return b.subarray(0, Math.max(n, 0)).toString('utf8');
}

export interface FuncOptions {
  /** Key order of plain objects in `json` output; see JsonOptions.sortKeys. */
  jsonSortKeys?: boolean | 'auto';
}

export function builtinFuncs(opts: FuncOptions = {}): Record<string, FuncSpec> {
  return {
    // and/or are short-circuited by the executor; these specs only give arity.
    and: { params: ['value'], variadic: 'value', shortCircuit: 'and', fn: () => undefined },
    or: { params: ['value'], variadic: 'value', shortCircuit: 'or', fn: () => undefined },
    not: { params: ['value'], fn: (v) => !isTrue(v) },
    len: { params: ['value'], fn: length },
    index: { params: ['value'], variadic: 'value', fn: index },
    slice: { params: ['value'], variadic: 'value', fn: slice },
    call: { params: ['value'], variadic: 'value', fn: call },
    print: { params: [], variadic: 'any', fn: (...a) => sprint(a) },
    printf: { params: ['string'], variadic: 'any', fn: (f, ...a) => sprintf(f, a) },
    println: { params: [], variadic: 'any', fn: (...a) => sprintln(a) },
    html: { params: [], variadic: 'any', fn: (...a) => htmlEscape(evalArgs(a)) },
    js: { params: [], variadic: 'any', fn: (...a) => jsEscape(evalArgs(a)) },
    urlquery: { params: [], variadic: 'any', fn: (...a) => urlQueryEscape(evalArgs(a)) },
    eq: { params: ['value'], variadic: 'value', fn: eq },
    ne: { params: ['value', 'value'], fn: (a, b) => !eq(a, b) },
    lt: { params: ['value', 'value'], fn: lt },
    le: { params: ['value', 'value'], fn: le },
    gt: { params: ['value', 'value'], fn: (a, b) => !le(a, b) },
    ge: { params: ['value', 'value'], fn: (a, b) => !lt(a, b) },

    // docker/cli templates.basicFunctions
    json: { params: ['any'], fn: (v) => goJson(v, { escapeHTML: false, sortKeys: opts.jsonSortKeys ?? 'auto' }) },
    split: { params: ['string', 'string'], fn: goSplit },
    join: { params: ['strings', 'string'], fn: (a: string[], sep: string) => a.join(sep) },
    title: { params: ['string'], fn: goTitle },
    lower: { params: ['string'], fn: (s: string) => s.toLowerCase() },
    upper: { params: ['string'], fn: (s: string) => s.toUpperCase() },
    pad: { params: ['string', 'int', 'int'], fn: (s: string, pre: number, post: number) => (s === '' ? s : ' '.repeat(Math.max(pre, 0)) + s + ' '.repeat(Math.max(post, 0))) },
    truncate: { params: ['string', 'int'], fn: truncateBytes },
  };
}

/**
 * docker/cli templates.HeaderFunctions: used when rendering a table's
 * header row so that `{{upper .Names}}` still prints the "NAMES" header.
 */
export function headerFuncs(): Record<string, FuncSpec> {
  const id = (v: string): string => v;
  return {
    ...builtinFuncs(),
    json: { params: ['string'], fn: id },
    split: { params: ['string', 'string'], fn: id },
    join: { params: ['string', 'string'], fn: id },
    title: { params: ['string'], fn: id },
    lower: { params: ['string'], fn: id },
    upper: { params: ['string'], fn: id },
    truncate: { params: ['string', 'int'], fn: id },
  };
}

export const FUNC_NAMES: ReadonlySet<string> = new Set(Object.keys(builtinFuncs()));

