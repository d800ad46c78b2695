// Executes a parsed template against JS data, following Go's
// text/template/exec.go: what gets printed for missing keys and nils, how
// fields, methods and functions are evaluated, and the error messages.
//
// Go's "invalid reflect.Value" (e.g. a missing map key) is `undefined`; a nil
// interface stored in a map or slice is `null`. Like Go, a pipeline's result
// is unwrapped so a stored nil becomes invalid (both print "<no value>"),
// while `.a.b` through a stored nil is a "nil pointer evaluating" error.

import type { Arg, AnyNode, BranchNode, ChainNode, CommandNode, FieldNode, IdentifierNode, ListNode, Node, NumberNode, PipeNode, TemplateNode, VariableNode } from './ast.js';
import { nodeString } from './ast.js';
import { TemplateError } from './errors.js';
import { formatValue, goTypeName } from './fmt.js';
import { FuncError, isTrue, type FuncSpec, type Kind } from './funcs.js';
import type { TreeSet } from './parser.js';
import { goQuoteString } from './quote.js';
import { GoFloat, isGoMap, isStruct, lookupMember, mapEntries, mapLookup, toJS } from './values.js';

const NO_FINAL = Symbol('no final value'); // Go's missingVal: no piped-in argument
type Final = unknown;

const BREAK = Symbol('break');
const CONTINUE = Symbol('continue');

const MAX_EXEC_DEPTH = 100000;

export interface Env {
  text: string; // the source, for error positions
  parseName: string; // name the text was parsed under
  treeSet: TreeSet;
  funcs: Record<string, FuncSpec>;
  out: string[];
  root?: unknown; // the data passed to Execute
}

interface Variable {
  name: string;
  value: unknown;
}

export class State {
  private vars: Variable[];
  private node: AnyNode | null = null;

  constructor(
    private readonly env: Env,
    private readonly tmplName: string,
    private readonly depth: number,
    dot: unknown,
  ) {
    this.vars = [{ name: '$', value: dot }];
  }

  // --- errors ---------------------------------------------------------------

  private at(n: AnyNode): void {
    this.node = n;
  }

  errorf(msg: string): never {
    const name = goQuoteString(this.tmplName);
    if (!this.node) throw new TemplateError(`template: ${this.tmplName}: ${msg}`, 'exec');
    const pos = this.node.pos;
    const before = this.env.text.slice(0, pos);
    const nl = before.lastIndexOf('\n');
    const line = 1 + (before.match(/\n/g)?.length ?? 0);
    const col = Buffer.byteLength(before.slice(nl + 1));
    const loc = `${this.env.parseName}:${line}:${col}`;
    throw new TemplateError(`template: ${loc}: executing ${name} at <${nodeString(this.node)}>: ${msg}`, 'exec');
  }

  // --- variables ------------------------------------------------------------

  private mark(): number {
    return this.vars.length;
  }
  private pop(mark: number): void {
    this.vars.length = mark;
  }
  private push(name: string, value: unknown): void {
    this.vars.push({ name, value });
  }
  private setVar(name: string, value: unknown): void {
    for (let i = this.vars.length - 1; i >= 0; i--) {
      if (this.vars[i].name === name) {
        this.vars[i].value = value;
        return;
      }
    }
    this.errorf(`undefined variable: ${name}`);
  }
  private setTopVar(n: number, value: unknown): void {
    this.vars[this.vars.length - n].value = value;
  }
  private varValue(name: string): unknown {
    for (let i = this.vars.length - 1; i >= 0; i--) {
      if (this.vars[i].name === name) return this.vars[i].value;
    }
    this.errorf(`undefined variable: ${name}`);
  }

  // --- walking --------------------------------------------------------------

  walk(dot: unknown, node: Node): void {
    this.at(node);
    switch (node.type) {
      case 'action': {
        // Declarations persist to the end of the enclosing block and print nothing.
        const val = this.evalPipeline(dot, node.pipe);
        if (node.pipe.decl.length === 0) this.printValue(node, val);
        return;
      }
      case 'break':
        throw BREAK;
      case 'continue':
        throw CONTINUE;
      case 'comment':
        return;
      case 'if':
      case 'with':
        this.walkIfOrWith(node, dot);
        return;
      case 'list':
        for (const n of node.nodes) this.walk(dot, n);
        return;
      case 'range':
        this.walkRange(dot, node);
        return;
      case 'template':
        this.walkTemplate(dot, node);
        return;
      case 'text':
        this.env.out.push(node.text);
        return;
      default:
        this.errorf(`unknown node: ${nodeString(node)}`);
    }
  }

  private walkIfOrWith(node: BranchNode, dot: unknown): void {
    const mark = this.mark();
    try {
      const val = this.evalPipeline(dot, node.pipe);
      if (isTrue(val)) this.walk(node.type === 'with' ? val : dot, node.list);
      else if (node.elseList) this.walk(dot, node.elseList);
    } finally {
      this.pop(mark);
    }
  }

  private walkRange(dot: unknown, r: BranchNode): void {
    this.at(r);
    const mark = this.mark();
    try {
      const val = this.evalPipeline(dot, r.pipe);
      const inner = this.mark(); // after the range's own variables
      const one = (index: unknown, elem: unknown): void => {
        if (r.pipe.decl.length > 0) this.setTopVar(1, elem);
        if (r.pipe.decl.length > 1) this.setTopVar(2, index);
        try {
          this.walk(elem, r.list);
        } catch (e) {
          if (e !== CONTINUE) throw e;
        } finally {
          this.pop(inner);
        }
      };
      let iterated = false;
      try {
        if (Array.isArray(val)) {
          for (let i = 0; i < val.length; i++) {
            iterated = true;
            one(i, val[i]);
          }
        } else if (isGoMap(val)) {
          for (const [k, v] of mapEntries(val)) {
            iterated = true;
            one(k, v);
          }
        } else if (typeof val === 'number' || typeof val === 'bigint') {
          // Go 1.22: range over an integer counts from 0.
          if (typeof val === 'number' && !Number.isInteger(val)) this.errorf(`range can't iterate over ${formatValue(val)}`);
          for (let i = 0; i < Number(val); i++) {
            iterated = true;
            one(i, i);
          }
        } else if (val === undefined || val === null) {
          // A nil map or slice: acts as empty.
        } else if (typeof val === 'object' && typeof (val as Iterable<unknown>)[Symbol.iterator] === 'function') {
          let i = 0;
          for (const v of val as Iterable<unknown>) {
            iterated = true;
            one(i++, v);
          }
        } else {
          this.errorf(`range can't iterate over ${formatValue(val)}`);
        }
      } catch (e) {
        if (e === BREAK) return;
        throw e;
      }
      if (!iterated && r.elseList) this.walk(dot, r.elseList);
    } finally {
      this.pop(mark);
    }
  }

  private walkTemplate(dot: unknown, t: TemplateNode): void {
    this.at(t);
    const tree = this.env.treeSet.get(t.name);
    if (!tree) this.errorf(`template ${goQuoteString(t.name)} not defined`);
    if (this.depth >= MAX_EXEC_DEPTH) this.errorf(`exceeded maximum template depth (${MAX_EXEC_DEPTH})`);
    // Variables declared by the pipeline persist; the callee sees none of ours.
    const newDot = this.evalPipeline(dot, t.pipe);
    try {
      new State(this.env, t.name, this.depth + 1, newDot).walk(newDot, tree);
    } catch (e) {
      // JS runs out of stack long before Go's limit: report it as Go would.
      if (!(e instanceof RangeError)) throw e;
      this.at(t);
      this.errorf(`exceeded maximum template depth (${MAX_EXEC_DEPTH})`);
    }
  }

  private printValue(n: Node, v: unknown): void {
    this.at(n);
    if (v === undefined || v === null) {
      this.env.out.push('<no value>');
      return;
    }
    if (typeof v === 'function') this.errorf(`can't print ${nodeString(n)} of type ${goTypeName(v)}`);
    this.env.out.push(formatValue(v));
  }

  // --- evaluation -----------------------------------------------------------

  evalPipeline(dot: unknown, pipe: PipeNode | null): unknown {
    if (!pipe) return undefined;
    this.at(pipe);
    let value: unknown = NO_FINAL;
    for (const cmd of pipe.cmds) {
      value = this.evalCommand(dot, cmd, value);
      // Go unwraps interface values here, so a nil stored in a map becomes invalid.
      if (value === null) value = undefined;
    }
    for (const v of pipe.decl) {
      if (pipe.isAssign) this.setVar(v.ident[0], value);
      else this.push(v.ident[0], value);
    }
    return value;
  }

  private notAFunction(args: Arg[], final: Final): void {
    if (args.length > 1 || final !== NO_FINAL) this.errorf(`can't give argument to non-function ${nodeString(args[0])}`);
  }

  private evalCommand(dot: unknown, cmd: CommandNode, final: Final): unknown {
    const first = cmd.args[0];
    switch (first.type) {
      case 'field':
        return this.evalFieldNode(dot, first, cmd.args, final);
      case 'chain':
        return this.evalChainNode(dot, first, cmd.args, final);
      case 'identifier':
        return this.evalFunction(dot, first, cmd, cmd.args, final);
      case 'pipe':
        this.notAFunction(cmd.args, final);
        return this.evalPipeline(dot, first);
      case 'variable':
        return this.evalVariableNode(dot, first, cmd.args, final);
    }
    this.at(first);
    this.notAFunction(cmd.args, final);
    switch (first.type) {
      case 'bool':
        return first.value;
      case 'dot':
        return dot;
      case 'nil':
        this.errorf('nil is not a command');
      // falls through (unreachable)
      case 'number':
        return this.idealConstant(first);
      case 'string':
        return first.text;
    }
  }

  private idealConstant(n: NumberNode): unknown {
    this.at(n);
    if (n.isComplex) this.errorf(`complex constant ${n.text} is not supported`);
    const hexInt = /^[+-]?0[xX]/.test(n.text) && !/[pP]/.test(n.text);
    if (n.isFloat && !hexInt && n.text[0] !== "'" && /[.eEpP]/.test(n.text)) return Number.isSafeInteger(n.value) ? new GoFloat(n.value) : n.value;
    if (n.isInt) return n.bigint ?? n.value;
    this.errorf(`${n.text} overflows int`);
  }

  private evalFieldNode(dot: unknown, field: FieldNode, args: Arg[] | null, final: Final): unknown {
    this.at(field);
    return this.evalFieldChain(dot, dot, field, field.ident, args, final);
  }

  private evalChainNode(dot: unknown, chain: ChainNode, args: Arg[] | null, final: Final): unknown {
    this.at(chain);
    if (chain.node.type === 'nil') this.errorf(`indirection through explicit nil in ${nodeString(chain)}`);
    const pipe = this.evalArg(dot, 'value', chain.node);
    return this.evalFieldChain(dot, pipe, chain, chain.field, args, final);
  }

  private evalVariableNode(dot: unknown, v: VariableNode, args: Arg[] | null, final: Final): unknown {
    this.at(v);
    const value = this.varValue(v.ident[0]);
    if (v.ident.length === 1) {
      this.notAFunction(args ?? [v], final);
      return value;
    }
    return this.evalFieldChain(dot, value, v, v.ident.slice(1), args, final);
  }

  private evalFieldChain(dot: unknown, receiver: unknown, node: AnyNode, ident: string[], args: Arg[] | null, final: Final): unknown {
    const n = ident.length;
    for (let i = 0; i < n - 1; i++) receiver = this.evalField(dot, ident[i], node, null, NO_FINAL, receiver);
    return this.evalField(dot, ident[n - 1], node, args, final, receiver);
  }

  private evalFunction(dot: unknown, node: IdentifierNode, cmd: AnyNode, args: Arg[] | null, final: Final): unknown {
    this.at(node);
    const spec = this.env.funcs[node.ident];
    if (!spec || !Object.prototype.hasOwnProperty.call(this.env.funcs, node.ident)) {
      this.errorf(`${goQuoteString(node.ident)} is not a defined function`);
    }
    return this.evalCall(dot, spec, node.ident, cmd, args, final);
  }

  private evalField(dot: unknown, name: string, node: AnyNode, args: Arg[] | null, final: Final, receiver: unknown): unknown {
    if (receiver === undefined) return undefined; // missing map key: keep "<no value>"
    if (receiver === null) this.errorf(`nil pointer evaluating interface {}.${name}`);
    const hasArgs = (args?.length ?? 0) > 1 || final !== NO_FINAL;
    if (isGoMap(receiver)) {
      const r = mapLookup(receiver, name);
      if (r.found && typeof r.value === 'function') return this.callMethod(dot, receiver, r.value, name, node, args, final);
      if (hasArgs) this.errorf(`${name} is not a method but has arguments`);
      return r.found ? r.value : undefined;
    }
    if (isStruct(receiver)) {
      const r = lookupMember(receiver, name);
      if (r.found) {
        if (typeof r.value === 'function') return this.callMethod(dot, receiver, r.value, name, node, args, final);
        if (hasArgs) this.errorf(`${name} has arguments but cannot be invoked as function`);
        return r.value;
      }
    }
    // Values reached through maps and slices have Go's static type interface {}.
    const typ = isStruct(receiver) || receiver === this.env.root ? goTypeName(receiver) : 'interface {}';
    this.errorf(`can't evaluate field ${name} in type ${typ}`);
  }

  /** Calls a function-valued field (a Go method): arguments are untyped. */
  private callMethod(dot: unknown, self: object, fn: Function, name: string, node: AnyNode, args: Arg[] | null, final: Final): unknown {
    const argv = (args ?? []).slice(1).map((a) => toJS(this.evalArg(dot, 'value', a)));
    if (final !== NO_FINAL) argv.push(toJS(final));
    try {
      return fn.apply(self, argv);
    } catch (e) {
      if (e instanceof TemplateError) throw e;
      this.at(node);
      this.errorf(`error calling ${name}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  private evalCall(dot: unknown, spec: FuncSpec, name: string, node: AnyNode, args: Arg[] | null, final: Final): unknown {
    const rest = args ? args.slice(1) : [];
    const numIn = rest.length + (final !== NO_FINAL ? 1 : 0);
    const numFixed = spec.params.length;
    if (spec.variadic) {
      if (numIn < numFixed) this.errorf(`wrong number of args for ${name}: want at least ${numFixed} got ${rest.length}`);
    } else if (numIn !== numFixed) {
      this.errorf(`wrong number of args for ${name}: want ${numFixed} got ${numIn}`);
    }

    // and/or short-circuit and return the deciding argument itself.
    if (spec.shortCircuit) {
      let v: unknown;
      for (const a of rest) {
        v = this.evalArg(dot, 'value', a);
        if (isTrue(v) === (spec.shortCircuit === 'or')) return v;
      }
      if (final !== NO_FINAL) v = final;
      return v;
    }

    const argv: unknown[] = [];
    rest.forEach((a, i) => argv.push(this.evalArg(dot, i < numFixed ? spec.params[i] : spec.variadic!, a)));
    if (final !== NO_FINAL) {
      const i = numIn - 1;
      const kind = i < numFixed ? spec.params[i] : spec.variadic!;
      argv.push(this.validateType(final, kind));
    }
    try {
      return spec.fn(...argv);
    } catch (e) {
      if (e instanceof TemplateError) throw e;
      this.at(node);
      const msg = e instanceof FuncError || e instanceof Error ? e.message : String(e);
      this.errorf(`error calling ${name}: ${msg}`);
    }
  }

  private validateType(value: unknown, kind: Kind): unknown {
    switch (kind) {
      case 'value':
        return value;
      case 'any':
        return value === undefined ? null : value;
      case 'strings':
        if (value === undefined || value === null) return [];
        if (!Array.isArray(value)) this.errorf(`wrong type for value; expected []string; got ${goTypeName(value)}`);
        // Lenient: Go needs a []string, JSON data gives []interface {}.
        return value.map((e) => (typeof e === 'string' ? e : formatValue(e)));
    }
    const goType = kind;
    if (value === undefined) this.errorf(`invalid value; expected ${goType}`);
    const ok =
      (kind === 'string' && typeof value === 'string') ||
      (kind === 'bool' && typeof value === 'boolean') ||
      (kind === 'int' && ((typeof value === 'number' && Number.isInteger(value)) || typeof value === 'bigint'));
    if (!ok) this.errorf(`wrong type for value; expected ${goType}; got ${value === null ? 'interface {}' : goTypeName(value)}`);
    return kind === 'int' ? Number(value) : value;
  }

  private evalArg(dot: unknown, kind: Kind, n: Arg): unknown {
    this.at(n);
    switch (n.type) {
      case 'dot':
        return this.validateType(dot, kind);
      case 'nil':
        // reflect.Value params get an invalid value; interface{} params a nil.
        if (kind === 'value') return undefined;
        if (kind === 'any') return null;
        if (kind === 'strings') return [];
        this.errorf(`cannot assign nil to ${kind}`);
      // falls through (unreachable)
      case 'field':
        return this.validateType(this.evalFieldNode(dot, n, [n], NO_FINAL), kind);
      case 'variable':
        return this.validateType(this.evalVariableNode(dot, n, null, NO_FINAL), kind);
      case 'pipe':
        return this.validateType(this.evalPipeline(dot, n), kind);
      case 'identifier':
        return this.validateType(this.evalFunction(dot, n, n, null, NO_FINAL), kind);
      case 'chain':
        return this.validateType(this.evalChainNode(dot, n, null, NO_FINAL), kind);
    }
    // A literal: its syntax must suit the parameter's type.
    switch (kind) {
      case 'bool':
        if (n.type === 'bool') return n.value;
        this.errorf(`expected bool; found ${nodeString(n)}`);
      // falls through (unreachable)
      case 'int':
        if (n.type === 'number' && n.isInt) return n.bigint !== undefined ? Number(n.bigint) : n.value;
        this.errorf(`expected integer; found ${nodeString(n)}`);
      // falls through (unreachable)
      case 'string':
        if (n.type === 'string') return n.text;
        this.errorf(`expected string; found ${nodeString(n)}`);
      // falls through (unreachable)
      case 'strings':
        this.errorf(`can't handle ${nodeString(n)} for arg of type []string`);
      // falls through (unreachable)
      default:
        if (n.type === 'bool') return n.value;
        if (n.type === 'number') return this.idealConstant(n);
        return n.text;
    }
  }
}

/** Runs template `name`; returns the output so far and the error, if any (Go writes partial output). */
export function run(env: Omit<Env, 'out'>, name: string, data: unknown): { out: string; err?: TemplateError } {
  if (data === null) data = undefined; // Execute(nil): dot is an invalid value
  const full: Env = { ...env, out: [], root: data };
  const tree: ListNode | undefined = env.treeSet.get(name);
  const state = new State(full, name, 0, data);
  try {
    if (!tree) state.errorf(`${goQuoteString(name)} is an incomplete or empty template`);
    state.walk(data, tree!);
    return { out: full.out.join('') };
  } catch (e) {
    if (e instanceof TemplateError) return { out: full.out.join(''), err: e };
    if (e instanceof RangeError) {
      return { out: full.out.join(''), err: new TemplateError(`template: ${name}: exceeded maximum template depth (${MAX_EXEC_DEPTH})`, 'exec') };
    }
    throw e;
  }
}
