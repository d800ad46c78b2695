import { constants } from 'node:os';
import { InvalidParameterError } from '../errors/index.js';
import type { HealthConfig, ImageConfig } from '../types/engine.js';

// `docker import --change` and `docker commit --change`: Dockerfile lines that
// edit an image config, applied as Docker's dockerfile.BuildFromConfig does.
// The changes are joined into one Dockerfile (so continuation lines and
// comments work), and only the instructions that touch the config are allowed.

const COMMIT_COMMANDS = new Set(['cmd', 'entrypoint', 'env', 'expose', 'healthcheck', 'label', 'onbuild', 'stopsignal', 'user', 'volume', 'workdir']);
const DEFAULT_SHELL = ['/bin/sh', '-c'];

function invalid(msg: string): never {
  throw new InvalidParameterError(msg);
}

/** Dockerfile lines → logical instructions (continuations joined, comments and blanks dropped). */
export function splitInstructions(text: string): string[] {
  const out: string[] = [];
  let current: string | undefined;
  for (const raw of text.split(/\r?\n/)) {
    const trimmed = raw.trim();
    // Comments and empty lines vanish even inside a continuation, as in Docker.
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    const line = current === undefined ? raw.replace(/^\s+/, '') : raw;
    const cont = /\\\s*$/.test(line);
    const body = cont ? line.replace(/\\\s*$/, '') : line;
    current = (current ?? '') + body;
    if (!cont) {
      out.push(current.trim());
      current = undefined;
    }
  }
  if (current !== undefined && current.trim() !== '') out.push(current.trim());
  return out;
}

/** Docker's parseWords: whitespace-split, quotes and escapes kept for later processing. */
export function parseWords(rest: string): string[] {
  const words: string[] = [];
  let word = '';
  let phase: 'spaces' | 'word' | 'quote' = 'spaces';
  let quote = '';
  let blankOK = false;
  const chars = [...rest];
  for (let pos = 0; pos <= chars.length; pos++) {
    let ch = chars[pos] ?? '';
    if (phase === 'spaces') {
      if (pos === chars.length) break;
      if (/\s/.test(ch)) continue;
      phase = 'word';
    }
    if (pos === chars.length) {
      if (blankOK || word.length > 0) words.push(word);
      break;
    }
    if (phase === 'word') {
      if (/\s/.test(ch)) {
        phase = 'spaces';
        if (blankOK || word.length > 0) words.push(word);
        word = '';
        blankOK = false;
        continue;
      }
      if (ch === "'" || ch === '"') {
        quote = ch;
        blankOK = true;
        phase = 'quote';
      }
      if (ch === '\\') {
        if (pos + 1 === chars.length) continue;
        word += ch;
        ch = chars[++pos]!;
      }
      word += ch;
      continue;
    }
    // phase === 'quote'
    if (ch === quote) phase = 'word';
    if (ch === '\\' && quote !== "'") {
      if (pos + 1 === chars.length) {
        phase = 'word';
        continue;
      }
      word += ch;
      ch = chars[++pos]!;
    }
    word += ch;
  }
  return words;
}

function envMap(env: readonly string[] | null | undefined): Map<string, string> {
  const m = new Map<string, string>();
  for (const kv of env ?? []) {
    const i = kv.indexOf('=');
    if (i === -1) m.set(kv, '');
    else m.set(kv.slice(0, i), kv.slice(i + 1));
  }
  return m;
}

/**
 * The Dockerfile shell-word processor (buildkit's shell.Lex): quotes removed,
 * escapes resolved, $VAR / ${VAR} / ${VAR:-x} / ${VAR:+x} / ${VAR:?msg}
 * expanded from `env`. `split` also splits into words (unquoted expansions
 * included), as ProcessWords does.
 */
class Lexer {
  private pos = 0;
  private readonly chars: string[];
  constructor(input: string, private readonly env: Map<string, string>) {
    this.chars = [...input];
  }

  private peek(): string | undefined {
    return this.chars[this.pos];
  }
  private next(): string | undefined {
    return this.chars[this.pos++];
  }

  run(split: boolean): { result: string; words: string[] } {
    return this.process(undefined, split);
  }

  private process(stopOn: string | undefined, split: boolean): { result: string; words: string[] } {
    let result = '';
    const words: string[] = [];
    let word = '';
    let inWord = false;
    const addRaw = (s: string) => {
      word += s;
      inWord = true;
    };
    const addChar = (c: string) => {
      if (/\s/.test(c)) {
        if (inWord && word.length > 0) {
          words.push(word);
          word = '';
          inWord = false;
        }
      } else addRaw(c);
    };
    for (;;) {
      const ch = this.peek();
      if (ch === undefined) {
        if (stopOn !== undefined) invalid(`unexpected end of statement while looking for matching ${stopOn}`);
        break;
      }
      if (stopOn !== undefined && ch === stopOn) {
        this.next();
        break;
      }
      if (ch === "'") {
        const s = this.singleQuoted();
        result += s;
        addRaw(s);
      } else if (ch === '"') {
        const s = this.doubleQuoted();
        result += s;
        addRaw(s);
      } else if (ch === '$') {
        const s = this.dollar();
        result += s;
        for (const c of s) addChar(c);
      } else if (ch === '\\') {
        this.next();
        const escaped = this.next();
        const s = escaped === undefined ? '\\' : escaped;
        result += s;
        addRaw(s);
      } else {
        this.next();
        result += ch;
        if (split) addChar(ch);
        else addRaw(ch);
      }
    }
    if (inWord) words.push(word);
    return { result, words };
  }

  private singleQuoted(): string {
    this.next();
    let s = '';
    for (;;) {
      const ch = this.next();
      if (ch === undefined) invalid('unexpected end of statement while looking for matching single-quote');
      if (ch === "'") return s;
      s += ch;
    }
  }

  private doubleQuoted(): string {
    this.next();
    let s = '';
    for (;;) {
      const ch = this.peek();
      if (ch === undefined) invalid('unexpected end of statement while looking for matching double-quote');
      if (ch === '"') {
        this.next();
        return s;
      }
      if (ch === '$') {
        s += this.dollar();
        continue;
      }
      this.next();
      if (ch === '\\') {
        const n = this.peek();
        if (n === '"' || n === '$' || n === '\\') {
          s += this.next();
          continue;
        }
      }
      s += ch;
    }
  }

  private name(): string {
    const first = this.peek();
    if (first !== undefined && /[0-9]/.test(first)) return this.next()!;
    let name = '';
    while (this.peek() !== undefined && /[A-Za-z0-9_]/.test(this.peek()!)) name += this.next();
    return name;
  }

  private dollar(): string {
    this.next(); // $
    if (this.peek() !== '{') {
      const name = this.name();
      if (name === '') return '$';
      return this.env.get(name) ?? '';
    }
    this.next(); // {
    const name = this.name();
    if (name === '') invalid('bad substitution');
    let op = this.next();
    if (op === '}') return this.env.get(name) ?? '';
    const colon = op === ':';
    if (colon) op = this.next();
    if (op !== '-' && op !== '+' && op !== '?') invalid(`unsupported modifier (${op ?? ''}) in substitution`);
    const word = this.process('}', false).result;
    const value = this.env.get(name);
    const set = colon ? value !== undefined && value !== '' : value !== undefined;
    if (op === '-') return set ? value! : word;
    if (op === '+') return set ? word : '';
    if (!set) invalid(`${name}: ${word || 'is not allowed to be unset'}`);
    return value!;
  }
}

export function processWord(word: string, env: Map<string, string>): string {
  return new Lexer(word, env).run(false).result;
}

export function processWords(text: string, env: Map<string, string>): string[] {
  return new Lexer(text, env).run(true).words;
}

/** A JSON array of strings, or undefined for the shell form. */
function parseJsonArray(rest: string): string[] | undefined {
  const t = rest.trim();
  if (!t.startsWith('[')) return undefined;
  try {
    const v = JSON.parse(t) as unknown;
    if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v as string[];
  } catch {
    // Not JSON: the shell form, as Docker falls back to it.
  }
  return undefined;
}

/** Go's time.ParseDuration, in nanoseconds. */
export function parseGoDuration(s: string): number {
  if (s === '0') return 0;
  const units: Record<string, number> = { ns: 1, us: 1e3, 'µs': 1e3, 'μs': 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };
  const re = /([0-9]*\.?[0-9]*)(ns|us|µs|μs|ms|s|m|h)/gy;
  let sign = 1;
  let rest = s;
  if (rest.startsWith('-') || rest.startsWith('+')) {
    if (rest[0] === '-') sign = -1;
    rest = rest.slice(1);
  }
  if (rest === '') invalid(`time: invalid duration "${s}"`);
  let total = 0;
  let m: RegExpExecArray | null;
  let at = 0;
  while (at < rest.length && (m = re.exec(rest)) !== null) {
    if (m[1] === '' || m[1] === '.') invalid(`time: invalid duration "${s}"`);
    total += Number(m[1]) * units[m[2]!]!;
    at = re.lastIndex;
  }
  if (at !== rest.length) invalid(`time: invalid duration "${s}"`);
  return Math.round(sign * total);
}

const SIGNALS = new Set<string>([
  ...Object.keys(constants.signals).map((s) => s.replace(/^SIG/, '')),
  'RTMIN',
  'RTMAX',
  ...Array.from({ length: 15 }, (_, i) => `RTMIN+${i + 1}`),
  ...Array.from({ length: 14 }, (_, i) => `RTMAX-${i + 1}`),
]);

/** Docker's signal.ParseSignal, as a validation. */
export function validateSignal(raw: string): void {
  if (/^[0-9]+$/.test(raw)) {
    if (Number(raw) === 0) invalid(`Invalid signal: ${raw}`);
    return;
  }
  if (!SIGNALS.has(raw.toUpperCase().replace(/^SIG/, ''))) invalid(`Invalid signal: ${raw}`);
}

/** nat.ParsePortSpecs for EXPOSE: "80", "80/tcp", "8000-8010/udp". */
function exposedPorts(spec: string): string[] {
  const slash = spec.lastIndexOf('/');
  const [ports, proto] = slash === -1 ? [spec, 'tcp'] : [spec.slice(0, slash), spec.slice(slash + 1).toLowerCase()];
  if (!['tcp', 'udp', 'sctp'].includes(proto)) invalid(`invalid proto: ${proto}`);
  if (ports.includes(':')) invalid(`invalid containerPort: ${ports}`);
  const m = /^([0-9]+)(?:-([0-9]+))?$/.exec(ports);
  if (!m) invalid(`invalid containerPort: ${ports}`);
  const start = Number(m[1]);
  const end = m[2] === undefined ? start : Number(m[2]);
  if (start > 65535 || end > 65535) invalid(`invalid containerPort: ${ports}`);
  if (end < start) invalid(`invalid range specified for container port: ${ports}`);
  const out: string[] = [];
  for (let p = start; p <= end; p++) out.push(`${p}/${proto}`);
  return out;
}

interface Flags {
  values: Map<string, string>;
  rest: string;
}

function takeFlags(rest: string): Flags {
  const values = new Map<string, string>();
  let r = rest;
  for (;;) {
    const m = /^--([A-Za-z0-9-]+)(?:=(\S*))?(?:\s+|$)/.exec(r);
    if (!m) break;
    values.set(m[1]!, m[2] ?? 'true');
    r = r.slice(m[0].length);
  }
  return { values, rest: r };
}

function keyValues(instruction: 'ENV' | 'LABEL', rest: string, env: Map<string, string>): Array<[string, string]> {
  const words = parseWords(rest);
  if (words.length === 0) invalid(`${instruction} requires at least one argument`);
  const pairs: Array<[string, string]> = [];
  if (!words[0]!.includes('=')) {
    // The legacy form: KEY value with spaces.
    const parts = rest.trim().split(/\s+/);
    if (parts.length < 2) invalid(`${instruction} must have two arguments`);
    const value = rest.trim().slice(parts[0]!.length).trim();
    pairs.push([processWord(parts[0]!, env), processWord(value, env)]);
  } else {
    for (const word of words) {
      if (!word.includes('=')) invalid(`Syntax error - can't find = in "${word}". Must be of the form: name=value`);
      const i = word.indexOf('=');
      pairs.push([processWord(word.slice(0, i), env), processWord(word.slice(i + 1), env)]);
    }
  }
  for (const [k] of pairs) if (k === '') invalid(`${instruction} names can not be blank`);
  return pairs;
}

function shellForm(config: ImageConfig, command: string): string[] {
  return [...(config.Shell?.length ? config.Shell : DEFAULT_SHELL), command];
}

function healthcheck(flags: Map<string, string>, rest: string): HealthConfig {
  const t = rest.trim();
  const kind = t.split(/\s+/)[0]!.toUpperCase();
  if (kind === 'NONE') {
    if (t.split(/\s+/).length > 1) invalid('HEALTHCHECK NONE takes no arguments');
    if (flags.size > 0) invalid('HEALTHCHECK NONE takes no flags');
    return { Test: ['NONE'] };
  }
  if (kind !== 'CMD') invalid(`Unknown type "${kind}" in HEALTHCHECK (try CMD)`);
  const cmd = t.slice(3).trim();
  if (cmd === '') invalid('Missing command after HEALTHCHECK CMD');
  const json = parseJsonArray(cmd);
  const hc: HealthConfig = { Test: json ? ['CMD', ...json] : ['CMD-SHELL', cmd] };
  const durations: Array<[string, keyof HealthConfig]> = [['interval', 'Interval'], ['timeout', 'Timeout'], ['start-period', 'StartPeriod'], ['start-interval', 'StartInterval']];
  for (const [flag, field] of durations) {
    const v = flags.get(flag);
    if (v === undefined) continue;
    const ns = parseGoDuration(v);
    if (ns !== 0 && ns < 1e6) invalid(`${field} "${v}" cannot be less than 1ms`);
    (hc as Record<string, unknown>)[field] = ns;
  }
  const retries = flags.get('retries');
  if (retries !== undefined) {
    if (!/^-?[0-9]+$/.test(retries)) invalid(`invalid retries: ${retries}`);
    if (Number(retries) < 0) invalid('--retries cannot be negative');
    hc.Retries = Number(retries);
  }
  return hc;
}

const FLAGS: Record<string, string[]> = { healthcheck: ['interval', 'timeout', 'start-period', 'start-interval', 'retries'] };

/**
 * Applies `changes` to a copy of `base` and returns it. Throws
 * InvalidParameterError for anything Docker would refuse, e.g.
 * "add is not a valid change command".
 */
export function applyChanges(base: ImageConfig, changes: readonly string[]): ImageConfig {
  const config: ImageConfig = structuredClone(base);
  const instructions = splitInstructions(changes.join('\n'));
  // Docker validates every line before applying any.
  const parsed = instructions.map((line) => {
    const m = /^(\S+)(?:\s+([\s\S]*))?$/.exec(line)!;
    const cmd = m[1]!.toLowerCase();
    if (!COMMIT_COMMANDS.has(cmd)) invalid(`${cmd} is not a valid change command`);
    const { values, rest } = takeFlags(m[2] ?? '');
    for (const f of values.keys()) if (!(FLAGS[cmd] ?? []).includes(f)) invalid(`unknown flag: ${f}`);
    return { cmd, flags: values, rest: rest.trim() };
  });
  let cmdSet = false;
  for (const { cmd, flags, rest } of parsed) {
    const env = envMap(config.Env);
    const upper = cmd.toUpperCase();
    switch (cmd) {
      case 'cmd': {
        const json = parseJsonArray(rest);
        config.Cmd = json ?? shellForm(config, rest);
        cmdSet = true;
        break;
      }
      case 'entrypoint': {
        const json = parseJsonArray(rest);
        config.Entrypoint = json ?? (rest === '' ? [] : shellForm(config, rest));
        // A new entrypoint drops the CMD it inherited, unless CMD was set here too.
        if (!cmdSet) config.Cmd = null;
        break;
      }
      case 'env': {
        const list = [...(config.Env ?? [])];
        // All values are expanded against the environment before this line.
        for (const [k, v] of keyValues('ENV', rest, env)) {
          const i = list.findIndex((e) => e === k || e.startsWith(`${k}=`));
          if (i === -1) list.push(`${k}=${v}`);
          else list[i] = `${k}=${v}`;
        }
        config.Env = list;
        break;
      }
      case 'label': {
        const labels = { ...(config.Labels ?? {}) };
        for (const [k, v] of keyValues('LABEL', rest, env)) labels[k] = v;
        config.Labels = labels;
        break;
      }
      case 'workdir': {
        if (rest === '') invalid('WORKDIR requires exactly one argument');
        const dir = processWord(rest, env);
        const joined = dir.startsWith('/') ? dir : `${config.WorkingDir || '/'}/${dir}`;
        config.WorkingDir = cleanPath(joined);
        break;
      }
      case 'user':
        if (rest === '') invalid('USER requires exactly one argument');
        config.User = processWord(rest, env);
        break;
      case 'expose': {
        const specs = processWords(rest, env);
        if (specs.length === 0) invalid('EXPOSE requires at least one argument');
        const ports = { ...(config.ExposedPorts ?? {}) };
        for (const spec of specs) for (const p of exposedPorts(spec)) ports[p] = {};
        config.ExposedPorts = ports;
        break;
      }
      case 'volume': {
        const json = parseJsonArray(rest);
        const vols = json ? json.map((v) => processWord(v, env)) : processWords(rest, env);
        if (vols.length === 0) invalid('VOLUME requires at least one argument');
        const volumes = { ...(config.Volumes ?? {}) };
        for (const v of vols) {
          if (v.trim() === '') invalid('VOLUME specified can not be an empty string');
          volumes[v] = {};
        }
        config.Volumes = volumes;
        break;
      }
      case 'stopsignal': {
        const words = processWords(rest, env);
        if (words.length !== 1) invalid('STOPSIGNAL requires exactly one argument');
        validateSignal(words[0]!);
        config.StopSignal = words[0]!;
        break;
      }
      case 'onbuild': {
        if (rest === '') invalid('ONBUILD requires at least one argument');
        const trigger = rest.split(/\s+/)[0]!.toUpperCase();
        if (trigger === 'ONBUILD') invalid('Chaining ONBUILD via `ONBUILD ONBUILD` isn\'t allowed');
        if (trigger === 'FROM' || trigger === 'MAINTAINER') invalid(`${trigger} isn't allowed as an ONBUILD trigger`);
        config.OnBuild = [...(config.OnBuild ?? []), rest];
        break;
      }
      case 'healthcheck':
        if (rest === '') invalid('HEALTHCHECK requires at least one argument');
        config.Healthcheck = healthcheck(flags, rest);
        break;
      default:
        invalid(`${upper} is not a valid change command`);
    }
  }
  return config;
}

function cleanPath(p: string): string {
  const out: string[] = [];
  for (const part of p.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') out.pop();
    else out.push(part);
  }
  return '/' + out.join('/');
}
