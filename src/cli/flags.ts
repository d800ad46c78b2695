// Command-line flags with the semantics of spf13/pflag, which the docker CLI
// uses: `--name value`, `--name=value`, `-abc` clusters, `-nVALUE`,
// `--bool=false`, `--` ends the flags, and (for run/create/exec) flags stop
// at the first positional argument. Error messages are pflag's, so
// `berth` fails the way `docker` does.

export type FlagKind = 'bool' | 'string' | 'int' | 'list' | 'map';

export interface FlagSpec {
  /** Long name, without dashes. */
  name: string;
  /** One-letter shorthand. */
  short?: string;
  kind: FlagKind;
  /** Type word shown in help (pflag's Value.Type()): "string", "list", "bytes", … Bools show none. */
  type?: string;
  usage: string;
  /** Initial value of bool/string/int flags. */
  default?: boolean | string | number;
  /** Text of the help's "(default …)" suffix, when docker shows one. */
  defaultText?: string;
  hidden?: boolean;
  /** pflag's MarkDeprecated message; a deprecated flag is hidden and warns when used. */
  deprecated?: string;
  /** Converts/validates one value; throw an Error whose message pflag would show. */
  parse?: (value: string) => unknown;
  /** Property name in the parsed values (defaults to the camelCased long name). */
  key?: string;
}

export interface ParsedFlags {
  values: Record<string, unknown>;
  /** Long names of the flags given on the command line (pflag's Changed). */
  changed: Set<string>;
  args: string[];
  /** Warnings pflag prints to stderr (deprecated flags). */
  warnings: string[];
}

export class FlagError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FlagError';
  }
}

/** The flag every command has; hidden except where docker shows it (run, create). */
export const HELP_FLAG: FlagSpec = { name: 'help', kind: 'bool', usage: 'Print usage', hidden: true };

export function flagKey(spec: FlagSpec): string {
  return spec.key ?? spec.name.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

function initialValue(spec: FlagSpec): unknown {
  switch (spec.kind) {
    case 'bool':
      return spec.default ?? false;
    case 'string':
      return spec.default ?? '';
    case 'int':
      return spec.default ?? 0;
    case 'list':
      return [];
    case 'map':
      return {};
  }
}

/** Go's strconv.ParseInt(s, 0, 64) as pflag's int flags use it. */
export function parseGoInt(value: string, bits = 64): number {
  const m = /^([+-]?)(0[xX][0-9a-fA-F_]+|0[bB][01_]+|0[oO]?[0-7_]+|[1-9][0-9_]*|0)$/.exec(value);
  if (!m) throw new Error(`strconv.ParseInt: parsing ${JSON.stringify(value)}: invalid syntax`);
  const digits = m[2]!.replace(/_/g, '');
  let n: number;
  if (/^0[xX]/.test(digits)) n = parseInt(digits.slice(2), 16);
  else if (/^0[bB]/.test(digits)) n = parseInt(digits.slice(2), 2);
  else if (/^0[oO]/.test(digits)) n = parseInt(digits.slice(2), 8);
  else if (digits.length > 1 && digits.startsWith('0')) n = parseInt(digits.slice(1), 8);
  else n = parseInt(digits, 10);
  if (m[1] === '-') n = -n;
  const limit = 2 ** (bits - 1);
  if (n >= limit || n < -limit) throw new Error(`strconv.ParseInt: parsing ${JSON.stringify(value)}: value out of range`);
  return n;
}

/** Go's strconv.ParseBool. */
export function parseGoBool(value: string): boolean {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(value)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(value)) return false;
  throw new Error(`strconv.ParseBool: parsing ${JSON.stringify(value)}: invalid syntax`);
}

function flagDisplayName(spec: FlagSpec): string {
  return spec.short ? `-${spec.short}, --${spec.name}` : `--${spec.name}`;
}

class FlagSet {
  private readonly byName = new Map<string, FlagSpec>();
  private readonly byShort = new Map<string, FlagSpec>();
  readonly values: Record<string, unknown> = {};
  readonly changed = new Set<string>();
  readonly warnings: string[] = [];

  constructor(specs: readonly FlagSpec[]) {
    for (const spec of specs) {
      this.byName.set(spec.name, spec);
      if (spec.short) this.byShort.set(spec.short, spec);
      this.values[flagKey(spec)] = initialValue(spec);
    }
    if (!this.byName.has('help')) {
      const help = { ...HELP_FLAG, short: this.byShort.has('h') ? undefined : 'h' };
      this.byName.set('help', help);
      if (help.short) this.byShort.set('h', help);
      this.values.help = false;
    }
  }

  long(name: string): FlagSpec | undefined {
    return this.byName.get(name);
  }

  short(letter: string): FlagSpec | undefined {
    return this.byShort.get(letter);
  }

  set(spec: FlagSpec, raw: string, viaShort: boolean): void {
    const key = flagKey(spec);
    let value: unknown;
    try {
      if (spec.kind === 'bool') value = spec.parse ? spec.parse(raw) : parseGoBool(raw);
      else if (spec.kind === 'int') value = spec.parse ? spec.parse(raw) : parseGoInt(raw);
      else value = spec.parse ? spec.parse(raw) : raw;
    } catch (err) {
      throw new FlagError(`invalid argument ${JSON.stringify(raw)} for ${JSON.stringify(flagDisplayName(spec))} flag: ${(err as Error).message}`);
    }
    if (spec.kind === 'list') (this.values[key] as unknown[]).push(value);
    else if (spec.kind === 'map') {
      const text = String(value);
      const eq = text.indexOf('=');
      (this.values[key] as Record<string, string>)[eq === -1 ? text : text.slice(0, eq)] = eq === -1 ? '' : text.slice(eq + 1);
    } else this.values[key] = value;
    this.changed.add(spec.name);
    if (spec.deprecated) this.warnings.push(`Flag --${spec.name} has been deprecated, ${spec.deprecated}`);
    if (spec.name === 'help' && viaShort) this.warnings.push('Flag shorthand -h has been deprecated, use --help');
  }
}

/**
 * Parses argv against the flag specs. With `interspersed` false, the first
 * positional argument ends the flags (docker run IMAGE CMD -x passes -x on).
 */
export function parseFlags(specs: readonly FlagSpec[], argv: readonly string[], opts: { interspersed?: boolean } = {}): ParsedFlags {
  const interspersed = opts.interspersed ?? true;
  const set = new FlagSet(specs);
  const args: string[] = [];
  let i = 0;
  while (i < argv.length) {
    const arg = argv[i++]!;
    if (arg === '--') {
      args.push(...argv.slice(i));
      break;
    }
    if (!arg.startsWith('-') || arg === '-') {
      args.push(arg);
      if (!interspersed) {
        args.push(...argv.slice(i));
        break;
      }
      continue;
    }
    if (arg.startsWith('--')) {
      const body = arg.slice(2);
      const eq = body.indexOf('=');
      const name = eq === -1 ? body : body.slice(0, eq);
      if (name === '' || name.startsWith('-') || name.startsWith('=')) throw new FlagError(`bad flag syntax: ${arg}`);
      const spec = set.long(name);
      if (!spec) throw new FlagError(`unknown flag: --${name}`);
      if (eq !== -1) set.set(spec, body.slice(eq + 1), false);
      else if (spec.kind === 'bool') set.set(spec, 'true', false);
      else if (i < argv.length) set.set(spec, argv[i++]!, false);
      else throw new FlagError(`flag needs an argument: --${name}`);
      continue;
    }
    // A cluster of shorthands: -it, -dp80:80, -n5, -n=5, -d=false.
    let letters = arg.slice(1);
    while (letters.length > 0) {
      const letter = letters[0]!;
      const spec = set.short(letter);
      if (!spec) throw new FlagError(`unknown shorthand flag: '${letter}' in ${arg}`);
      const rest = letters.slice(1);
      if (rest.startsWith('=')) {
        set.set(spec, rest.slice(1), true);
        letters = '';
      } else if (spec.kind === 'bool') {
        set.set(spec, 'true', true);
        letters = rest;
      } else if (rest !== '') {
        set.set(spec, rest, true);
        letters = '';
      } else if (i < argv.length) {
        set.set(spec, argv[i++]!, true);
        letters = '';
      } else {
        throw new FlagError(`flag needs an argument: '${letter}' in -${letter}`);
      }
    }
  }
  return { values: set.values, changed: set.changed, args, warnings: set.warnings };
}

// ---- help ------------------------------------------------------------

/** pflag's wrapN: split at whitespace before i runes, allowing `slop` over. */
function wrapN(i: number, slop: number, s: string): [string, string] {
  if (i + slop > s.length) return [s, ''];
  const head = s.slice(0, i);
  const w = Math.max(head.lastIndexOf(' '), head.lastIndexOf('\t'), head.lastIndexOf('\n'));
  if (w <= 0) return [s, ''];
  const nl = head.lastIndexOf('\n');
  if (nl > 0 && nl < w) return [s.slice(0, nl), s.slice(nl + 1)];
  return [s.slice(0, w), s.slice(w + 1)];
}

/** pflag's wrap: text for a column starting at `indent` in a `width`-wide terminal. */
export function wrapUsage(indent: number, width: number, text: string): string {
  if (width === 0) return text.replaceAll('\n', '\n' + ' '.repeat(indent));
  let avail = width - indent;
  let out = '';
  if (avail < 24) {
    indent = 16;
    avail = width - indent;
    out += '\n' + ' '.repeat(indent);
  }
  if (avail < 24) return text.replaceAll('\n', out);
  const slop = 5;
  avail -= slop;
  const pad = '\n' + ' '.repeat(indent);
  let [line, rest] = wrapN(avail, slop, text);
  out += line.replaceAll('\n', pad);
  while (rest !== '') {
    [line, rest] = wrapN(avail, slop, rest);
    out += pad + line.replaceAll('\n', pad);
  }
  return out;
}

function typeWord(spec: FlagSpec): string {
  if (spec.type !== undefined) return spec.type;
  switch (spec.kind) {
    case 'bool':
      return '';
    case 'string':
      return 'string';
    case 'int':
      return 'int';
    case 'list':
      return 'list';
    case 'map':
      return 'map';
  }
}

/** pflag's FlagUsagesWrapped: the aligned, sorted option list of a help text. */
export function flagUsages(specs: readonly FlagSpec[], width: number): string {
  const visible = specs.filter((s) => !s.hidden && !s.deprecated).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const lines: Array<[string, string]> = [];
  let maxlen = 0;
  for (const spec of visible) {
    let left = spec.short ? `  -${spec.short}, --${spec.name}` : `      --${spec.name}`;
    const word = typeWord(spec);
    if (word) left += ' ' + word;
    maxlen = Math.max(maxlen, left.length + 1);
    let usage = spec.usage;
    if (spec.defaultText !== undefined) usage += ` (default ${spec.defaultText})`;
    lines.push([left, usage]);
  }
  // Go's Fprintln(line[:sidx], spacing, usage) puts a space on each side of the spacing.
  return lines.map(([left, usage]) => `${left} ${' '.repeat(maxlen - left.length)} ${wrapUsage(maxlen + 2, width, usage)}`).join('\n') + (lines.length ? '\n' : '');
}
