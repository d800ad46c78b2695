import { InvalidParameterError } from '../errors/index.js';

// The Dockerfile's physical syntax, as Docker's parser reads it: parser
// directives at the top, comments, line continuations with the escape token,
// heredocs, and one node per instruction with its flags and the rest of the
// line. What each instruction's arguments mean is instructions.ts's job.

export interface Heredoc {
  name: string;
  content: string;
  /** False when any part of the delimiter was quoted: the body stays raw. */
  expand: boolean;
  /** `<<-`: leading tabs stripped from the body and the delimiter line. */
  chomp: boolean;
  /** File descriptor number written before `<<` (RUN 3<<EOF), if any. */
  fd?: number;
}

export interface Node {
  /** The instruction as written ("RUN", "run"). */
  keyword: string;
  /** Lower-cased instruction name. */
  cmd: string;
  /** Leading `--name[=value]` words, as written. */
  flags: string[];
  /** The arguments after the flags, continuation lines joined. */
  rest: string;
  heredocs: Heredoc[];
  /** The whole instruction line as joined (keyword, flags, arguments). */
  original: string;
  startLine: number;
  endLine: number;
}

export interface ParsedDockerfile {
  escape: string;
  syntax?: string;
  nodes: Node[];
  warnings: string[];
}

/** A Dockerfile error with the line it is about, in BuildKit's wording. */
/**
 * A Dockerfile that cannot be built, in dockerd 20.10's words: an error of an
 * instruction says its line ("dockerfile parse error line 7: …"); one of the
 * line parser (a JSON array of non-strings, ENV without a value, a bad escape
 * directive) names the file instead ("failed to parse Dockerfile: …"), which
 * parseStages fills in.
 */
export class DockerfileParseError extends InvalidParameterError {
  constructor(
    readonly line: number,
    readonly detail: string,
    readonly lineParser = false,
    file?: string,
  ) {
    super(file !== undefined ? `failed to parse ${file}: ${detail}` : line > 0 ? `dockerfile parse error line ${line}: ${detail}` : detail);
  }

  /** The same error naming `file`, if it came from the line parser. */
  inFile(file: string): DockerfileParseError {
    return this.lineParser ? new DockerfileParseError(this.line, this.detail, true, file) : this;
  }
}

const DIRECTIVE = /^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$/;
const KNOWN_DIRECTIVES = new Set(['syntax', 'escape', 'check']);
const HEREDOC_INSTRUCTIONS = new Set(['run', 'copy', 'add']);
const MAX_LINE = 65535;

function isComment(line: string): boolean {
  return line.trimStart().startsWith('#');
}

function isBlank(line: string): boolean {
  return line.trim() === '';
}

/** Reads the parser directives at the top of the file (before anything else). */
function readDirectives(lines: string[]): { escape: string; syntax?: string; check?: string } {
  const seen = new Map<string, string>();
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (i === 0 && line.startsWith('#!')) continue;
    const m = DIRECTIVE.exec(line.trim());
    if (!m || !line.trimStart().startsWith('#')) break;
    const key = m[1]!.toLowerCase();
    if (!KNOWN_DIRECTIVES.has(key)) break;
    if (seen.has(key)) throw new DockerfileParseError(i + 1, `only one ${key} parser directive can be used`);
    seen.set(key, m[2]!);
  }
  const escape = seen.get('escape') ?? '\\';
  if (escape !== '\\' && escape !== '`') throw new DockerfileParseError(0, `invalid escape token '${escape}' does not match \` or \\`, true);
  const out: { escape: string; syntax?: string; check?: string } = { escape };
  if (seen.has('syntax')) out.syntax = seen.get('syntax')!;
  if (seen.has('check')) out.check = seen.get('check')!;
  return out;
}

/** Splits the leading `--flag[=value]` words off an argument string (quotes kept). */
export function splitFlags(text: string): { flags: string[]; rest: string } {
  const flags: string[] = [];
  let s = text.trimStart();
  while (s.startsWith('--')) {
    let i = 0;
    let quote: string | undefined;
    for (; i < s.length; i++) {
      const c = s[i]!;
      if (quote) {
        if (c === quote) quote = undefined;
        continue;
      }
      if (c === '"' || c === "'") quote = c;
      else if (/\s/.test(c)) break;
    }
    const word = s.slice(0, i);
    if (word === '--') {
      s = s.slice(i).trimStart();
      break;
    }
    flags.push(word);
    s = s.slice(i).trimStart();
  }
  return { flags, rest: s };
}

const HEREDOC_WORD = /^(\d*)<<(-?)\s*([^<]*)$/;

/** The heredoc markers among the words of an instruction's arguments, in order. */
function heredocMarkers(rest: string): Array<Omit<Heredoc, 'content'>> {
  if (rest.trimStart().startsWith('[')) return [];
  const out: Array<Omit<Heredoc, 'content'>> = [];
  for (const word of rest.split(/\s+/)) {
    const m = HEREDOC_WORD.exec(word);
    if (!m || m[3] === '') continue;
    let name = m[3]!;
    let expand = true;
    // A quoted delimiter ('EOF', "EOF", E"O"F) keeps the body raw.
    if (/["']/.test(name)) {
      expand = false;
      name = name.replace(/["']/g, '');
    }
    if (name === '') continue;
    const h: Omit<Heredoc, 'content'> = { name, expand, chomp: m[2] === '-' };
    if (m[1]) h.fd = Number(m[1]);
    out.push(h);
  }
  return out;
}

/**
 * Parses Dockerfile text into instruction nodes. Throws DockerfileParseError
 * for what the parser itself refuses (bad directives, unterminated heredocs,
 * overlong lines); unknown instruction names are left to instructions.ts.
 */
export function parseDockerfile(text: string): ParsedDockerfile {
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const lines = text.split('\n').map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  lines.forEach((l, i) => {
    if (Buffer.byteLength(l) > MAX_LINE) throw new DockerfileParseError(i + 1, `dockerfile line greater than max allowed size of ${MAX_LINE}`);
  });
  const directives = readDirectives(lines);
  const esc = directives.escape;
  const continuation = new RegExp(`${esc === '\\' ? '\\\\' : '`'}[ \\t]*$`);
  const warnings: string[] = [];
  const nodes: Node[] = [];

  let i = 0;
  while (i < lines.length) {
    const first = lines[i]!;
    if (isBlank(first) || isComment(first)) {
      i++;
      continue;
    }
    const startLine = i + 1;
    let joined = first.trimStart();
    let endLine = startLine;
    let emptyContinuation = false;
    if (continuation.test(joined)) {
      joined = joined.replace(continuation, '');
      i++;
      while (i < lines.length) {
        const line = lines[i]!;
        if (isComment(line)) {
          i++;
          continue;
        }
        if (isBlank(line)) {
          emptyContinuation = true;
          i++;
          continue;
        }
        endLine = i + 1;
        i++;
        if (continuation.test(line)) {
          joined += line.replace(continuation, '');
          continue;
        }
        joined += line;
        break;
      }
    } else {
      i++;
    }
    if (emptyContinuation) warnings.push(`Empty continuation line found in: ${joined}`);

    const m = /^(\S+)\s*([\s\S]*)$/.exec(joined)!;
    const keyword = m[1]!;
    const cmd = keyword.toLowerCase();
    const { flags, rest } = splitFlags(m[2]!);

    // Heredocs: RUN/COPY/ADD, or ONBUILD of one of them.
    const heredocs: Heredoc[] = [];
    let heredocCmd = cmd;
    let heredocArgs = rest;
    if (cmd === 'onbuild') {
      const inner = /^(\S+)\s*([\s\S]*)$/.exec(rest);
      if (inner) {
        heredocCmd = inner[1]!.toLowerCase();
        heredocArgs = splitFlags(inner[2]!).rest;
      }
    }
    if (HEREDOC_INSTRUCTIONS.has(heredocCmd)) {
      for (const marker of heredocMarkers(heredocArgs)) {
        let content = '';
        let closed = false;
        while (i < lines.length) {
          let line = lines[i]!;
          i++;
          if (marker.chomp) line = line.replace(/^\t+/, '');
          if (line === marker.name) {
            closed = true;
            break;
          }
          content += line + '\n';
        }
        endLine = i;
        if (!closed) throw new DockerfileParseError(startLine, 'unterminated heredoc');
        heredocs.push({ ...marker, content });
      }
    }
    nodes.push({ keyword, cmd, flags, rest, heredocs, original: joined, startLine, endLine });
  }
  const out: ParsedDockerfile = { escape: esc, nodes, warnings };
  if (directives.syntax !== undefined) out.syntax = directives.syntax;
  return out;
}
