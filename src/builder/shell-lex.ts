import { InvalidParameterError } from '../errors/index.js';

// Variable substitution and quote removal in Dockerfile words, with Docker's
// rules (the Dockerfile reference, "Environment replacement"):
//   $VAR ${VAR} ${VAR:-default} ${VAR-default} ${VAR:+alt} ${VAR+alt}
//   ${VAR:?msg} ${VAR?msg} ${VAR#pat} ${VAR##pat} ${VAR%pat} ${VAR%%pat}
//   ${VAR/pat/repl} ${VAR//pat/repl}
// Single quotes are literal; inside double quotes the escape token escapes
// only `"`, `$` and itself; unquoted it escapes any character and is dropped.
// An unset variable expands to "". `$` before anything that cannot start a
// name stays a literal `$`.

export type Env = ReadonlyMap<string, string>;

export class ShellLexError extends InvalidParameterError {}

interface Result {
  text: string;
  /** Words split on unquoted whitespace (expansions outside quotes split too). */
  words: string[];
  /** Names looked up that were not set. */
  unset: string[];
}

class Words {
  words: string[] = [];
  cur = '';
  inWord = false;
  addChar(ch: string): void {
    if (/\s/.test(ch) && this.inWord) {
      this.words.push(this.cur);
      this.cur = '';
      this.inWord = false;
    } else if (!/\s/.test(ch)) {
      this.addRaw(ch);
    }
  }
  addRaw(ch: string): void {
    this.cur += ch;
    this.inWord = true;
  }
  addString(s: string): void {
    for (const ch of s) this.addChar(ch);
  }
  addRawString(s: string): void {
    for (const ch of s) this.addRaw(ch);
  }
  /** Quotes make a word even when empty: `""` is one empty word. */
  markWord(): void {
    this.inWord = true;
  }
  finish(): string[] {
    if (this.inWord) this.words.push(this.cur);
    return this.words;
  }
}

class Lexer {
  private pos = 0;
  readonly unset: string[] = [];
  constructor(private readonly src: string, private readonly env: Env, private readonly escape: string) {}

  private peek(): string | undefined {
    return this.src[this.pos];
  }
  private next(): string | undefined {
    return this.src[this.pos++];
  }

  /** Processes until `stop` (unquoted, unescaped) or the end; the stop char is consumed. */
  process(stop?: string): { text: string; words: Words } {
    let text = '';
    const words = new Words();
    for (;;) {
      const ch = this.peek();
      if (ch === undefined) {
        if (stop !== undefined) throw new ShellLexError(`unexpected end of statement while looking for matching ${stop === '}' ? '}' : stop}`);
        break;
      }
      if (stop !== undefined && ch === stop) {
        this.pos++;
        break;
      }
      if (ch === "'") {
        const s = this.single();
        text += s;
        words.addRawString(s);
        words.markWord();
      } else if (ch === '"') {
        const s = this.double();
        text += s;
        words.addRawString(s);
        words.markWord();
      } else if (ch === '$') {
        const v = this.dollar();
        text += v;
        words.addString(v);
      } else {
        this.pos++;
        let c = ch;
        if (c === this.escape) {
          const n = this.next();
          if (n === undefined) break; // a trailing escape is dropped
          c = n;
          text += c;
          words.addRaw(c);
          continue;
        }
        text += c;
        words.addChar(c);
      }
    }
    return { text, words };
  }

  private single(): string {
    this.pos++; // '
    let out = '';
    for (;;) {
      const ch = this.next();
      if (ch === undefined) throw new ShellLexError('unexpected end of statement while looking for matching single-quote');
      if (ch === "'") return out;
      out += ch;
    }
  }

  private double(): string {
    this.pos++; // "
    let out = '';
    for (;;) {
      const ch = this.peek();
      if (ch === undefined) throw new ShellLexError('unexpected end of statement while looking for matching double-quote');
      if (ch === '"') {
        this.pos++;
        return out;
      }
      if (ch === '$') {
        out += this.dollar();
        continue;
      }
      this.pos++;
      if (ch === this.escape) {
        const n = this.peek();
        if (n === undefined) continue;
        if (n === '"' || n === '$' || n === this.escape) {
          this.pos++;
          out += n;
          continue;
        }
      }
      out += ch;
    }
  }

  private lookup(name: string): string | undefined {
    const v = this.env.get(name);
    if (v === undefined) this.unset.push(name);
    return v;
  }

  private dollar(): string {
    this.pos++; // $
    const ch = this.peek();
    if (ch === undefined) return '$';
    if (ch === '{') {
      this.pos++;
      return this.braced();
    }
    const name = this.name();
    if (name === '') return '$';
    return this.lookup(name) ?? '';
  }

  private name(): string {
    const ch = this.peek();
    if (ch === undefined) return '';
    if (/[0-9@*#?$!-]/.test(ch)) {
      this.pos++;
      return ch;
    }
    let out = '';
    while (this.peek() !== undefined && /[A-Za-z0-9_]/.test(this.peek()!)) out += this.next();
    if (out !== '' && /^[0-9]/.test(out)) return out;
    return out;
  }

  private braced(): string {
    const name = this.name();
    if (name === '') throw new ShellLexError('syntax error: bad substitution');
    const ch = this.peek();
    if (ch === '}') {
      this.pos++;
      return this.lookup(name) ?? '';
    }
    if (ch === undefined) throw new ShellLexError('syntax error: missing \'}\'');
    const value = this.env.get(name);
    if (value === undefined) this.unset.push(name);
    if (ch === ':') {
      this.pos++;
      const mod = this.next();
      const word = this.process('}').text;
      switch (mod) {
        case '-':
          return value === undefined || value === '' ? word : value;
        case '+':
          return value === undefined || value === '' ? '' : word;
        case '?':
          if (value === undefined || value === '') throw new ShellLexError(word !== '' ? `${name}: ${word}` : `${name}: is not allowed to be empty`);
          return value;
        default:
          throw new ShellLexError(`unsupported modifier (:${mod ?? ''}) in substitution`);
      }
    }
    this.pos++;
    switch (ch) {
      case '-': {
        const word = this.process('}').text;
        return value === undefined ? word : value;
      }
      case '+': {
        const word = this.process('}').text;
        return value === undefined ? '' : word;
      }
      case '?': {
        const word = this.process('}').text;
        if (value === undefined) throw new ShellLexError(word !== '' ? `${name}: ${word}` : `${name}: is not allowed to be unset`);
        return value;
      }
      case '#':
      case '%': {
        let longest = false;
        if (this.peek() === ch) {
          this.pos++;
          longest = true;
        }
        const pat = this.process('}').text;
        return trim(value ?? '', pat, ch === '#', longest);
      }
      case '/': {
        let all = false;
        if (this.peek() === '/') {
          this.pos++;
          all = true;
        }
        const pat = this.process('/').text;
        const repl = this.process('}').text;
        return replace(value ?? '', pat, repl, all);
      }
      default:
        throw new ShellLexError(`unsupported modifier (${ch}) in substitution`);
    }
  }
}

/** A shell pattern (only `*`, `?` and escapes) as an anchored regex source. */
function patternSource(pat: string): string {
  let out = '';
  for (let i = 0; i < pat.length; i++) {
    const c = pat[i]!;
    if (c === '*') out += '.*';
    else if (c === '?') out += '.';
    else if (c === '\\' && i + 1 < pat.length) out += escapeRegex(pat[++i]!);
    else out += escapeRegex(c);
  }
  return out;
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

function trim(value: string, pat: string, prefix: boolean, longest: boolean): string {
  const re = new RegExp(`^(?:${patternSource(pat)})$`, 's');
  if (prefix) {
    const lengths = [...Array(value.length + 1).keys()];
    for (const n of longest ? lengths.reverse() : lengths) if (re.test(value.slice(0, n))) return value.slice(n);
  } else {
    const starts = [...Array(value.length + 1).keys()];
    for (const s of longest ? starts : starts.reverse()) if (re.test(value.slice(s))) return value.slice(0, s);
  }
  return value;
}

function replace(value: string, pat: string, repl: string, all: boolean): string {
  if (pat === '') return value;
  const re = new RegExp(patternSource(pat), all ? 'gs' : 's');
  return value.replace(re, () => repl);
}

function lex(word: string, env: Env, escape: string): Result {
  const l = new Lexer(word, env, escape);
  const { text, words } = l.process();
  return { text, words: words.finish(), unset: l.unset };
}

/** One word: variables expanded, quotes removed (WORKDIR, USER, ENV values, …). */
export function processWord(word: string, env: Env, escape = '\\'): string {
  return lex(word, env, escape).text;
}

/** Expanded and split on unquoted whitespace (EXPOSE, COPY sources in shell form). */
export function processWords(word: string, env: Env, escape = '\\'): string[] {
  return lex(word, env, escape).words;
}

/** Like processWord, also returning the variables that were referenced but unset. */
export function processWordWithUnset(word: string, env: Env, escape = '\\'): { text: string; unset: string[] } {
  const r = lex(word, env, escape);
  return { text: r.text, unset: r.unset };
}
