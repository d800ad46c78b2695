import { InvalidParameterError } from '../errors/index.js';

// A push-based tar reader: chunks go in as they arrive and the entries come
// out through synchronous callbacks, with no stream per entry. The build
// context is read this way so that the request is consumed as fast as it
// arrives: a pull-based reader pauses the socket for every entry and chunk,
// and the client's upload stalls with it.
//
// Reads what Go's archive/tar (the docker CLI) and GNU/BSD tar write: ustar
// and PAX (path, linkpath, size, mtime records), GNU long names (L/K), base-256
// numbers, and V7 names ending in "/" as directories. Header-only types carry
// no data whatever their size field says, as in Go's reader.

const BLOCK = 512;

export type TarEntryType = 'file' | 'directory' | 'symlink' | 'link' | 'other';

export interface TarEntryHeader {
  name: string;
  type: TarEntryType;
  mode: number;
  size: number;
  mtime: Date;
  linkname: string;
  uid: number;
  gid: number;
}

export interface TarSink {
  /** A new entry; its data (files only) follows through `data`, then `end`. */
  entry(header: TarEntryHeader): void;
  data(chunk: Buffer): void;
  end(): void;
}

export class TarFormatError extends InvalidParameterError {}

type State =
  | { kind: 'header' }
  | { kind: 'data'; remaining: number; pad: number; toSink: boolean }
  | { kind: 'meta'; remaining: number; pad: number; which: 'pax' | 'global' | 'longname' | 'longlink'; parts: Buffer[] }
  | { kind: 'pad'; remaining: number }
  | { kind: 'done' };

export class TarReader {
  private state: State = { kind: 'header' };
  private header = Buffer.alloc(BLOCK);
  private headerFill = 0;
  private pax: Record<string, string> = {};
  private longName: string | undefined;
  private longLink: string | undefined;

  constructor(private readonly sink: TarSink) {}

  /** Feeds the next bytes of the archive; throws TarFormatError (or what the sink throws). */
  push(chunk: Buffer): void {
    let off = 0;
    while (off < chunk.length) {
      const s = this.state;
      switch (s.kind) {
        case 'done':
          return;
        case 'header': {
          const n = Math.min(BLOCK - this.headerFill, chunk.length - off);
          chunk.copy(this.header, this.headerFill, off, off + n);
          this.headerFill += n;
          off += n;
          if (this.headerFill === BLOCK) {
            this.headerFill = 0;
            this.onHeader();
          }
          break;
        }
        case 'data': {
          const n = Math.min(s.remaining, chunk.length - off);
          if (n > 0 && s.toSink) this.sink.data(chunk.subarray(off, off + n));
          s.remaining -= n;
          off += n;
          if (s.remaining === 0) {
            if (s.toSink) this.sink.end();
            this.state = s.pad > 0 ? { kind: 'pad', remaining: s.pad } : { kind: 'header' };
          }
          break;
        }
        case 'meta': {
          const n = Math.min(s.remaining, chunk.length - off);
          s.parts.push(Buffer.from(chunk.subarray(off, off + n)));
          s.remaining -= n;
          off += n;
          if (s.remaining === 0) {
            this.onMeta(s.which, Buffer.concat(s.parts));
            this.state = s.pad > 0 ? { kind: 'pad', remaining: s.pad } : { kind: 'header' };
          }
          break;
        }
        case 'pad': {
          const n = Math.min(s.remaining, chunk.length - off);
          s.remaining -= n;
          off += n;
          if (s.remaining === 0) this.state = { kind: 'header' };
          break;
        }
      }
    }
  }

  /**
   * The archive ended. Missing end-of-archive blocks, or the padding after the
   * last entry, are forgiven (the docker CLI's `-f -` appends a Dockerfile so);
   * an entry cut short is an error.
   */
  finish(): void {
    const s = this.state;
    if (s.kind === 'data' || s.kind === 'meta' || (s.kind === 'header' && this.headerFill > 0)) {
      throw new TarFormatError('unexpected EOF: the archive ends inside an entry');
    }
    this.state = { kind: 'done' };
  }

  private onHeader(): void {
    const h = this.header;
    if (h.every((b) => b === 0)) {
      // End of archive: whatever follows (a second zero block, padding) is ignored.
      this.state = { kind: 'done' };
      return;
    }
    checkChecksum(h);
    const typeflag = String.fromCharCode(h[156]!);
    const size = readNumber(h, 124, 12, 'size');
    const padOf = (n: number) => (BLOCK - (n % BLOCK)) % BLOCK;
    const meta = { x: 'pax', g: 'global', L: 'longname', K: 'longlink' } as const;
    if (typeflag in meta) {
      if (size > 1 << 20) throw new TarFormatError(`tar extended header of ${size} bytes is too large`);
      this.state = { kind: 'meta', remaining: size, pad: padOf(size), which: meta[typeflag as keyof typeof meta], parts: [] };
      if (size === 0) this.state = { kind: 'header' };
      return;
    }

    const ustar = h.toString('latin1', 257, 263) === 'ustar\0';
    let name = cString(h, 0, 100);
    const prefix = ustar ? cString(h, 345, 155) : '';
    if (prefix !== '') name = `${prefix}/${name}`;
    if (this.longName !== undefined) name = this.longName;
    if (this.pax.path !== undefined) name = this.pax.path;
    let linkname = cString(h, 157, 100);
    if (this.longLink !== undefined) linkname = this.longLink;
    if (this.pax.linkpath !== undefined) linkname = this.pax.linkpath;

    let type: TarEntryType;
    switch (typeflag) {
      case '0':
      case '\0':
      case '7':
        type = typeflag !== '7' && name.endsWith('/') ? 'directory' : 'file';
        break;
      case '5':
        type = 'directory';
        break;
      case '2':
        type = 'symlink';
        break;
      case '1':
        type = 'link';
        break;
      default:
        type = 'other';
    }
    let entrySize = this.pax.size !== undefined ? paxNumber(this.pax.size, 'size') : size;
    const headerOnly = type === 'directory' || type === 'symlink' || type === 'link' || '3456'.includes(typeflag);
    if (headerOnly) entrySize = 0;
    const mtime = this.pax.mtime !== undefined ? new Date(paxNumber(this.pax.mtime, 'mtime', true) * 1000) : new Date(readNumber(h, 136, 12, 'mtime') * 1000);
    const header: TarEntryHeader = {
      name,
      type,
      mode: readNumber(h, 100, 8, 'mode') & 0o7777,
      size: entrySize,
      mtime,
      linkname,
      uid: this.pax.uid !== undefined ? paxNumber(this.pax.uid, 'uid') : readNumber(h, 108, 8, 'uid'),
      gid: this.pax.gid !== undefined ? paxNumber(this.pax.gid, 'gid') : readNumber(h, 116, 8, 'gid'),
    };
    this.pax = {};
    this.longName = undefined;
    this.longLink = undefined;
    const toSink = type !== 'other';
    if (toSink) this.sink.entry(header);
    if (entrySize === 0) {
      if (toSink) this.sink.end();
      this.state = { kind: 'header' };
    } else {
      this.state = { kind: 'data', remaining: entrySize, pad: padOf(entrySize), toSink };
    }
  }

  private onMeta(which: 'pax' | 'global' | 'longname' | 'longlink', body: Buffer): void {
    if (which === 'longname') this.longName = cString(body, 0, body.length);
    else if (which === 'longlink') this.longLink = cString(body, 0, body.length);
    // Global records describe the whole archive; nothing the context needs.
    else if (which === 'pax') this.pax = { ...this.pax, ...parsePax(body) };
  }
}

function cString(buf: Buffer, start: number, length: number): string {
  const end = buf.indexOf(0, start);
  return buf.toString('utf8', start, end === -1 || end > start + length ? start + length : end);
}

/** An octal field, or base-256 when its first byte has the high bit set (GNU). */
function readNumber(buf: Buffer, start: number, length: number, what: string): number {
  if (buf[start]! & 0x80) {
    let n = buf[start]! & 0x3f;
    if (buf[start]! & 0x40) throw new TarFormatError(`tar header: negative ${what}`);
    for (let i = 1; i < length; i++) n = n * 256 + buf[start + i]!;
    if (!Number.isSafeInteger(n)) throw new TarFormatError(`tar header: ${what} out of range`);
    return n;
  }
  const text = buf.toString('latin1', start, start + length).replace(/[\0 ]+$/, '').replace(/^[\0 ]+/, '');
  if (text === '') return 0;
  if (!/^[0-7]+$/.test(text)) throw new TarFormatError(`tar header: invalid ${what} field ${JSON.stringify(text)}`);
  return parseInt(text, 8);
}

function checkChecksum(h: Buffer): void {
  const stored = readNumber(h, 148, 8, 'checksum');
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const b = i >= 148 && i < 156 ? 0x20 : h[i]!;
    unsigned += b;
    signed += b > 127 ? b - 256 : b;
  }
  if (stored !== unsigned && stored !== signed) throw new TarFormatError('archive/tar: invalid tar header (checksum mismatch)');
}

/** PAX records: "<length> <key>=<value>\n", the length counting the whole record. */
function parsePax(body: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  let off = 0;
  while (off < body.length) {
    if (body[off] === 0) break;
    const space = body.indexOf(0x20, off);
    if (space === -1) throw new TarFormatError('tar: malformed PAX record');
    const len = Number(body.toString('latin1', off, space));
    if (!Number.isInteger(len) || len <= space - off || off + len > body.length || body[off + len - 1] !== 0x0a) throw new TarFormatError('tar: malformed PAX record');
    const record = body.toString('utf8', space + 1, off + len - 1);
    const eq = record.indexOf('=');
    if (eq === -1) throw new TarFormatError('tar: malformed PAX record');
    out[record.slice(0, eq)] = record.slice(eq + 1);
    off += len;
  }
  return out;
}

function paxNumber(value: string, what: string, fraction = false): number {
  const n = Number(value);
  if (!Number.isFinite(n) || (!fraction && !Number.isSafeInteger(n)) || n < 0) throw new TarFormatError(`tar: invalid PAX ${what} ${JSON.stringify(value)}`);
  return n;
}
