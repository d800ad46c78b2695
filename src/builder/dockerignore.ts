import { posix } from 'node:path';
import { InvalidParameterError } from '../errors/index.js';

// .dockerignore with Docker's rules (moby/patternmatcher): one pattern a line,
// `#` comments only in column one, leading `!` for exceptions, cleaned like
// Go's filepath.Clean with one leading `/` dropped; `*` and `?` never cross a
// `/`, `**` matches any number of directories; a pattern also matches every
// path below a directory it matches; the last matching line wins.

interface Pattern {
  source: string;
  exclusion: boolean;
  regex: RegExp;
}

/** Reads .dockerignore text into its patterns (exceptions keep their `!`). */
export function readDockerignore(text: string): string[] {
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const out: string[] = [];
  for (let line of text.split('\n')) {
    line = line.replace(/\r$/, '');
    if (line.startsWith('#')) continue;
    line = line.trim();
    if (line === '') continue;
    let invert = false;
    if (line.startsWith('!')) {
      invert = true;
      line = line.slice(1).trim();
    }
    if (line.length > 0) {
      line = posix.normalize(line);
      if (line.length > 1 && line.endsWith('/')) line = line.slice(0, -1);
      if (line.length > 1 && line.startsWith('/')) line = line.slice(1);
    }
    out.push(invert ? '!' + line : line);
  }
  return out;
}

function compile(pattern: string): RegExp {
  let re = '^';
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i]!;
    if (ch === '*') {
      if (pattern[i + 1] === '*') {
        i++;
        if (pattern[i + 1] === '/') i++;
        re += i + 1 >= pattern.length ? '.*' : '(.*/)?';
      } else {
        re += '[^/]*';
      }
    } else if (ch === '?') {
      re += '[^/]';
    } else if (ch === '\\') {
      // An escaped character is literal; a trailing backslash is an error in Go's Match.
      if (i + 1 >= pattern.length) throw new InvalidParameterError(`syntax error in pattern`);
      re += escape(pattern[++i]!);
    } else if (ch === '[') {
      const end = pattern.indexOf(']', i + 2);
      if (end === -1) throw new InvalidParameterError(`syntax error in pattern`);
      let cls = pattern.slice(i + 1, end);
      if (cls.startsWith('^') || cls.startsWith('!')) cls = '^' + cls.slice(1);
      re += `[${cls.replace(/\\(?!.)/g, '\\\\')}]`;
      i = end;
    } else {
      re += escape(ch);
    }
  }
  return new RegExp(re + '$', 's');
}

function escape(ch: string): string {
  return /[.+^${}()|[\]\\*?]/.test(ch) ? '\\' + ch : ch;
}

export class PatternMatcher {
  private readonly patterns: Pattern[];

  constructor(patterns: readonly string[]) {
    this.patterns = patterns.map((p) => {
      let source = p.trim();
      const exclusion = source.startsWith('!');
      if (exclusion) {
        source = source.slice(1);
        if (source === '') throw new InvalidParameterError('illegal exclusion pattern: "!"');
      }
      source = posix.normalize(source);
      if (source.length > 1 && source.endsWith('/')) source = source.slice(0, -1);
      let regex: RegExp;
      try {
        regex = compile(source);
      } catch (err) {
        throw new InvalidParameterError(`error checking context: syntax error in pattern ${JSON.stringify(p)}`, { cause: err });
      }
      return { source, exclusion, regex };
    });
  }

  get empty(): boolean {
    return this.patterns.length === 0;
  }

  /** True when any exception pattern exists (a skipped directory may still hold included files). */
  get hasExclusions(): boolean {
    return this.patterns.some((p) => p.exclusion);
  }

  /** True when the context-relative path (with `/`) is excluded from the context. */
  matches(path: string): boolean {
    const file = posix.normalize(path).replace(/^\/+/, '');
    const parts = file.split('/');
    let matched = false;
    for (const p of this.patterns) {
      // An inclusion is only tested while not excluded, an exception only while excluded.
      if (p.exclusion !== matched) continue;
      let match = p.regex.test(file);
      // A pattern matching a parent directory matches everything below it.
      for (let n = 1; n < parts.length && !match; n++) match = p.regex.test(parts.slice(0, n).join('/'));
      if (match) matched = !p.exclusion;
    }
    return matched;
  }

  /**
   * For walking a tree: may anything under excluded directory `dir` be
   * re-included by an exception? If not, the walk can skip it entirely.
   */
  mayIncludeUnder(dir: string): boolean {
    const prefix = posix.normalize(dir).replace(/^\/+/, '') + '/';
    return this.patterns.some((p) => p.exclusion && (p.source.startsWith(prefix) || p.source.includes('*') || p.source.includes('?') || p.source.includes('[')));
  }
}
