// Go's fmt package as far as templates reach it: Sprint, Sprintln, Sprintf
// and the %v printing of values. JS values are mapped onto Go kinds:
//   undefined/null -> nil, boolean -> bool, integral number/bigint -> int,
//   other numbers -> float64, string, Array -> []interface {},
//   plain object or Map -> map[string]interface {} (keys printed sorted),
//   Date -> time.Time, other objects -> struct (a `String()` method acts as
//   Go's fmt.Stringer).

import { goQuoteRune, goQuoteString, isPrint } from './quote.js';
import { GoFloat, isGoMap, isStruct, mapEntries } from './values.js';

/** Go type name of a value, as used in %T and in error messages. */
export function goTypeName(v: unknown): string {
  if (v === undefined || v === null) return '<nil>';
  if (v instanceof GoFloat) return 'float64';
  switch (typeof v) {
    case 'boolean':
      return 'bool';
    case 'string':
      return 'string';
    case 'bigint':
      return 'int';
    case 'number':
      return isGoInt(v) ? 'int' : 'float64';
    case 'function':
      return 'func()';
  }
  if (Array.isArray(v)) return '[]interface {}';
  if (v instanceof Date) return 'time.Time';
  if (isGoMap(v)) return 'map[string]interface {}';
  const ctor = (v as object).constructor;
  return ctor && ctor.name ? ctor.name : 'struct {}';
}

/** Whether a JS number is treated as a Go int (integral and exactly representable). */
export function isGoInt(n: number): boolean {
  return Number.isSafeInteger(n);
}

// ---------------------------------------------------------------- floats

interface Decimal {
  d: string; // significant digits, no leading or trailing zeros ("" for 0)
  dp: number; // position of the decimal point relative to d
}

/** Exact decimal expansion of a finite positive double (no rounding at all). */
function exactDecimal(x: number): Decimal {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const bits = view.getBigUint64(0);
  const expBits = Number((bits >> 52n) & 0x7ffn);
  let mant = bits & ((1n << 52n) - 1n);
  let e: number;
  if (expBits === 0) e = -1074;
  else {
    mant |= 1n << 52n;
    e = expBits - 1075;
  }
  let digits: string;
  let dp: number;
  if (e >= 0) {
    digits = (mant << BigInt(e)).toString();
    dp = digits.length;
  } else {
    digits = (mant * 5n ** BigInt(-e)).toString();
    dp = digits.length + e;
  }
  return trimDecimal({ d: digits, dp });
}

function trimDecimal(a: Decimal): Decimal {
  let d = a.d;
  let dp = a.dp;
  const lead = d.length - d.replace(/^0+/, '').length;
  d = d.slice(lead);
  dp -= lead;
  d = d.replace(/0+$/, '');
  if (d === '') dp = 0;
  return { d, dp };
}

/** Shortest digits that round-trip, as Go's strconv does with precision -1. */
function shortestDecimal(x: number): Decimal {
  const [mant, exp] = x.toExponential().split('e');
  const d = mant.replace('.', '');
  return trimDecimal({ d, dp: Number(exp) + 1 });
}

/** Rounds to nd digits, half to even on the exact value (strconv's decimal.Round). */
function roundDecimal(a: Decimal, nd: number): Decimal {
  if (nd < 0 || nd >= a.d.length) return a;
  const up = a.d[nd] === '5' && nd + 1 === a.d.length ? nd > 0 && (a.d.charCodeAt(nd - 1) - 48) % 2 === 1 : a.d[nd] >= '5';
  if (!up) return trimDecimal({ d: a.d.slice(0, nd), dp: a.dp });
  let i = nd - 1;
  while (i >= 0 && a.d[i] === '9') i--;
  if (i < 0) return { d: '1', dp: a.dp + 1 };
  return trimDecimal({ d: a.d.slice(0, i) + String.fromCharCode(a.d.charCodeAt(i) + 1), dp: a.dp });
}

function fmtE(neg: boolean, d: Decimal, prec: number, e: string): string {
  let s = neg ? '-' : '';
  s += d.d.length ? d.d[0] : '0';
  if (prec > 0) {
    s += '.' + d.d.slice(1, prec + 1).padEnd(prec, '0');
  }
  let exp = d.d.length === 0 ? 0 : d.dp - 1;
  const sign = exp < 0 ? '-' : '+';
  exp = Math.abs(exp);
  return s + e + sign + (exp < 10 ? '0' + exp : String(exp));
}

function fmtF(neg: boolean, d: Decimal, prec: number): string {
  let s = neg ? '-' : '';
  if (d.dp > 0) s += d.d.slice(0, d.dp).padEnd(d.dp, '0');
  else s += '0';
  if (prec > 0) {
    s += '.';
    for (let i = 0; i < prec; i++) {
      const j = d.dp + i;
      s += j >= 0 && j < d.d.length ? d.d[j] : '0';
    }
  }
  return s;
}

/** Mantissa and unbiased exponent of a double, as strconv splits it. */
function floatBits(x: number): { neg: boolean; mant: bigint; exp: number } {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const bits = view.getBigUint64(0);
  let exp = Number((bits >> 52n) & 0x7ffn);
  let mant = bits & ((1n << 52n) - 1n);
  if (exp === 0) exp++;
  else mant |= 1n << 52n;
  return { neg: bits >> 63n === 1n, mant, exp: exp - 1023 };
}

const MASK64 = (1n << 64n) - 1n;

/** strconv's %x/%X for floats: -0x1.yyyp±dd. */
function formatHexFloat(x: number, prec: number, fmt: string): string {
  let { neg, mant, exp } = floatBits(x);
  if (mant === 0n) exp = 0;
  mant = (mant << 8n) & MASK64; // leading 1 at bit 60
  while (mant !== 0n && (mant & (1n << 60n)) === 0n) {
    mant = (mant << 1n) & MASK64;
    exp--;
  }
  if (prec >= 0 && prec < 15) {
    const shift = BigInt(prec * 4);
    const extra = (mant << shift) & ((1n << 60n) - 1n);
    mant >>= 60n - shift;
    if ((extra | (mant & 1n)) > 1n << 59n) mant++;
    mant <<= 60n - shift;
    if ((mant & (1n << 61n)) !== 0n) {
      mant >>= 1n;
      exp++;
    }
  }
  const upper = fmt === 'X';
  let s = (neg ? '-' : '') + '0' + fmt + String((mant >> 60n) & 1n);
  mant = (mant << 4n) & MASK64;
  const digit = (): string => {
    const h = ((mant >> 60n) & 15n).toString(16);
    mant = (mant << 4n) & MASK64;
    return upper ? h.toUpperCase() : h;
  };
  if (prec < 0 && mant !== 0n) {
    s += '.';
    while (mant !== 0n) s += digit();
  } else if (prec > 0) {
    s += '.';
    for (let i = 0; i < prec; i++) s += digit();
  }
  s += upper ? 'P' : 'p';
  s += exp < 0 ? '-' : '+';
  return s + String(Math.abs(exp)).padStart(2, '0');
}

/** strconv.FormatFloat(x, fmt, prec, 64) for fmt in b e E f g G x X. */
export function formatFloat(x: number, fmt: string, prec: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (x === Infinity) return '+Inf';
  if (x === -Infinity) return '-Inf';
  if (fmt === 'x' || fmt === 'X') return formatHexFloat(x, prec, fmt);
  if (fmt === 'b') {
    const { neg, mant, exp } = floatBits(x);
    const e = exp - 52;
    return `${neg ? '-' : ''}${mant}p${e >= 0 ? '+' : ''}${e}`;
  }
  const neg = x < 0 || Object.is(x, -0);
  const ax = Math.abs(x);
  const shortest = prec < 0;
  let d: Decimal;
  if (shortest) {
    d = ax === 0 ? { d: '', dp: 0 } : shortestDecimal(ax);
  } else {
    d = ax === 0 ? { d: '', dp: 0 } : exactDecimal(ax);
    switch (fmt) {
      case 'e':
      case 'E':
        d = roundDecimal(d, prec + 1);
        break;
      case 'f':
        d = roundDecimal(d, d.dp + prec);
        break;
      case 'g':
      case 'G':
        if (prec === 0) prec = 1;
        d = roundDecimal(d, prec);
        break;
    }
  }
  switch (fmt) {
    case 'e':
    case 'E':
      return fmtE(neg, d, shortest ? Math.max(d.d.length - 1, 0) : prec, fmt);
    case 'f':
      return fmtF(neg, d, shortest ? Math.max(d.d.length - d.dp, 0) : prec);
    case 'g':
    case 'G': {
      let eprec = shortest ? 6 : prec;
      if (!shortest && eprec > d.d.length && d.d.length >= d.dp) eprec = d.d.length;
      let p = shortest ? d.d.length : prec;
      const exp = d.dp - 1;
      if (exp < -4 || exp >= eprec) {
        if (p > d.d.length) p = d.d.length;
        return fmtE(neg, d, p - 1, fmt === 'g' ? 'e' : 'E');
      }
      if (p > d.dp) p = d.d.length;
      return fmtF(neg, d, Math.max(p - d.dp, 0));
    }
  }
  throw new Error(`formatFloat: bad format ${fmt}`);
}

// ---------------------------------------------------------------- printer

interface Flags {
  plus: boolean;
  minus: boolean;
  sharp: boolean;
  space: boolean;
  zero: boolean;
  plusV: boolean;
  sharpV: boolean;
  wid: number; // -1: absent
  prec: number; // -1: absent
}

function noFlags(): Flags {
  return { plus: false, minus: false, sharp: false, space: false, zero: false, plusV: false, sharpV: false, wid: -1, prec: -1 };
}

function runeCount(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

class Printer {
  out = '';
  f: Flags = noFlags();

  private padding(n: number): string {
    return (this.f.zero ? '0' : ' ').repeat(Math.max(n, 0));
  }

  pad(s: string): void {
    const w = this.f.wid;
    if (w < 0) {
      this.out += s;
      return;
    }
    const n = w - runeCount(s);
    if (n <= 0) this.out += s;
    else if (this.f.minus) this.out += s + ' '.repeat(n);
    else this.out += this.padding(n) + s;
  }

  /** Pads without zero padding (Go resets f.zero around these). */
  padSpaces(s: string): void {
    const z = this.f.zero;
    this.f.zero = false;
    this.pad(s);
    this.f.zero = z;
  }

  truncate(s: string): string {
    if (this.f.prec < 0) return s;
    return Array.from(s).slice(0, this.f.prec).join('');
  }

  badVerb(verb: string, arg: unknown): void {
    this.out += '%!' + verb + '(';
    if (arg === undefined || arg === null) this.out += '<nil>';
    else {
      // Go prints the value with %v but keeps the flags, width and precision.
      this.out += goTypeName(arg) + '=';
      this.printArg(arg, 'v', 0);
    }
    this.out += ')';
  }

  fmtInteger(v: bigint, verb: string, arg: unknown): void {
    let base = 10;
    let upper = false;
    switch (verb) {
      case 'v':
      case 'd':
        break;
      case 'b':
        base = 2;
        break;
      case 'o':
      case 'O':
        base = 8;
        break;
      case 'x':
        base = 16;
        break;
      case 'X':
        base = 16;
        upper = true;
        break;
      case 'c':
        this.pad(runeString(v));
        return;
      case 'q':
        this.pad(goQuoteRune(Number(v), this.f.plus));
        return;
      case 'U': {
        let h = (v < 0n ? (1n << 64n) + v : v).toString(16).toUpperCase();
        h = h.padStart(Math.max(4, this.f.prec), '0');
        let s = 'U+' + h;
        const cp = Number(v);
        if (this.f.sharp && v >= 0n && v <= 0x10ffffn && isPrint(String.fromCodePoint(cp))) s += ` '${String.fromCodePoint(cp)}'`;
        this.padSpaces(s);
        return;
      }
      case 'e':
      case 'E':
      case 'f':
      case 'F':
      case 'g':
      case 'G':
        // Lenient: Go would print %!f(int=1); treating ints as floats is what users mean.
        this.fmtFloat(Number(v), verb, arg);
        return;
      default:
        this.badVerb(verb, arg);
        return;
    }
    const negative = v < 0n;
    let digits = (negative ? -v : v).toString(base);
    if (upper) digits = digits.toUpperCase();
    const f = this.f;
    let prec = 0;
    if (f.prec >= 0) {
      prec = f.prec;
      if (prec === 0 && v === 0n) {
        this.out += ' '.repeat(Math.max(f.wid, 0));
        return;
      }
    } else if (f.zero && f.wid >= 0) {
      prec = f.wid;
      if (negative || f.plus || f.space) prec--;
    }
    digits = digits.padStart(prec, '0');
    if (f.sharp) {
      if (base === 2) digits = '0b' + digits;
      else if (base === 8 && digits[0] !== '0') digits = '0' + digits;
      else if (base === 16) digits = (upper ? '0X' : '0x') + digits;
    }
    if (verb === 'O') digits = '0o' + digits;
    if (negative) digits = '-' + digits;
    else if (f.plus) digits = '+' + digits;
    else if (f.space) digits = ' ' + digits;
    this.padSpaces(digits);
  }

  fmtFloat(v: number, verb: string, arg: unknown): void {
    let fmt: string;
    let prec: number;
    switch (verb) {
      case 'v':
        fmt = 'g';
        prec = -1;
        break;
      case 'g':
      case 'G':
      case 'x':
      case 'X':
      case 'b':
        fmt = verb;
        prec = -1;
        break;
      case 'e':
      case 'E':
      case 'f':
        fmt = verb;
        prec = 6;
        break;
      case 'F':
        fmt = 'f';
        prec = 6;
        break;
      case 'd':
        // Lenient for integral values that reached here as floats; Go: %!d(float64=1.5).
        if (Number.isInteger(v)) {
          this.fmtInteger(BigInt(v), 'd', arg);
          return;
        }
        this.badVerb(verb, arg);
        return;
      default:
        this.badVerb(verb, arg);
        return;
    }
    const f = this.f;
    if (f.prec >= 0) prec = f.prec;
    let num = formatFloat(v, fmt, prec);
    if (num[0] !== '-' && num[0] !== '+') num = '+' + num;
    if (f.space && num[0] === '+' && !f.plus) num = ' ' + num.slice(1);
    if (num[1] === 'I' || num[1] === 'N') {
      if (num[1] === 'N' && !f.space && !f.plus) num = num.slice(1);
      this.padSpaces(num);
      return;
    }
    if (f.sharp) num = sharpFloat(num, fmt, prec);
    if (f.plus || num[0] !== '+') {
      if (f.zero && f.wid > num.length) {
        this.out += num[0] + '0'.repeat(f.wid - num.length) + num.slice(1);
        return;
      }
      this.pad(num);
      return;
    }
    this.pad(num.slice(1));
  }

  fmtString(s: string, verb: string): void {
    switch (verb) {
      case 'v':
        if (this.f.sharpV) this.fmtQ(s);
        else this.pad(this.truncate(s));
        return;
      case 's':
        this.pad(this.truncate(s));
        return;
      case 'x':
      case 'X':
        this.fmtSx(s, verb === 'X');
        return;
      case 'q':
        this.fmtQ(s);
        return;
      default:
        this.badVerb(verb, s);
    }
  }

  fmtQ(s: string): void {
    s = this.truncate(s);
    if (this.f.sharp && canBackquote(s)) {
      this.pad('`' + s + '`');
      return;
    }
    this.pad(goQuoteString(s, this.f.plus));
  }

  fmtSx(s: string, upper: boolean): void {
    let bytes = Buffer.from(s, 'utf8');
    if (this.f.prec >= 0 && this.f.prec < bytes.length) bytes = bytes.subarray(0, this.f.prec);
    const f = this.f;
    if (bytes.length === 0) {
      if (f.wid >= 0) this.out += this.padding(f.wid);
      return;
    }
    const prefix = upper ? '0X' : '0x';
    let hex = '';
    bytes.forEach((b, i) => {
      if (f.space && i > 0) hex += ' ' + (f.sharp ? prefix : '');
      else if (i === 0 && f.sharp) hex += prefix;
      const h = b.toString(16).padStart(2, '0');
      hex += upper ? h.toUpperCase() : h;
    });
    const n = f.wid - hex.length;
    if (n > 0 && !f.minus) hex = this.padding(n) + hex;
    else if (n > 0) hex += ' '.repeat(n);
    this.out += hex;
  }

  fmtBool(b: boolean, verb: string): void {
    if (verb === 't' || verb === 'v') this.pad(b ? 'true' : 'false');
    else this.badVerb(verb, b);
  }

  printArg(arg: unknown, verb: string, depth: number): void {
    if (arg === undefined || arg === null) {
      // A nil inside a slice or map prints as <nil> whatever the verb.
      if (depth > 0) this.pad(this.f.sharpV ? 'interface {}(nil)' : '<nil>');
      else if (verb === 'v' || verb === 'T') this.padSpaces('<nil>');
      else this.badVerb(verb, arg);
      return;
    }
    if (arg instanceof GoFloat) {
      if (verb === 'T') this.pad('float64');
      else this.fmtFloat(arg.value, verb, arg);
      return;
    }
    if (verb === 'T') {
      this.pad(goTypeName(arg));
      return;
    }
    if (verb === 'p') {
      this.badVerb(verb, arg);
      return;
    }
    switch (typeof arg) {
      case 'boolean':
        this.fmtBool(arg, verb);
        return;
      case 'string':
        this.fmtString(arg, verb);
        return;
      case 'bigint':
        this.fmtInteger(arg, verb, arg);
        return;
      case 'number':
        if (isGoInt(arg)) this.fmtInteger(BigInt(arg), verb, arg);
        else this.fmtFloat(arg, verb, arg);
        return;
      case 'function':
        if (verb === 'v') this.pad(this.f.sharpV ? `(${goTypeName(arg)})(0x0)` : '0x0');
        else this.badVerb(verb, arg);
        return;
    }
    // Stringer / error: Go calls String() (or Error()) for %v %s %q %x %X.
    if (!this.f.sharpV && 'vsqxX'.includes(verb)) {
      const s = stringerValue(arg);
      if (s !== undefined) {
        this.fmtString(s, verb);
        return;
      }
    }
    if (Array.isArray(arg)) {
      if (this.f.sharpV) {
        this.out += '[]interface {}{';
        arg.forEach((e, i) => {
          if (i > 0) this.out += ', ';
          this.printArg(e, verb, depth + 1);
        });
        this.out += '}';
        return;
      }
      this.out += '[';
      arg.forEach((e, i) => {
        if (i > 0) this.out += ' ';
        this.printArg(e, verb, depth + 1);
      });
      this.out += ']';
      return;
    }
    if (isGoMap(arg)) {
      const entries = mapEntries(arg);
      if (this.f.sharpV) {
        this.out += 'map[string]interface {}{';
        entries.forEach(([k, v], i) => {
          if (i > 0) this.out += ', ';
          this.printArg(k, verb, depth + 1);
          this.out += ':';
          this.printArg(v, verb, depth + 1);
        });
        this.out += '}';
        return;
      }
      this.out += 'map[';
      entries.forEach(([k, v], i) => {
        if (i > 0) this.out += ' ';
        this.printArg(k, verb, depth + 1);
        this.out += ':';
        this.printArg(v, verb, depth + 1);
      });
      this.out += ']';
      return;
    }
    if (isStruct(arg)) {
      // A struct: its fields in declaration (insertion) order.
      const keys = Object.keys(arg as object);
      this.out += depth === 0 && this.f.sharpV ? goTypeName(arg) + '{' : '{';
      keys.forEach((k, i) => {
        if (i > 0) this.out += this.f.sharpV ? ', ' : ' ';
        if (this.f.plusV || this.f.sharpV) this.out += k + ':';
        this.printArg((arg as Record<string, unknown>)[k], verb, depth + 1);
      });
      this.out += '}';
      return;
    }
    this.badVerb(verb, arg);
  }

  doPrintf(format: string, a: unknown[]): void {
    let argNum = 0;
    let afterIndex = false;
    let reordered = false;
    let goodArgNum = true;
    const end = format.length;

    // Parses "[n]" at i; returns the new arg number and index.
    const argNumber = (i: number): void => {
      if (i >= end || format[i] !== '[') return;
      reordered = true;
      const close = format.indexOf(']', i + 1);
      if (close < 0) {
        goodArgNum = false;
        return;
      }
      const n = /^\d+$/.test(format.slice(i + 1, close)) ? Number(format.slice(i + 1, close)) : NaN;
      if (!Number.isFinite(n) || n < 1 || n > a.length) {
        goodArgNum = false;
        pos = close + 1;
        return;
      }
      argNum = n - 1;
      pos = close + 1;
      afterIndex = true;
    };
    const parseNum = (): number => {
      const m = /^\d+/.exec(format.slice(pos));
      if (!m) return -1;
      pos += m[0].length;
      return Math.min(Number(m[0]), 1e6);
    };
    const intFromArg = (): number => {
      let n = -1;
      if (argNum < a.length) {
        const v = a[argNum];
        if (typeof v === 'number' && Number.isInteger(v)) n = v;
        else if (typeof v === 'bigint') n = Number(v);
        argNum++;
        if (n > 1e6 || n < -1e6) n = NaN;
      }
      return n;
    };

    let pos = 0;
    while (pos < end) {
      goodArgNum = true;
      const pct = format.indexOf('%', pos);
      if (pct < 0) {
        this.out += format.slice(pos);
        break;
      }
      this.out += format.slice(pos, pct);
      pos = pct + 1;
      this.f = noFlags();
      afterIndex = false;

      flags: for (; pos < end; pos++) {
        switch (format[pos]) {
          case '#':
            this.f.sharp = true;
            break;
          case '0':
            this.f.zero = !this.f.minus;
            break;
          case '+':
            this.f.plus = true;
            break;
          case '-':
            this.f.minus = true;
            this.f.zero = false;
            break;
          case ' ':
            this.f.space = true;
            break;
          default:
            break flags;
        }
      }

      argNumber(pos);
      if (format[pos] === '*') {
        pos++;
        const w = intFromArg();
        if (Number.isNaN(w) || w === -1) {
          this.out += '%!(BADWIDTH)';
        } else {
          this.f.wid = w;
          if (w < 0) {
            this.f.wid = -w;
            this.f.minus = true;
            this.f.zero = false;
          }
        }
        afterIndex = false;
      } else {
        this.f.wid = parseNum();
        if (afterIndex && this.f.wid >= 0) goodArgNum = false;
      }

      if (pos + 1 < end && format[pos] === '.') {
        pos++;
        if (afterIndex) goodArgNum = false;
        afterIndex = false;
        argNumber(pos);
        if (format[pos] === '*') {
          pos++;
          const p = intFromArg();
          if (Number.isNaN(p) || p === -1) this.out += '%!(BADPREC)';
          else this.f.prec = p < 0 ? -1 : p;
          afterIndex = false;
        } else {
          const p = parseNum();
          this.f.prec = p < 0 ? 0 : p;
        }
      }

      if (!afterIndex) argNumber(pos);

      if (pos >= end) {
        this.out += '%!(NOVERB)';
        break;
      }
      const verb = String.fromCodePoint(format.codePointAt(pos)!);
      pos += verb.length;

      if (verb === '%') {
        this.out += '%';
      } else if (!goodArgNum) {
        this.out += `%!${verb}(BADINDEX)`;
      } else if (argNum >= a.length) {
        this.out += `%!${verb}(MISSING)`;
      } else {
        if (verb === 'v') {
          this.f.sharpV = this.f.sharp;
          this.f.sharp = false;
          this.f.plusV = this.f.plus;
          this.f.plus = false;
        }
        this.printArg(a[argNum], verb, 0);
        argNum++;
      }
    }

    if (!reordered && argNum < a.length) {
      this.f = noFlags();
      this.out += '%!(EXTRA ';
      a.slice(argNum).forEach((arg, i) => {
        if (i > 0) this.out += ', ';
        if (arg === undefined || arg === null) this.out += '<nil>';
        else {
          this.out += goTypeName(arg) + '=';
          this.printArg(arg, 'v', 0);
        }
      });
      this.out += ')';
    }
  }
}

function sharpFloat(num: string, fmt: string, prec: number): string {
  // '#' keeps a decimal point and trailing zeros (%#g, %#.3g, %#e ...).
  let digits = 0;
  if (fmt === 'g' || fmt === 'G') digits = prec === -1 ? 6 : prec;
  let tail = '';
  let body = num;
  const ePos = body.search(/[eE]/);
  if (ePos >= 0) {
    tail = body.slice(ePos);
    body = body.slice(0, ePos);
  }
  let sawNonzero = false;
  let hasPoint = false;
  for (let i = 1; i < body.length; i++) {
    const c = body[i];
    if (c === '.') hasPoint = true;
    else {
      if (c !== '0') sawNonzero = true;
      if (sawNonzero) digits--;
    }
  }
  if (!hasPoint) {
    if (body.length === 2 && body[1] === '0') digits--;
    body += '.';
  }
  if (digits > 0) body += '0'.repeat(digits);
  return body + tail;
}

function runeString(v: bigint): string {
  const cp = Number(v);
  if (v < 0n || v > 0x10ffffn || (cp >= 0xd800 && cp <= 0xdfff)) return '\ufffd';
  return String.fromCodePoint(cp);
}

function canBackquote(s: string): boolean {
  for (const ch of s) {
    if (ch === '`' || ch === '\ufffd') return false;
    const cp = ch.codePointAt(0)!;
    if (cp < 0x20 && ch !== '\t') return false;
    if (cp === 0x7f) return false;
  }
  return true;
}

/** The String() (Go Stringer) or Error() text of an object, if it has one. */
function stringerValue(v: object): string | undefined {
  if (v instanceof Date) return goTimeString(v);
  if (v instanceof Error) return v.message;
  const s = (v as { String?: unknown }).String;
  if (typeof s === 'function' && !isGoMap(v)) {
    const r = (s as () => unknown).call(v);
    if (typeof r === 'string') return r;
  }
  return undefined;
}

/** time.Time's String() in UTC: "2006-01-02 15:04:05.999999999 +0000 UTC". */
export function goTimeString(d: Date): string {
  const p = (n: number, w = 2): string => String(n).padStart(w, '0');
  let s = `${p(d.getUTCFullYear(), 4)}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}`;
  const ms = d.getUTCMilliseconds();
  if (ms) s += '.' + p(ms, 3).replace(/0+$/, '');
  return s + ' +0000 UTC';
}

function isStringValue(v: unknown): boolean {
  return typeof v === 'string';
}

/** fmt.Sprint: spaces between operands when neither is a string. */
export function sprint(args: unknown[]): string {
  const p = new Printer();
  args.forEach((arg, i) => {
    if (i > 0 && !isStringValue(arg) && !isStringValue(args[i - 1])) p.out += ' ';
    p.printArg(arg, 'v', 0);
  });
  return p.out;
}

/** fmt.Sprintln: always spaces, then a newline. */
export function sprintln(args: unknown[]): string {
  const p = new Printer();
  args.forEach((arg, i) => {
    if (i > 0) p.out += ' ';
    p.printArg(arg, 'v', 0);
  });
  return p.out + '\n';
}

/** fmt.Sprintf. */
export function sprintf(format: string, args: unknown[]): string {
  const p = new Printer();
  p.doPrintf(format, args);
  return p.out;
}

/** %v of one value (what {{.X}} prints, apart from the <no value> case). */
export function formatValue(v: unknown): string {
  const p = new Printer();
  p.printArg(v, 'v', 0);
  return p.out;
}

