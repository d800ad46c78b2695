import { DockerfileParseError, parseDockerfile, splitFlags, type Heredoc, type Node } from './parser.js';

// Typed instructions from parser nodes: which argument form each instruction
// takes (exec/JSON or shell, name=value pairs, whitespace-separated words),
// which flags it accepts, and the errors Docker gives for the rest. Values
// stay unexpanded here: substitution needs the environment of the moment and
// happens while the build runs (see evaluate.ts).

export interface KeyValue {
  key: string;
  value: string;
}

export interface ArgDef {
  key: string;
  /** Raw default, expanded when the ARG is evaluated; undefined: no default. */
  value?: string;
}

/** Arguments of RUN, CMD, ENTRYPOINT, SHELL: exec (JSON) or shell form. */
export type CmdLine = { json: true; args: string[] } | { json: false; text: string };

interface Base {
  line: number;
  /** The instruction as written on its (joined) line, for "Step N/M : …". */
  original: string;
}

export interface FromCmd extends Base { kind: 'from'; image: string; stageName?: string; platform?: string }
export interface ArgCmd extends Base { kind: 'arg'; args: ArgDef[] }
export interface EnvCmd extends Base { kind: 'env'; pairs: KeyValue[] }
export interface LabelCmd extends Base { kind: 'label'; pairs: KeyValue[]; /** --label's: keys and values taken as they are. */ literal?: boolean }
export interface RunCmd extends Base { kind: 'run'; cmd: CmdLine; heredocs: Heredoc[]; mounts: string[]; network?: string; security?: string }
export interface CmdCmd extends Base { kind: 'cmd'; cmd: CmdLine }
export interface EntrypointCmd extends Base { kind: 'entrypoint'; cmd: CmdLine }
export interface ShellCmd extends Base { kind: 'shell'; shell: string[] }
export interface CopyCmd extends Base {
  kind: 'copy' | 'add';
  sources: string[];
  dest: string;
  /** True when sources/dest came from a JSON array (no word splitting). */
  json: boolean;
  heredocs: Heredoc[];
  from?: string;
  chown?: string;
  chmod?: string;
  link: boolean;
  checksum?: string;
  keepGitDir: boolean;
  exclude: string[];
  parents: boolean;
}
export interface WorkdirCmd extends Base { kind: 'workdir'; path: string }
export interface UserCmd extends Base { kind: 'user'; user: string }
export interface ExposeCmd extends Base { kind: 'expose'; ports: string[] }
export interface VolumeCmd extends Base { kind: 'volume'; volumes: string[] }
export interface StopSignalCmd extends Base { kind: 'stopsignal'; signal: string }
export interface MaintainerCmd extends Base { kind: 'maintainer'; name: string }
export interface OnbuildCmd extends Base { kind: 'onbuild'; expression: string }
export interface HealthcheckCmd extends Base {
  kind: 'healthcheck';
  /** ["NONE"], ["CMD", …] or ["CMD-SHELL", text]. */
  test: string[];
  /** Nanoseconds, as the image config stores them; absent: unset. */
  interval?: number;
  timeout?: number;
  startPeriod?: number;
  startInterval?: number;
  retries?: number;
}

export type Command =
  | ArgCmd | EnvCmd | LabelCmd | RunCmd | CmdCmd | EntrypointCmd | ShellCmd | CopyCmd | WorkdirCmd | UserCmd
  | ExposeCmd | VolumeCmd | StopSignalCmd | MaintainerCmd | OnbuildCmd | HealthcheckCmd;

export interface Stage {
  /** Lower-cased `AS` name, if any. */
  name?: string;
  index: number;
  from: FromCmd;
  commands: Command[];
}

export interface Dockerfile {
  escape: string;
  syntax?: string;
  /** ARGs before the first FROM. */
  metaArgs: ArgCmd[];
  stages: Stage[];
  warnings: string[];
}

export const INSTRUCTIONS = [
  'add', 'arg', 'cmd', 'copy', 'entrypoint', 'env', 'expose', 'from', 'healthcheck', 'label', 'maintainer',
  'onbuild', 'run', 'shell', 'stopsignal', 'user', 'volume', 'workdir',
] as const;

const STAGE_NAME = /^[a-z][a-z0-9-_.]*$/;

// ---- flags -----------------------------------------------------------------------

type FlagSpec = Record<string, 'string' | 'bool' | 'strings'>;

const FLAG_SPECS: Record<string, FlagSpec> = {
  from: { platform: 'string' },
  run: { mount: 'strings', network: 'string', security: 'string', device: 'strings' },
  copy: { from: 'string', chown: 'string', chmod: 'string', link: 'bool', parents: 'bool', exclude: 'strings' },
  add: { chown: 'string', chmod: 'string', link: 'bool', checksum: 'string', 'keep-git-dir': 'bool', exclude: 'strings', unpack: 'bool' },
  healthcheck: { interval: 'string', timeout: 'string', 'start-period': 'string', 'start-interval': 'string', retries: 'string' },
};

type FlagValues = Map<string, string | boolean | string[]>;

function unquote(v: string): string {
  if (v.length >= 2 && ((v.startsWith('"') && v.endsWith('"')) || (v.startsWith("'") && v.endsWith("'")))) return v.slice(1, -1);
  return v;
}

function parseFlags(node: Node, spec: FlagSpec): FlagValues {
  const out: FlagValues = new Map();
  for (const raw of node.flags) {
    const body = raw.slice(2);
    const eq = body.indexOf('=');
    const name = eq === -1 ? body : body.slice(0, eq);
    const value = eq === -1 ? undefined : unquote(body.slice(eq + 1));
    const kind = spec[name];
    if (!kind) throw new DockerfileParseError(node.startLine, `Unknown flag: ${name}`);
    if (kind === 'strings') {
      if (value === undefined) throw new DockerfileParseError(node.startLine, `Missing a value on flag: ${name}`);
      const list = (out.get(name) as string[] | undefined) ?? [];
      list.push(value);
      out.set(name, list);
      continue;
    }
    if (out.has(name)) throw new DockerfileParseError(node.startLine, `Duplicate flag specified: ${name}`);
    if (kind === 'bool') {
      if (value === undefined || value.toLowerCase() === 'true') out.set(name, true);
      else if (value.toLowerCase() === 'false') out.set(name, false);
      else throw new DockerfileParseError(node.startLine, `Expecting boolean value for flag ${name}, not: ${value}`);
      continue;
    }
    if (value === undefined) throw new DockerfileParseError(node.startLine, `Missing a value on flag: ${name}`);
    out.set(name, value);
  }
  return out;
}

// ---- argument forms --------------------------------------------------------------

/** `["a","b"]` as exec form; anything that is not a JSON array of strings is shell form. */
function parseMaybeJson(node: Node, text: string): CmdLine {
  const t = text.trim();
  if (t.startsWith('[')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(t);
    } catch {
      parsed = undefined;
    }
    if (Array.isArray(parsed)) {
      if (!parsed.every((x) => typeof x === 'string')) throw new DockerfileParseError(node.startLine, 'when using JSON array syntax, arrays must be comprised of strings only', true);
      return { json: true, args: parsed as string[] };
    }
  }
  return { json: false, text: t };
}

/** A JSON array of strings, or the text split on whitespace. */
function parseJsonOrWords(node: Node, text: string): { json: boolean; words: string[] } {
  const t = text.trim();
  if (t.startsWith('[')) {
    try {
      const parsed: unknown = JSON.parse(t);
      if (Array.isArray(parsed) && parsed.every((x) => typeof x === 'string')) return { json: true, words: parsed as string[] };
      if (Array.isArray(parsed)) throw new DockerfileParseError(node.startLine, 'when using JSON array syntax, arrays must be comprised of strings only', true);
    } catch (err) {
      if (err instanceof DockerfileParseError) throw err;
    }
  }
  return { json: false, words: t === '' ? [] : t.split(/\s+/) };
}

/** Splits on unquoted, unescaped whitespace, keeping quotes and escapes in the words. */
export function splitRawWords(text: string, escape: string): string[] {
  const words: string[] = [];
  let cur = '';
  let inWord = false;
  let quote: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote) {
      cur += c;
      if (c === escape && quote === '"' && i + 1 < text.length) cur += text[++i];
      else if (c === quote) quote = undefined;
      continue;
    }
    if (c === escape && i + 1 < text.length) {
      cur += c + text[++i];
      inWord = true;
      continue;
    }
    if (c === '"' || c === "'") {
      quote = c;
      cur += c;
      inWord = true;
      continue;
    }
    if (/\s/.test(c)) {
      if (inWord) words.push(cur);
      cur = '';
      inWord = false;
      continue;
    }
    cur += c;
    inWord = true;
  }
  if (quote) throw new Error(`unterminated quote`);
  if (inWord) words.push(cur);
  return words;
}

/** ENV and LABEL: `k=v k2="v 2"`, or the legacy `KEY rest of line`. */
function parseNameVal(node: Node, escape: string, what: 'ENV' | 'LABEL'): KeyValue[] {
  const text = node.rest.trim();
  if (text === '') throw new DockerfileParseError(node.startLine, `${what} requires at least one argument`);
  let words: string[];
  try {
    words = splitRawWords(text, escape);
  } catch {
    throw new DockerfileParseError(node.startLine, `unexpected end of statement while looking for matching quote`);
  }
  if (!words[0]!.includes('=')) {
    // Legacy form: the first word is the name, the rest of the line its value.
    const m = /^(\S+)\s*([\s\S]*)$/.exec(text)!;
    if (m[2] === '') throw new DockerfileParseError(node.startLine, `${what} must have two arguments`, true);
    return [{ key: m[1]!, value: m[2]! }];
  }
  return words.map((w) => {
    const eq = w.indexOf('=');
    if (eq === -1) throw new DockerfileParseError(node.startLine, `Syntax error - can't find = in ${JSON.stringify(w)}. Must be of the form: name=value`, true);
    if (eq === 0) throw new DockerfileParseError(node.startLine, `${what} names can not be blank`);
    return { key: w.slice(0, eq), value: w.slice(eq + 1) };
  });
}

/** Go's time.ParseDuration, in nanoseconds. */
export function parseGoDuration(s: string): number | undefined {
  if (s === '0') return 0;
  const re = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/gy;
  const unit: Record<string, number> = { ns: 1, us: 1e3, 'µs': 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };
  let total = 0;
  let neg = false;
  let i = 0;
  if (s.startsWith('-') || s.startsWith('+')) {
    neg = s[0] === '-';
    i = 1;
  }
  if (i >= s.length) return undefined;
  re.lastIndex = i;
  while (re.lastIndex < s.length) {
    const m = re.exec(s);
    if (!m) return undefined;
    total += Number(m[1]) * unit[m[2]!]!;
  }
  return Math.round(neg ? -total : total);
}

// ---- per instruction --------------------------------------------------------------

function base(node: Node): Base {
  return { line: node.startLine, original: node.original };
}

function exactlyOne(node: Node, what: string): string {
  const t = node.rest.trim();
  if (t === '') throw new DockerfileParseError(node.startLine, `${what} requires exactly one argument`);
  return t;
}

function parseFrom(node: Node): FromCmd {
  const flags = parseFlags(node, FLAG_SPECS.from!);
  const words = node.rest.trim() === '' ? [] : node.rest.trim().split(/\s+/);
  if (words.length !== 1 && words.length !== 3) throw new DockerfileParseError(node.startLine, 'FROM requires either one or three arguments');
  const cmd: FromCmd = { ...base(node), kind: 'from', image: words[0]! };
  if (words.length === 3) {
    if (words[1]!.toLowerCase() !== 'as') throw new DockerfileParseError(node.startLine, 'FROM requires either one or three arguments');
    const name = words[2]!.toLowerCase();
    if (!STAGE_NAME.test(name)) throw new DockerfileParseError(node.startLine, `invalid name for build stage: ${JSON.stringify(words[2])}, name can't start with a number or contain symbols`);
    cmd.stageName = name;
  }
  const platform = flags.get('platform');
  if (typeof platform === 'string') cmd.platform = platform;
  return cmd;
}

function parseArg(node: Node, escape: string): ArgCmd {
  const text = node.rest.trim();
  if (text === '') throw new DockerfileParseError(node.startLine, 'ARG requires at least one argument');
  let words: string[];
  try {
    words = splitRawWords(text, escape);
  } catch {
    throw new DockerfileParseError(node.startLine, 'unexpected end of statement while looking for matching quote');
  }
  const args = words.map((w): ArgDef => {
    const eq = w.indexOf('=');
    if (eq === 0) throw new DockerfileParseError(node.startLine, 'ARG names can not be blank');
    return eq === -1 ? { key: w } : { key: w.slice(0, eq), value: w.slice(eq + 1) };
  });
  return { ...base(node), kind: 'arg', args };
}

function parseCopy(node: Node, kind: 'copy' | 'add'): CopyCmd {
  const flags = parseFlags(node, FLAG_SPECS[kind]!);
  const { json, words } = parseJsonOrWords(node, node.rest);
  const what = kind.toUpperCase();
  if (words.length < 2) throw new DockerfileParseError(node.startLine, `${what} requires at least two arguments, but only one was provided. Destination could not be determined`);
  const dest = words[words.length - 1]!;
  if (node.heredocs.some((h) => dest.includes(`<<${h.name}`) || /^\d*<<-?/.test(dest))) {
    throw new DockerfileParseError(node.startLine, `${what} cannot accept a heredoc as destination`);
  }
  const cmd: CopyCmd = {
    ...base(node),
    kind,
    sources: words.slice(0, -1),
    dest,
    json,
    heredocs: json ? [] : node.heredocs,
    link: flags.get('link') === true,
    keepGitDir: flags.get('keep-git-dir') === true,
    exclude: (flags.get('exclude') as string[] | undefined) ?? [],
    parents: flags.get('parents') === true,
  };
  for (const f of ['from', 'chown', 'chmod', 'checksum'] as const) {
    const v = flags.get(f);
    if (typeof v === 'string') cmd[f] = v;
  }
  if (cmd.from !== undefined && cmd.from === '') throw new DockerfileParseError(node.startLine, 'invalid empty value for --from');
  if (cmd.from !== undefined && cmd.from.includes('$')) {
    throw new DockerfileParseError(node.startLine, 'variable expansion is not supported for --from, define a new stage with FROM using ARG from global scope as a workaround');
  }
  if (cmd.chmod !== undefined && !/^[0-7]{1,4}$/.test(cmd.chmod) && !cmd.chmod.includes('$')) {
    throw new DockerfileParseError(node.startLine, `invalid chmod parameter: '${cmd.chmod}'. it should be octal string and between 0 and 07777`);
  }
  return cmd;
}

function parseHealthcheck(node: Node): HealthcheckCmd {
  const flags = parseFlags(node, FLAG_SPECS.healthcheck!);
  const m = /^(\S+)\s*([\s\S]*)$/.exec(node.rest.trim());
  if (!m) throw new DockerfileParseError(node.startLine, 'HEALTHCHECK requires an argument');
  const type = m[1]!.toUpperCase();
  const cmd: HealthcheckCmd = { ...base(node), kind: 'healthcheck', test: [] };
  if (type === 'NONE') {
    if (m[2]!.trim() !== '' || node.flags.length > 0) throw new DockerfileParseError(node.startLine, 'HEALTHCHECK NONE takes no arguments');
    cmd.test = ['NONE'];
    return cmd;
  }
  if (type !== 'CMD') throw new DockerfileParseError(node.startLine, `Unknown type ${JSON.stringify(type)} in HEALTHCHECK (try CMD)`);
  const line = parseMaybeJson(node, m[2]!);
  if (line.json) cmd.test = ['CMD', ...line.args];
  else {
    if (line.text === '') throw new DockerfileParseError(node.startLine, 'Missing command after HEALTHCHECK CMD');
    cmd.test = ['CMD-SHELL', line.text];
  }
  const durations = [['interval', 'interval'], ['timeout', 'timeout'], ['start-period', 'startPeriod'], ['start-interval', 'startInterval']] as const;
  for (const [flag, field] of durations) {
    const v = flags.get(flag);
    if (typeof v !== 'string' || v === '') continue;
    const ns = parseGoDuration(v);
    if (ns === undefined) throw new DockerfileParseError(node.startLine, `time: invalid duration ${JSON.stringify(v)}`);
    // dockerd 20.10 refuses 0 too: an interval given must be at least 1ms.
    if (ns < 1e6) throw new DockerfileParseError(node.startLine, `Interval ${JSON.stringify(flag)} cannot be less than 1ms`);
    cmd[field] = ns;
  }
  const retries = flags.get('retries');
  if (typeof retries === 'string') {
    if (!/^-?\d+$/.test(retries)) throw new DockerfileParseError(node.startLine, `strconv.ParseInt: parsing ${JSON.stringify(retries)}: invalid syntax`);
    const n = Number(retries);
    if (n < 1) throw new DockerfileParseError(node.startLine, `--retries must be at least 1 (not ${n})`);
    cmd.retries = n;
  }
  return cmd;
}

function noFlags(node: Node): void {
  if (node.flags.length > 0) parseFlags(node, {});
}

/** One parser node as a typed command (FROM included). */
export function parseInstruction(node: Node, escape: string): Command | FromCmd {
  switch (node.cmd) {
    case 'from':
      return parseFrom(node);
    case 'arg':
      noFlags(node);
      return parseArg(node, escape);
    case 'env':
      noFlags(node);
      return { ...base(node), kind: 'env', pairs: parseNameVal(node, escape, 'ENV') };
    case 'label':
      noFlags(node);
      return { ...base(node), kind: 'label', pairs: parseNameVal(node, escape, 'LABEL') };
    case 'run': {
      const flags = parseFlags(node, FLAG_SPECS.run!);
      const cmd = parseMaybeJson(node, node.rest);
      if (!cmd.json && cmd.text === '' && node.heredocs.length === 0) throw new DockerfileParseError(node.startLine, 'RUN requires at least one argument');
      const run: RunCmd = { ...base(node), kind: 'run', cmd, heredocs: cmd.json ? [] : node.heredocs, mounts: (flags.get('mount') as string[] | undefined) ?? [] };
      const network = flags.get('network');
      if (typeof network === 'string') {
        if (!['default', 'none', 'host'].includes(network)) throw new DockerfileParseError(node.startLine, `unsupported network mode ${JSON.stringify(network)}`);
        run.network = network;
      }
      const security = flags.get('security');
      if (typeof security === 'string') run.security = security;
      return run;
    }
    case 'cmd':
    case 'entrypoint': {
      noFlags(node);
      return { ...base(node), kind: node.cmd, cmd: parseMaybeJson(node, node.rest) };
    }
    case 'shell': {
      noFlags(node);
      const line = parseMaybeJson(node, node.rest);
      if (!line.json) throw new DockerfileParseError(node.startLine, 'SHELL requires the arguments to be in JSON form');
      if (line.args.length === 0) throw new DockerfileParseError(node.startLine, 'SHELL requires at least one argument');
      return { ...base(node), kind: 'shell', shell: line.args };
    }
    case 'copy':
    case 'add':
      return parseCopy(node, node.cmd);
    case 'workdir':
      noFlags(node);
      return { ...base(node), kind: 'workdir', path: exactlyOne(node, 'WORKDIR') };
    case 'user':
      noFlags(node);
      return { ...base(node), kind: 'user', user: exactlyOne(node, 'USER') };
    case 'stopsignal':
      noFlags(node);
      return { ...base(node), kind: 'stopsignal', signal: exactlyOne(node, 'STOPSIGNAL') };
    case 'maintainer':
      noFlags(node);
      return { ...base(node), kind: 'maintainer', name: exactlyOne(node, 'MAINTAINER') };
    case 'expose': {
      noFlags(node);
      const ports = node.rest.trim() === '' ? [] : node.rest.trim().split(/\s+/);
      if (ports.length === 0) throw new DockerfileParseError(node.startLine, 'EXPOSE requires at least one argument');
      return { ...base(node), kind: 'expose', ports };
    }
    case 'volume': {
      noFlags(node);
      const { words } = parseJsonOrWords(node, node.rest);
      if (words.length === 0) throw new DockerfileParseError(node.startLine, 'VOLUME requires at least one argument');
      if (words.some((w) => w.trim() === '')) throw new DockerfileParseError(node.startLine, 'VOLUME specified can not be an empty string');
      return { ...base(node), kind: 'volume', volumes: words };
    }
    case 'healthcheck':
      return parseHealthcheck(node);
    case 'onbuild': {
      noFlags(node);
      const expr = node.rest.trim();
      if (expr === '') throw new DockerfileParseError(node.startLine, 'ONBUILD requires at least one argument');
      const trigger = expr.split(/\s+/)[0]!.toUpperCase();
      if (trigger === 'ONBUILD') throw new DockerfileParseError(node.startLine, 'Chaining ONBUILD via `ONBUILD ONBUILD` isn\'t allowed');
      if (trigger === 'FROM' || trigger === 'MAINTAINER') throw new DockerfileParseError(node.startLine, `${trigger} isn't allowed as an ONBUILD trigger`);
      // Kept as written; like dockerd, the trigger is parsed only where it runs (in a child build).
      return { ...base(node), kind: 'onbuild', expression: expr };
    }
    default:
      throw new DockerfileParseError(node.startLine, `unknown instruction: ${node.keyword.toUpperCase()}`);
  }
}

/** Parses an ONBUILD trigger expression as one instruction. */
export function parseTrigger(expr: string, escape: string, line = 0): Command {
  const m = /^(\S+)\s*([\s\S]*)$/.exec(expr.trim());
  if (!m) throw new DockerfileParseError(line, 'empty ONBUILD trigger');
  const { flags, rest } = splitFlags(m[2]!);
  const node: Node = { keyword: m[1]!, cmd: m[1]!.toLowerCase(), flags, rest, heredocs: [], original: expr.trim(), startLine: line, endLine: line };
  const cmd = parseInstruction(node, escape);
  if (cmd.kind === 'from') throw new DockerfileParseError(line, "FROM isn't allowed as an ONBUILD trigger");
  return cmd;
}

/** Parses a whole Dockerfile into stages. `name` is used in messages ("Dockerfile"). */
export function parseStages(text: string, name = 'Dockerfile'): Dockerfile {
  try {
    return parseStagesOf(text, name);
  } catch (err) {
    throw err instanceof DockerfileParseError ? err.inFile(name) : err;
  }
}

function parseStagesOf(text: string, name: string): Dockerfile {
  const parsed = parseDockerfile(text);
  if (parsed.nodes.length === 0) throw new DockerfileParseError(0, `the Dockerfile (${name}) cannot be empty`);
  const metaArgs: ArgCmd[] = [];
  const stages: Stage[] = [];
  for (const node of parsed.nodes) {
    const cmd = parseInstruction(node, parsed.escape);
    if (cmd.kind === 'from') {
      const stage: Stage = { index: stages.length, from: cmd, commands: [] };
      if (cmd.stageName !== undefined) stage.name = cmd.stageName;
      stages.push(stage);
      continue;
    }
    const current = stages[stages.length - 1];
    if (!current) {
      if (cmd.kind !== 'arg') throw new DockerfileParseError(0, 'no build stage in current context');
      metaArgs.push(cmd);
      continue;
    }
    current.commands.push(cmd);
  }
  if (stages.length === 0) throw new DockerfileParseError(0, 'dockerfile contains no stages to build');
  const out: Dockerfile = { escape: parsed.escape, metaArgs, stages, warnings: parsed.warnings };
  if (parsed.syntax !== undefined) out.syntax = parsed.syntax;
  return out;
}
