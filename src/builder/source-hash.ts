import { createHash, type Hash } from 'node:crypto';
import { createReadStream, lstatSync, readFileSync, type Stats } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';

// The sums of COPY and ADD sources as dockerd's classic builder computes them
// for its history text and cache ("COPY file:<sum> in /x "): per file, the
// sha256 of a tarsum v1 header (name relative to the source's root, mode,
// owner, size, type, link target; no mtime) followed by the content; per
// directory, "dir:" and the sha256 of the sorted sums of the directory itself
// and everything below it, joined with commas. The same context therefore
// gives the same history text as with dockerd, and an image dockerd built is
// cache for berth (--cache-from) and the other way round.
//
// dockerd takes the header from two places, and so do these sums:
// - "context": the tar the client sent, as the docker CLI writes it (the
//   permission bits, owner 0:0, no owner names); summed as it is unpacked.
// - "files": files it reads from disk itself, COPY --from a stage or an
//   image and ADD <url>: Go's file header, with the file type bits in the
//   mode and the owner names this host's /etc/passwd and /etc/group give.


export type SumStyle = 'context' | 'files';

type EntryType = 'file' | 'dir' | 'symlink';

const TYPEFLAG: Record<EntryType, string> = { file: '0', dir: '5', symlink: '2' };
const TYPE_BITS: Record<EntryType, number> = { file: 0o100000, dir: 0o40000, symlink: 0o120000 };

export interface HeaderFields {
  name: string;
  type: EntryType;
  /** As it goes into the header: permission bits, plus the type bits in the "files" style. */
  mode: number;
  uid?: number;
  gid?: number;
  size?: number;
  linkname?: string;
  uname?: string;
  gname?: string;
}

/** The tarsum v1 header of one entry, as dockerd writes it into the hash. */
export function tarsumHeader(e: HeaderFields): string {
  const name = e.type === 'dir' && !e.name.endsWith('/') ? `${e.name}/` : e.name;
  const fields: Array<[string, string]> = [
    ['name', name],
    ['mode', String(e.mode)],
    ['uid', String(e.uid ?? 0)],
    ['gid', String(e.gid ?? 0)],
    ['size', String(e.type === 'file' ? (e.size ?? 0) : 0)],
    ['typeflag', TYPEFLAG[e.type]],
    ['linkname', e.linkname ?? ''],
    ['uname', e.uname ?? ''],
    ['gname', e.gname ?? ''],
    ['devmajor', '0'],
    ['devminor', '0'],
  ];
  return fields.map(([k, v]) => k + v).join('');
}

/** A regular file's hash, its header written: feed it the content, then digest('hex'). */
export function newFileHash(header: Omit<HeaderFields, 'type'>): Hash {
  return createHash('sha256').update(tarsumHeader({ ...header, type: 'file' }));
}

let names: { users: Map<number, string>; groups: Map<number, string> } | undefined;
/** Owner names as Go's os/user finds them on this host (the first entry for an ID). */
function ownerNames(): { users: Map<number, string>; groups: Map<number, string> } {
  if (names) return names;
  const read = (file: string) => {
    const m = new Map<number, string>();
    let text = '';
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      /* no such file: no names */
    }
    for (const line of text.split('\n')) {
      const f = line.split(':');
      if (f.length >= 3 && /^\d+$/.test(f[2]!) && !m.has(Number(f[2]))) m.set(Number(f[2]), f[0]!);
    }
    return m;
  };
  names = { users: read('/etc/passwd'), groups: read('/etc/group') };
  return names;
}

function toSlash(p: string): string {
  return sep === '/' ? p : p.split(sep).join('/');
}

function headerOf(name: string, type: EntryType, st: Stats, style: SumStyle, linkname?: string): HeaderFields {
  const perm = st.mode & 0o7777;
  const h: HeaderFields = { name, type, mode: perm, uid: st.uid, gid: st.gid, size: type === 'file' ? st.size : 0, ...(linkname !== undefined ? { linkname } : {}) };
  if (style === 'files') {
    h.mode = perm | TYPE_BITS[type];
    const { users, groups } = ownerNames();
    h.uname = users.get(st.uid) ?? '';
    h.gname = groups.get(st.gid) ?? '';
  }
  return h;
}

async function entryHash(abs: string, name: string, st: Stats, style: SumStyle, known?: ReadonlyMap<string, string>): Promise<string> {
  if (st.isDirectory()) return createHash('sha256').update(tarsumHeader(headerOf(name, 'dir', st, style))).digest('hex');
  if (st.isSymbolicLink()) return createHash('sha256').update(tarsumHeader(headerOf(name, 'symlink', st, style, await readlink(abs)))).digest('hex');
  const digest = known?.get(abs);
  if (digest !== undefined) return digest;
  const h = createHash('sha256').update(tarsumHeader(headerOf(name, 'file', st, style)));
  if (st.isFile()) for await (const chunk of createReadStream(abs)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/**
 * The sum of one COPY/ADD source: "file:<hex>" or "dir:<hex>". `abs` is the
 * source with its symlinks resolved inside `root`; names in the hash are
 * relative to `root`. `excluded(rel)` leaves entries out (.dockerignore);
 * `known` holds file sums computed while the context was unpacked.
 */
export async function sourceHash(
  root: string,
  abs: string,
  opts: { style?: SumStyle; excluded?: (rel: string, isDir: boolean) => boolean; known?: ReadonlyMap<string, string> } = {},
): Promise<string> {
  const style = opts.style ?? 'context';
  const excluded = opts.excluded ?? (() => false);
  const st = lstatSync(abs);
  const rel = toSlash(relative(root, abs));
  if (!st.isDirectory()) return `file:${await entryHash(abs, rel, st, style, opts.known)}`;
  const sums: string[] = [];
  const walk = async (dir: string, dirRel: string): Promise<void> => {
    for (const name of await readdir(dir)) {
      const childAbs = join(dir, name);
      const childRel = dirRel === '' ? name : `${dirRel}/${name}`;
      const cst = await lstat(childAbs);
      if (excluded(childRel, cst.isDirectory())) continue;
      sums.push(await entryHash(childAbs, childRel, cst, style, opts.known));
      if (cst.isDirectory()) await walk(childAbs, childRel);
    }
  };
  // The root of the source's tree itself is no entry of it (dockerd skips "."), any other directory is.
  if (rel !== '') sums.push(await entryHash(abs, rel, st, style, opts.known));
  await walk(abs, rel);
  return `dir:${createHash('sha256').update(sums.sort().join(',')).digest('hex')}`;
}

/** Several sources' sums as one: "multi:<hex>". */
export function multiHash(sums: readonly string[]): string {
  return sums.length === 1 ? sums[0]! : `multi:${createHash('sha256').update(sums.join(',')).digest('hex')}`;
}

/** The sum of a file under another name (a heredoc's, a download's), bare hex. */
export async function fileHashAs(abs: string, name: string, style: SumStyle): Promise<string> {
  return entryHash(abs, name, await lstat(abs), style);
}
