// File errors worded like Go's *PathError ("open /x: no such file or
// directory"): docker prints them so, and `run` picks its exit code from them.

const REASONS: Record<string, string> = {
  ENOENT: 'no such file or directory',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EISDIR: 'is a directory',
  ENOTDIR: 'not a directory',
  EEXIST: 'file exists',
  ELOOP: 'too many levels of symbolic links',
  EROFS: 'read-only file system',
};

export function goPathError(op: string, path: string, err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  const reason = (e.code && REASONS[e.code]) ?? e.message;
  return `${op} ${path}: ${reason}`;
}
