// The Engine API spec (Swagger 2.0) as JSON Schema for ajv, so tests can hold
// berthd's answers against the documented shapes. Conversion rules:
// - `$ref: #/definitions/X` is resolved and `allOf` merged into one object
//   schema, so that `strict` can forbid keys the spec does not document;
// - Go marshals nil slices, maps and pointers as null: arrays, maps and
//   referenced objects accept null unless the spec says `x-nullable: false`,
//   and `x-nullable: true` adds null to anything;
// - Swagger-only keywords (x-*, example, discriminator) are dropped.
import { readFileSync } from 'node:fs';
import { Ajv, type ValidateFunction } from 'ajv';
import { parse } from 'yaml';

export const SPEC_PATH = '/work/shared/reference/docker-engine-api-v1.47.yaml';

type Schema = Record<string, unknown>;

interface Spec {
  definitions: Record<string, Schema>;
  paths: Record<string, Record<string, { responses: Record<string, { schema?: Schema }> }>>;
}

let specCache: Spec | undefined;
function spec(): Spec {
  specCache ??= parse(readFileSync(SPEC_PATH, 'utf8'), { intAsBigInt: false }) as Spec;
  return specCache;
}

function deref(s: Schema): Schema {
  let cur = s;
  for (let hops = 0; typeof cur.$ref === 'string'; hops++) {
    if (hops > 20) throw new Error(`$ref loop at ${String(cur.$ref)}`);
    const name = String(cur.$ref).replace('#/definitions/', '');
    const def = spec().definitions[name];
    if (!def) throw new Error(`unknown definition ${name}`);
    cur = { ...def, ...Object.fromEntries(Object.entries(cur).filter(([k]) => k !== '$ref')) };
  }
  return cur;
}

function withNull(s: Schema): Schema {
  if (Array.isArray(s.enum) && !s.enum.includes(null)) s.enum = [...s.enum, null];
  if (typeof s.type === 'string') s.type = [s.type, 'null'];
  else if (s.type === undefined) return { anyOf: [s, { type: 'null' }] };
  return s;
}

// Go pointers the spec does not mark nullable; dockerd prints null for them when unset.
const GO_POINTERS = new Set(['MemorySwappiness', 'OomKillDisable', 'Init']);

function convert(input: Schema, strict: boolean, depth = 0): Schema {
  if (depth > 40) return {};
  const wasRef = typeof input.$ref === 'string';
  let s = deref(input);
  if (Array.isArray(s.allOf)) {
    const parts = (s.allOf as Schema[]).map((p) => deref(p));
    if (parts.length === 1 && parts[0]!.type !== 'object' && !parts[0]!.properties) {
      const { allOf: _a, ...own } = s;
      return convert({ ...parts[0]!, ...own }, strict, depth + 1);
    }
    const merged: Schema = { type: 'object', properties: {} };
    for (const p of [...parts, s]) {
      if (p.properties) Object.assign(merged.properties as Schema, p.properties);
      for (const k of ['description', 'x-nullable', 'additionalProperties', 'required']) if (p[k] !== undefined && k !== 'allOf') merged[k] = p[k];
    }
    s = merged;
  }
  const out: Schema = {};
  for (const [k, v] of Object.entries(s)) {
    if (k.startsWith('x-') || k === 'example' || k === 'discriminator' || k === 'description' || k === 'title' || k === 'allOf') continue;
    if (k === 'properties') {
      out.properties = Object.fromEntries(Object.entries(v as Record<string, Schema>).map(([n, p]) => {
        const c = convert(p, strict, depth + 1);
        return [n, GO_POINTERS.has(n) ? withNull(c) : c];
      }));
    } else if (k === 'items' || (k === 'additionalProperties' && typeof v === 'object')) {
      out[k] = convert(v as Schema, strict, depth + 1);
    } else {
      out[k] = v;
    }
  }
  if (strict && out.properties && out.additionalProperties === undefined) out.additionalProperties = false;
  const nullable = s['x-nullable'];
  const goNil = out.type === 'array' || (out.type === 'object' && (out.additionalProperties !== undefined && !out.properties)) || (wasRef && out.type === 'object');
  if (nullable === true || (nullable !== false && goNil)) return withNull(out);
  return out;
}

const ajv = new Ajv({ strict: false, validateFormats: false, allErrors: true });
const compiled = new Map<string, ValidateFunction>();

function compile(key: string, schema: () => Schema, strict: boolean): ValidateFunction {
  const k = `${key}:${strict}`;
  let fn = compiled.get(k);
  if (!fn) {
    fn = ajv.compile(convert(schema(), strict));
    compiled.set(k, fn);
  }
  return fn;
}

/** The 200 answer's schema of `method path` in the spec. */
export function responseSchema(method: string, path: string): Schema {
  const op = spec().paths[path]?.[method.toLowerCase()];
  const schema = op?.responses['200']?.schema;
  if (!schema) throw new Error(`no 200 schema for ${method} ${path}`);
  return schema;
}

/**
 * Errors of `value` against the answer `method path` documents (empty when it
 * conforms). `strict` also refuses keys the spec does not list.
 */
export function schemaErrors(method: string, path: string, value: unknown, strict = true): string[] {
  const fn = compile(`${method} ${path}`, () => responseSchema(method, path), strict);
  if (fn(value)) return [];
  return (fn.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message}${e.params ? ` ${JSON.stringify(e.params)}` : ''}`);
}

/** Errors of `value` against definition `name`. */
export function definitionErrors(name: string, value: unknown, strict = true): string[] {
  const fn = compile(`def ${name}`, () => ({ $ref: `#/definitions/${name}` }), strict);
  if (fn(value)) return [];
  return (fn.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message}${e.params ? ` ${JSON.stringify(e.params)}` : ''}`);
}
