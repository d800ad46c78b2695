import { errorKind, type ErrorKind } from '../errors/index.js';

// The one place where error kinds become HTTP status codes (moby's errdefs → httpstatus).
const STATUS_BY_KIND: Record<ErrorKind, number> = {
  'not-found': 404,
  conflict: 409,
  'invalid-parameter': 400,
  'not-modified': 304,
  forbidden: 403,
  unauthorized: 401,
  unavailable: 503,
  'not-implemented': 501,
  system: 500,
};

export function statusForError(err: unknown): number {
  return STATUS_BY_KIND[errorKind(err)];
}
