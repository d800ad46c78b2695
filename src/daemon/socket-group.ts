import { readFile } from 'node:fs/promises';

// The group that may use berthd's UNIX sockets, as dockerd's -G/--group: by
// name from /etc/group, or a number. dockerd's default group "docker" is used
// when it exists; any other group that does not exist is an error.

/** The gid of `group` (a name or a number), undefined when there is no such group. */
export async function lookupGroupId(group: string, groupFile = '/etc/group'): Promise<number | undefined> {
  const text = await readFile(groupFile, 'utf8').catch(() => '');
  for (const line of text.split('\n')) {
    const [name, , gid] = line.split(':');
    if (name === group && gid !== undefined && /^\d+$/.test(gid)) return Number(gid);
  }
  if (/^\d+$/.test(group)) return Number(group);
  return undefined;
}
