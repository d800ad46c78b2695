import { readFile, stat } from 'node:fs/promises';
import { resolveInRoot, SymlinkLoopError } from '../archive/index.js';
import { InvalidParameterError } from '../errors/index.js';

// Resolves Docker's --user forms (name, uid, name:group, uid:gid, …) against
// the image's own /etc/passwd and /etc/group, as runc's libcontainer/user does.

export interface ResolvedUser {
  uid: number;
  gid: number;
  additionalGids: number[];
  home: string;
}

interface PasswdEntry { name: string; uid: number; gid: number; home: string }
interface GroupEntry { name: string; gid: number; members: string[] }

// The rootfs is the image's: /etc/passwd may be a symlink pointing anywhere,
// or a FIFO that would block a read forever. It is resolved inside the root
// as the container would see it, and read only when it is a regular file.
async function readInRoot(rootfs: string, path: string): Promise<string[]> {
  try {
    const real = resolveInRoot(rootfs, path);
    if (!(await stat(real)).isFile()) return [];
    return (await readFile(real, 'utf8')).split('\n').filter((l) => l && !l.startsWith('#'));
  } catch (err) {
    // A loop is the image's mistake, and the user must hear of it; a missing file means no entries.
    if (err instanceof SymlinkLoopError) throw err;
    return [];
  }
}

function parsePasswd(lines: string[]): PasswdEntry[] {
  return lines.map((l) => l.split(':')).filter((f) => f.length >= 4).map((f) => ({ name: f[0]!, uid: Number(f[2]), gid: Number(f[3]), home: f[5] || '/' }));
}

function parseGroup(lines: string[]): GroupEntry[] {
  return lines.map((l) => l.split(':')).filter((f) => f.length >= 3).map((f) => ({ name: f[0]!, gid: Number(f[2]), members: (f[3] ?? '').split(',').filter(Boolean) }));
}

const isNumeric = (s: string) => /^\d+$/.test(s);

export async function resolveUser(rootfs: string, spec: string | undefined, groupAdd: string[] = []): Promise<ResolvedUser> {
  const [userPart = '', groupPart] = (spec ?? '').split(':', 2) as [string, string | undefined];
  const passwd = parsePasswd(await readInRoot(rootfs, '/etc/passwd'));
  const groups = parseGroup(await readInRoot(rootfs, '/etc/group'));

  let uid = 0;
  let gid = 0;
  let home = '/';
  let userName: string | undefined;
  if (userPart === '') {
    const root = passwd.find((p) => p.uid === 0);
    if (root) ({ gid, home, name: userName } = root);
    else home = '/root';
  } else if (isNumeric(userPart)) {
    uid = Number(userPart);
    const entry = passwd.find((p) => p.uid === uid);
    if (entry) ({ gid, home, name: userName } = entry);
  } else {
    const entry = passwd.find((p) => p.name === userPart);
    if (!entry) throw new InvalidParameterError(`unable to find user ${userPart}: no matching entries in passwd file`);
    ({ uid, gid, home, name: userName } = entry);
  }

  if (groupPart !== undefined && groupPart !== '') {
    if (isNumeric(groupPart)) gid = Number(groupPart);
    else {
      const g = groups.find((x) => x.name === groupPart);
      if (!g) throw new InvalidParameterError(`unable to find group ${groupPart}: no matching entries in group file`);
      gid = g.gid;
    }
  }

  const additional = new Set<number>();
  // Supplementary groups from /etc/group only when the group was not given explicitly.
  if (userName && groupPart === undefined) {
    for (const g of groups) if (g.members.includes(userName) && g.gid !== gid) additional.add(g.gid);
  }
  for (const g of groupAdd) {
    if (isNumeric(g)) additional.add(Number(g));
    else {
      const found = groups.find((x) => x.name === g);
      if (!found) throw new InvalidParameterError(`unable to find group ${g}: no matching entries in group file`);
      additional.add(found.gid);
    }
  }
  return { uid, gid, additionalGids: [...additional], home };
}
