// The public Template type: parse once, execute against any data.

import { run } from './exec.js';
import { builtinFuncs, FUNC_NAMES, type FuncSpec } from './funcs.js';
import { Parser, type TreeSet } from './parser.js';
import { TemplateError } from './errors.js';
import { toJS } from './values.js';

/** Extra template functions: plain JS functions, called with the evaluated arguments. */
export type ExtraFuncs = Record<string, (...args: any[]) => unknown>;

export interface ParseOptions {
  /** Template name used in error messages; docker uses "" (`template: :1: ...`). */
  name?: string;
  funcs?: ExtraFuncs;
}

export interface ExecuteOptions {
  /**
   * Key order of plain objects in `json` output: true sorts (Go maps),
   * false keeps insertion order (Go structs), 'auto' (default) keeps it only
   * for objects whose keys are all capitalised identifiers.
   */
  jsonSortKeys?: boolean | 'auto';
}

function toSpecs(extra: ExtraFuncs | undefined): Record<string, FuncSpec> {
  const out: Record<string, FuncSpec> = {};
  for (const [k, fn] of Object.entries(extra ?? {})) out[k] = { params: [], variadic: 'value', fn: (...a: unknown[]) => fn(...a.map(toJS)) };
  return out;
}

export class Template {
  /** @internal use parseTemplate() */
  constructor(
    readonly name: string,
    readonly text: string,
    private readonly treeSet: TreeSet,
    private readonly extra: Record<string, FuncSpec>,
  ) {}

  /** Renders the template; throws TemplateError on execution errors. */
  execute(data: unknown, opts: ExecuteOptions = {}): string {
    const r = this.run(data, { ...builtinFuncs(opts), ...this.extra });
    if (r.err) throw r.err;
    return r.out;
  }

  /**
   * Runs with a given function map and returns the partial output along
   * with any error, as Go's Execute leaves output written before failing.
   * @internal
   */
  run(data: unknown, funcs: Record<string, FuncSpec>, name = this.name): { out: string; err?: TemplateError } {
    return run({ text: this.text, parseName: this.name, treeSet: this.treeSet, funcs: { ...funcs, ...this.extra } }, name, data);
  }

  /** Names of the templates defined in the text ({{define}}/{{block}}), plus this one. */
  templateNames(): string[] {
    return [...this.treeSet.keys()];
  }
}

/**
 * Parses Go text/template source with Go's builtins and the docker CLI's
 * functions (json, split, join, title, lower, upper, pad, truncate).
 * Throws TemplateError with Go's message on syntax errors.
 */
export function parseTemplate(text: string, opts: ParseOptions = {}): Template {
  const name = opts.name ?? '';
  const extra = toSpecs(opts.funcs);
  const has = (fn: string): boolean => FUNC_NAMES.has(fn) || Object.prototype.hasOwnProperty.call(extra, fn);
  const treeSet: TreeSet = new Map();
  try {
    new Parser(text, name, has, treeSet).parse();
  } catch (e) {
    // Only absurd nesting exhausts the JS stack; report it as a template error.
    if (e instanceof RangeError) throw new TemplateError(`template: ${name}:1: expression nested too deeply`, 'parse');
    throw e;
  }
  return new Template(name, text, treeSet, extra);
}
